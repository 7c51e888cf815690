"""Export a model to ONNX the way docs/onnx.md does, and hold onnxruntime's logits against
PyTorch's (tests/integrations/test_onnx.py, tests/integrations/test_onnx_zoo.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from scalenet import ScaleNetModel

#: float32 logits of the two runtimes agree to this relative difference; absolute differences
#: are taken relative to the largest logit of the batch (a sum's rounding error scales with its
#: largest terms), and to no less than ATOL.
RTOL = 1e-4
ATOL = 1e-5


def randomize_batchnorm(model: ScaleNetModel) -> ScaleNetModel:
    """Give every BatchNorm random statistics, scale and shift near the identity's, and every
    residual branch silenced at initialisation a small random last layer; return the model in
    eval mode.

    At initialisation a BatchNorm in eval mode is the identity (mean 0, variance 1, scale 1,
    shift 0): an export that dropped one, or folded it into its conv wrongly, would compute
    the same logits. ``zero_init_residual`` zeroes the last BatchNorm scale of each branch (the
    last conv's weights in the pre-activation blocks), so no block reaches the logits; those
    get small random values (a tenth of the usual), so that every block counts and a thousand
    blocks' sums stay finite. (Statistics measured on a batch would normalise each layer
    instead, and make the deep plain networks chaotic: float32 rounding alone then moved
    plain110_cifar's logits by up to 1.)
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                if module.weight.any():
                    module.weight.uniform_(0.75, 1.25)
                else:
                    module.weight.uniform_(0.0, 0.1)
                module.bias.uniform_(-0.1, 0.1)
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.75, 1.25)
            elif isinstance(module, nn.Conv2d) and not module.weight.any():
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                module.weight.mul_(0.1)
    return model.eval()


def export(
    model: ScaleNetModel,
    path: Path,
    dims: dict[int, str],
    size: int | None = None,
    *,
    optimize: bool = True,
) -> ort.InferenceSession:
    """Export ``model`` (in eval mode) with ``dims`` of ``x`` dynamic, save it to ``path`` and
    open it in onnxruntime on CPU. The example input is a batch of 2 at ``size`` x ``size``
    (the model's own input size by default). ``optimize``: run the exporter's graph optimiser
    (onnxscript's, as docs/onnx.md does by default)."""
    size = size or model.config.input_size
    example = torch.randn(2, model.config.in_chans, size, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own deprecation notes
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            dynamic_shapes={"x": dims},
            verbose=False,
            optimize=optimize,
        )
    assert program is not None
    program.save(str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_same_logits(
    session: ort.InferenceSession, model: ScaleNetModel, size: int, batches: tuple[int, ...]
) -> None:
    """onnxruntime's logits are PyTorch's for random batches of each size in ``batches``."""
    for n in batches:
        x = torch.randn(n, model.config.in_chans, size, size)
        (out,) = session.run(None, {"x": x.numpy()})
        with torch.no_grad():
            expected = model(x).numpy()
        assert out.shape == expected.shape == (n, model.num_classes)
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL * scale)

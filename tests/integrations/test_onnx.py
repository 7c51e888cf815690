"""ONNX export (docs/onnx.md): each architecture the zoo has exports with a dynamic batch,
onnxruntime computes what PyTorch computes, and what the input checks become in the exported
graph. Each is built small here (seconds an export); tests/integrations/test_onnx_zoo.py exports
every zoo entry at its own size (minutes, run with ``-m sweep``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

import scalenet
from onnx_runs import assert_same_logits, export, randomize_batchnorm
from scalenet import ScaleNetModel

#: One small model per architecture of the zoo: each stem, block, shortcut and classifier kind.
MODELS: dict[str, Callable[[], ScaleNetModel]] = {
    "resnet_imagenet_basic": lambda: scalenet.resnet(depths=(1, 1), width=4, input_size=32),
    "resnet_imagenet": lambda: scalenet.resnet(
        depths=(1, 1), width=4, block="bottleneck", input_size=32
    ),
    # ResNeXt: a grouped 3x3 conv (inner width int(8 * 8 / 64) * 4 = 4, in 4 groups)
    "resnext": lambda: scalenet.resnet(
        depths=(1, 1), width=8, block="bottleneck", groups=4, base_width=8, input_size=32
    ),
    # wide_resnet50_2's bottleneck: twice the inner width
    "wide_bottleneck": lambda: scalenet.resnet(
        depths=(1, 1), width=4, block="bottleneck", base_width=128, input_size=32
    ),
    # ResNet-D: the deep stem and the average-pool shortcut (ceil_mode, count_include_pad off)
    "resnet_d": lambda: scalenet.resnet(
        depths=(1, 1, 1), width=4, block="bottleneck", variant="d", input_size=32
    ),
    # pre-activation (ResNet v2): BN-ReLU before each conv, and a final BN-ReLU
    "preact_bottleneck": lambda: scalenet.resnet(
        depths=(1, 1), width=4, block="bottleneck", preact=True, input_size=32
    ),
    "preact_cifar": lambda: scalenet.resnet(
        depths=(1, 1, 1), width=4, stem="cifar", preact=True, downsample="projection"
    ),
    # a wide ResNet (WRN): pre-activation basic blocks, widened, dropout between the convs
    "wrn_cifar": lambda: scalenet.resnet(
        depths=(1, 1, 1),
        width=4,
        stem="cifar",
        preact=True,
        downsample="projection",
        widen_factor=2,
        block_dropout=0.3,
    ),
    "resnet_cifar": lambda: scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar"),  # pad
    "resnet_cifar_proj": lambda: scalenet.resnet(
        depths=(1, 1, 1), width=4, stem="cifar", downsample="projection"
    ),
    "plain_cifar": lambda: scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar", shortcut=False),
    "simple_cnn_flatten": lambda: scalenet.simple_cnn(
        (4, 8), input_size=16, hidden=(6,), global_pool=False
    ),
    "simple_cnn_pooled": lambda: scalenet.simple_cnn(
        (4, 8), kernel_size=5, padding=0, pool="avg", input_size=20
    ),
}
#: The size each is exported and run at, where not its config's: 36 x 36 gives the ResNet-D
#: odd maps (9 x 9, then 5 x 5) at its average-pool shortcuts, where ceil_mode rounds up (a
#: floor would leave the shortcut a row short of the strided conv's output, and the add fails).
SIZES = {"resnet_d": 36}


@pytest.mark.parametrize("key", list(MODELS))
def test_export_with_a_dynamic_batch_computes_what_pytorch_computes(
    key: str, tmp_path: Path
) -> None:
    model = randomize_batchnorm(MODELS[key]())
    size = SIZES.get(key, model.config.input_size)
    session = export(model, tmp_path / "model.onnx", {0: "batch"}, size)
    assert [i.name for i in session.get_inputs()] == ["x"]
    assert session.get_inputs()[0].shape == ["batch", 3, size, size]
    assert_same_logits(session, model, size, batches=(1, 5))
    # What the checks tested is now the input's type: onnxruntime refuses the rest.
    bad = {
        "Got invalid dimensions": [
            np.zeros((1, 1, size, size), np.float32),
            np.zeros((1, 3, size + 4, size + 4), np.float32),
        ],
        "Unexpected input data type": [
            np.zeros((1, 3, size, size), np.float64),
            np.zeros((1, 3, size, size), np.uint8),
        ],
    }
    for message, inputs in bad.items():
        for x in inputs:
            with pytest.raises(InvalidArgument, match=message):
                session.run(None, {"x": x})


def test_dynamic_height_and_width_keep_no_minimum_size(tmp_path: Path) -> None:
    model = randomize_batchnorm(scalenet.create("resnet20_cifar"))
    assert model.min_input_size == 4
    session = export(model, tmp_path / "model.onnx", {0: "batch", 2: "h", 3: "w"})
    for size in (4, 48):
        assert_same_logits(session, model, size, batches=(1,))
    tiny = torch.randn(1, 3, 2, 2)
    with pytest.raises(scalenet.ShapeError, match="too small"):
        model(tiny)
    (out,) = session.run(None, {"x": tiny.numpy()})  # runs: the docs say to check first
    assert out.shape == (1, 10)

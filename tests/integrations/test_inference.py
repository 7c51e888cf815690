"""optimize_for_inference: BatchNorm folded away, outputs equal to the eager model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import scalenet


def unfoldable_bns(model: nn.Module) -> set[str]:
    """The BNs no conv feeds alone, derived from the module tree: a pre-activation block's
    ``bn1`` (it reads the block's input, which the shortcut reads too) and the final BN."""
    return {
        f"{n}.bn1" for n, m in model.named_modules() if type(m).__name__.startswith("PreAct")
    } | ({"final_bn"} if getattr(model, "final_bn", None) is not None else set())


@pytest.mark.parametrize(
    "name",
    [
        "resnet20_cifar",
        "resnet18",
        "resnet50",
        "plain20_cifar",
        "simple_cnn_cifar",
        "resnet26d",  # the deep stem's three convs, average-pool shortcuts
        "preresnet20_cifar",  # BN before conv: only conv -> BN pairs inside a block fold
        "preresnet164_cifar",
    ],
)
def test_folded_model_matches_eager(name: str) -> None:
    model = scalenet.create(name)
    with torch.no_grad():  # trained-looking BN statistics and affine parameters
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    fast = scalenet.optimize_for_inference(model)
    left = {n for n, m in fast.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert left == unfoldable_bns(model)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the original is kept
    size = min(model.config.input_size, 64) if name != "simple_cnn_cifar" else 32
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = model(x)
        # Folding reorders float32 arithmetic: equal to 1e-5 of the output's scale.
        scale = float(expected.abs().max())
        torch.testing.assert_close(fast(x), expected, rtol=1e-5, atol=1e-5 * scale)
    first_conv = next(m for m in fast.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert sum(p.numel() for p in fast.parameters()) < sum(p.numel() for p in model.parameters())

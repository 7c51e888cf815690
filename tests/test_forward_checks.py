"""Forward-time input checks, and that they leave fx, TorchScript, compile and export working."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import scalenet


def small_models() -> dict[str, nn.Module]:
    return {
        "resnet_cifar": scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar", downsample="pad"),
        "resnet_imagenet": scalenet.resnet(
            depths=(1, 1), width=4, block="bottleneck", input_size=32
        ),
        "simple_cnn": scalenet.simple_cnn((4, 8), input_size=16, hidden=(6,), dropout=0.1),
    }


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
def test_wrong_channels_rank_and_size_raise_shape_error(key: str) -> None:
    model = small_models()[key]
    size = model.config.input_size
    with pytest.raises(scalenet.ShapeError, match="expected 3 input channels, got 1"):
        model(torch.randn(2, 1, size, size))
    with pytest.raises(scalenet.ShapeError, match="4-D input"):
        model(torch.randn(3, size, size))
    with pytest.raises(scalenet.ShapeError, match=r"too small|built for"):
        model(torch.randn(1, 3, 2, 2))


def test_resnet_accepts_other_sizes_above_the_minimum_like_torchvision() -> None:
    model = scalenet.resnet(depths=(1, 1, 1, 1), num_classes=7).eval()
    ref = torchvision.models.resnet.ResNet(
        torchvision.models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=7
    ).eval()
    model.load_state_dict(ref.state_dict())
    for size in (32, 48, 100):
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            torch.testing.assert_close(model(x), ref(x))
    with pytest.raises(scalenet.ShapeError, match=r"16x16 is too small.*at least 32x32"):
        model(torch.randn(2, 3, 16, 16))


def _inputs(model: nn.Module) -> torch.Tensor:
    size = model.config.input_size  # type: ignore[union-attr]
    return torch.randn(2, 3, size, size)


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
def test_fx_symbolic_trace_keeps_the_check(key: str) -> None:
    model = small_models()[key].eval()
    x = _inputs(model)
    gm = torch.fx.symbolic_trace(model)
    torch.testing.assert_close(gm(x), model(x))
    with pytest.raises(scalenet.ShapeError):
        gm(torch.randn(2, 1, x.shape[-1], x.shape[-1]))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
def test_torchscript(key: str) -> None:
    model = small_models()[key].eval()
    x = _inputs(model)
    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(x), model(x))


@pytest.mark.parametrize("key", ["resnet_cifar", "simple_cnn"])
def test_torch_compile(key: str) -> None:
    torch._dynamo.reset()
    model = small_models()[key].eval()
    x = _inputs(model)
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), model(x))
    with pytest.raises(scalenet.ShapeError):
        torch.compile(model, backend="eager")(torch.randn(2, 1, x.shape[-1], x.shape[-1]))


@pytest.mark.parametrize("key", ["resnet_cifar", "simple_cnn"])
def test_torch_export(key: str) -> None:
    model = small_models()[key].eval()
    x = _inputs(model)
    batch = torch.export.Dim("batch", min=1, max=64)
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    torch.testing.assert_close(exported.module()(x), model(x))
    y = torch.randn(5, *x.shape[1:])
    torch.testing.assert_close(exported.module()(y), model(y))

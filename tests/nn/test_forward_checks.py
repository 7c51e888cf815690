"""Forward-time input checks, and that they leave fx, TorchScript, compile and export working."""

from __future__ import annotations

import numpy as np
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
    with pytest.raises(scalenet.ShapeError, match=r"channels-last .*x\.permute\(0, 3, 1, 2\)"):
        model(torch.randn(2, size, size, 3))
    with pytest.raises(scalenet.ShapeError, match="4-D input"):
        model(torch.randn(3, size, size))
    with pytest.raises(scalenet.ShapeError, match=r"too small|built for"):
        model(torch.randn(1, 3, 2, 2))


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool, torch.complex64])
def test_non_floating_tensors_raise_input_error(key: str, dtype: torch.dtype) -> None:
    model = small_models()[key]
    size = model.config.input_size
    x = torch.zeros(2, 3, size, size, dtype=dtype)
    with pytest.raises(scalenet.InputError, match=r"floating-point input") as info:
        model(x)
    message = str(info.value)
    assert str(dtype) in message
    assert "x.float() / 255" in message
    assert "mean/std" in message
    assert isinstance(info.value, scalenet.ScaleNetError)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
def test_non_tensors_raise_input_error_naming_the_type_and_the_fix(key: str) -> None:
    model = small_models()[key]
    size = model.config.input_size
    image = np.zeros((size, size, 3), dtype=np.uint8)
    with pytest.raises(scalenet.InputError, match=r"got numpy\.ndarray .*torch\.from_numpy"):
        model(image)
    images = [torch.randn(3, size, size), torch.randn(3, size, size)]
    with pytest.raises(scalenet.InputError, match=r"got list of 2 items.*torch\.stack"):
        model(images)
    with pytest.raises(scalenet.InputError, match=r"got tuple .*torch\.stack"):
        model(tuple(images))
    with pytest.raises(
        scalenet.InputError, match=r"torch\.Tensor of shape \(N, 3, H, W\), got None"
    ):
        model(None)


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
def test_pil_image_raises_input_error(key: str) -> None:
    image_mod = pytest.importorskip("PIL.Image")
    model = small_models()[key]
    size = model.config.input_size
    with pytest.raises(scalenet.InputError, match=r"got PIL\.Image\.Image.*to_tensor"):
        model(image_mod.new("RGB", (size, size)))


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float64, torch.bfloat16])
def test_floating_inputs_of_every_dtype_still_run(key: str, dtype: torch.dtype) -> None:
    model = small_models()[key].eval().to(dtype)
    size = model.config.input_size
    x = torch.randn(2, 3, size, size, dtype=dtype)
    with torch.no_grad():
        out = model(x)
    assert out.dtype == dtype
    assert out.shape == (2, model.num_classes)


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
@pytest.mark.parametrize(
    ("weights", "given", "fix"),
    [
        (torch.float32, torch.float64, "x.float()"),
        (torch.float32, torch.float16, "x.float()"),
        (torch.float32, torch.bfloat16, "x.float()"),
        (torch.float64, torch.float32, "x.double()"),
        (torch.bfloat16, torch.float32, "x.bfloat16()"),
    ],
)
def test_a_floating_input_of_another_dtype_than_the_weights_raises_input_error(
    key: str, weights: torch.dtype, given: torch.dtype, fix: str
) -> None:
    model = small_models()[key].eval().to(weights)
    size = model.config.input_size
    x = torch.randn(2, 3, size, size, dtype=given)
    with torch.no_grad(), pytest.raises(RuntimeError):  # the premise: torch refuses it too
        model.forward_features(x)
    for call in (model, model.forward_intermediates):
        with torch.no_grad(), pytest.raises(scalenet.InputError) as info:
            call(x)
        assert str(info.value) == (
            f"the input is {given} but the model's weights are {weights}: convert the input "
            f"with {fix}, or the model with model.to({given}); for mixed precision, call the "
            "model under torch.autocast"
        )
    with torch.no_grad():  # both fixes run
        assert model(getattr(x, fix[2:-2])()).dtype == weights
        assert model.to(given)(x).dtype == given


@pytest.mark.parametrize("key", ["resnet_cifar", "resnet_imagenet", "simple_cnn"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_half_input_to_a_float32_model_runs(key: str, dtype: torch.dtype) -> None:
    model = small_models()[key].eval()
    size = model.config.input_size
    x = torch.randn(2, 3, size, size).to(dtype)
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
        out = model(x)
        # Autocast casts a float32 input to the same half dtype: the same computation.
        reference = model(x.float())
    assert out.dtype == dtype
    assert torch.equal(out, reference)


def test_autocast_float32_input_to_a_float32_model_still_runs() -> None:
    model = small_models()["resnet_cifar"].eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out.dtype == torch.bfloat16


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
    with pytest.raises(scalenet.InputError, match=r"torch\.uint8"):
        gm(x.to(torch.uint8))
    with pytest.raises(scalenet.InputError, match=r"input is torch\.float64 .* x\.float\(\)"):
        gm(x.double())
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(gm(x.bfloat16()), model(x.bfloat16()))


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
    with pytest.raises(scalenet.InputError, match=r"torch\.uint8"):
        torch.compile(model, backend="eager")(x.to(torch.uint8))
    with pytest.raises(scalenet.InputError, match=r"input is torch\.float64 .* x\.float\(\)"):
        torch.compile(model, backend="eager")(x.double())
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(compiled(x.bfloat16()), model(x.bfloat16()))


@pytest.mark.parametrize("key", ["resnet_cifar", "simple_cnn"])
def test_torch_export(key: str) -> None:
    model = small_models()[key].eval()
    x = _inputs(model)
    batch = torch.export.Dim("batch", min=1, max=64)
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    torch.testing.assert_close(exported.module()(x), model(x))
    y = torch.randn(5, *x.shape[1:])
    torch.testing.assert_close(exported.module()(y), model(y))

"""ONNX export (docs/onnx.md): each model family exports with a dynamic batch, onnxruntime
computes what PyTorch computes, and what the input checks become in the exported graph."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

import scalenet
from scalenet import ScaleNetModel

MODELS = {
    "resnet_cifar": lambda: scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar"),
    "resnet_imagenet": lambda: scalenet.resnet(
        depths=(1, 1), width=4, block="bottleneck", input_size=32
    ),
    "simple_cnn_flatten": lambda: scalenet.simple_cnn(
        (4, 8), input_size=16, hidden=(6,), global_pool=False
    ),
}


def export(model: ScaleNetModel, path: Path, dims: dict[int, str]) -> ort.InferenceSession:
    size = model.config.input_size
    example = torch.randn(2, 3, size, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own deprecation notes
        program = torch.onnx.export(
            model, (example,), dynamo=True, dynamic_shapes={"x": dims}, verbose=False
        )
    assert program is not None
    program.save(str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("key", list(MODELS))
def test_export_with_a_dynamic_batch_computes_what_pytorch_computes(
    key: str, tmp_path: Path
) -> None:
    model = MODELS[key]().eval()
    size = model.config.input_size
    session = export(model, tmp_path / "model.onnx", {0: "batch"})
    assert [i.name for i in session.get_inputs()] == ["x"]
    assert session.get_inputs()[0].shape == ["batch", 3, size, size]
    for n in (1, 5):
        x = torch.randn(n, 3, size, size)
        (out,) = session.run(None, {"x": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-4, atol=1e-5)
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
    model = scalenet.create("resnet20_cifar").eval()
    assert model.min_input_size == 4
    session = export(model, tmp_path / "model.onnx", {0: "batch", 2: "h", 3: "w"})
    for size in (4, 48):
        x = torch.randn(1, 3, size, size)
        (out,) = session.run(None, {"x": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-4, atol=1e-5)
    tiny = torch.randn(1, 3, 2, 2)
    with pytest.raises(scalenet.ShapeError, match="too small"):
        model(tiny)
    (out,) = session.run(None, {"x": tiny.numpy()})  # runs: the docs say to check first
    assert out.shape == (1, 10)

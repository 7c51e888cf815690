"""``scalenet.validate`` and ``scalenet validate`` measure what timm's ``validate.py`` measures.

The reference is timm's own pipeline as its ``validate.py`` assembles it, from timm's public
parts: ``resolve_data_config`` of the model (test size), ``create_dataset`` of the folder's
validation split, ``create_loader`` with the data config's input size, interpolation, mean,
std and crop, and ``timm.utils.accuracy`` (timm 1.0's validate.py; the script itself is not
part of the timm package). Same weights, same images: the same top-1 and top-5.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import timm
import timm.data
import torch
from click.testing import CliRunner
from PIL import Image
from timm.utils import accuracy

import scalenet
from onnx_runs import randomize_batchnorm
from scalenet import ConfigError
from scalenet.analysis.validate import RESULT_COLUMNS, validate
from scalenet.cli import main

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def image_folder(root: Path, classes: list[str], per_class: int, seed: int = 0) -> Path:
    """``root/validation/<class>/<i>.jpg``: random pictures of assorted sizes and formats."""
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / "validation" / c).mkdir(parents=True)
        for i in range(per_class):
            h, w = rng.integers(30, 48, size=2)
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "validation" / c / f"{i}.{('jpg', 'png')[i % 2]}")
    return root


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CIFAR-10 ResNet-20 with random weights and BatchNorm statistics, saved as a folder."""
    torch.manual_seed(0)
    model = randomize_batchnorm(scalenet.create("resnet20_cifar"))
    return model.save_pretrained(tmp_path_factory.mktemp("model") / "resnet20")


def timm_validate(model: torch.nn.Module, root: Path) -> tuple[float, float]:
    """Top-1 and top-5 (%) as timm's validate.py computes them (its per-batch percentages,
    float32, turned back into counts)."""
    config = timm.data.resolve_data_config({}, model=model, use_test_size=True)
    dataset = timm.data.create_dataset("", root=str(root), split="validation")
    loader = timm.data.create_loader(
        dataset, input_size=config["input_size"], batch_size=7, use_prefetcher=False,
        interpolation=config["interpolation"], mean=config["mean"], std=config["std"],
        num_workers=0, crop_pct=config["crop_pct"], crop_mode=config["crop_mode"],
    )  # fmt: skip
    correct1 = correct5 = total = 0.0
    model.eval()
    with torch.no_grad():
        for images, targets in loader:
            top1, top5 = accuracy(model(images), targets, topk=(1, 5))
            correct1 += round(float(top1) * len(targets) / 100)
            correct5 += round(float(top5) * len(targets) / 100)
            total += len(targets)
    return round(100 * correct1 / total, 4), round(100 * correct5 / total, 4)


def test_top1_and_top5_are_timms_on_the_same_weights_and_images(
    saved: Path, tmp_path: Path
) -> None:
    data = image_folder(tmp_path / "data", CIFAR10, per_class=4)
    result = validate(str(saved), data, batch_size=16, workers=0, progress=False)
    top1, top5 = timm_validate(scalenet.from_pretrained(saved), data)
    assert result["images"] == 40
    assert result["top1"] == pytest.approx(top1, abs=1e-9)
    assert result["top5"] == pytest.approx(top5, abs=1e-9)
    assert result["top1_err"] == pytest.approx(100 - top1, abs=1e-9)
    assert (result["img_size"], result["crop_pct"], result["interpolation"]) == (
        32,
        1.0,
        "bilinear",
    )
    assert result["param_count"] == 0.27  # 269,722 parameters, in millions as timm rounds them
    assert result["model"] == "resnet20"  # the folder's name


def test_class_folders_are_matched_to_the_models_classes_by_name(
    saved: Path, tmp_path: Path
) -> None:
    """Two CIFAR-10 classes only: 'cat' is class 3 and 'dog' class 5 of the model, whatever
    their order among the folders; the accuracy is the share of images argmax puts there."""
    data = image_folder(tmp_path / "data", ["cat", "dog"], per_class=10, seed=1)
    model = scalenet.from_pretrained(saved).eval()
    transform = timm.data.create_transform(
        **timm.data.resolve_data_config({}, model=model), is_training=False
    )
    hits = 0
    for folder, index in (("cat", 3), ("dog", 5)):
        for path in sorted((data / "validation" / folder).iterdir()):
            with Image.open(path) as picture, torch.no_grad():
                hits += int(model(transform(picture.convert("RGB")).unsqueeze(0)).argmax()) == index
    result = validate(model, data, workers=0, progress=False)
    assert result["top1"] == pytest.approx(100 * hits / 20)


def test_folders_that_are_not_the_models_classes_are_refused(saved: Path, tmp_path: Path) -> None:
    data = image_folder(tmp_path / "data", ["cat", "zebra"], per_class=1)
    with pytest.raises(ConfigError, match=r"\['zebra'\] are none of the model's 10 label_names"):
        validate(str(saved), data, workers=0, progress=False)
    unnamed = scalenet.create("resnet20_cifar", num_classes=3)  # a new head: no class names
    with pytest.raises(ConfigError, match=r"3 class folders.*it has 2"):
        validate(unnamed, data, workers=0, progress=False)
    with pytest.raises(ConfigError, match=r"target='scalenet_w80' is not allowed: a model with"):
        validate("scalenet_w80", data, workers=0, progress=False)
    with pytest.raises(ConfigError, match="batch_size=0"):
        validate(unnamed, data, batch_size=0)


def test_results_are_appended_under_timms_columns(saved: Path, tmp_path: Path) -> None:
    data = image_folder(tmp_path / "data", CIFAR10[:10], per_class=1)
    results = tmp_path / "results.csv"
    first = validate(str(saved), data, workers=0, progress=False, results_file=results)
    validate(str(saved), data, workers=0, progress=False, results_file=results, name="again")
    rows = list(csv.reader(results.open()))
    assert rows[0] == list(RESULT_COLUMNS)
    assert rows[0][:9] == [
        "model", "top1", "top1_err", "top5", "top5_err", "param_count", "img_size", "crop_pct",
        "interpolation",
    ]  # timm's validate.py results, in its order  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["resnet20", "again"]
    assert float(rows[1][1]) == first["top1"]
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="its header is a, b"):
        validate(str(saved), data, workers=0, progress=False, results_file=other)
    assert other.read_text() == "a,b\n1,2\n"


def test_the_command(saved: Path, tmp_path: Path) -> None:
    data = image_folder(tmp_path / "data", CIFAR10, per_class=1)
    results = tmp_path / "r.csv"
    args = ["validate", str(saved), "--data", str(data), "-j", "0", "--results-file", str(results)]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "resnet20: top-1" in out.output
    assert "on 10 images at 32 px" in out.output
    assert len(results.read_text().splitlines()) == 2
    missing = CliRunner().invoke(main, ["validate", str(saved), "--data", str(tmp_path / "no")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    unknown = CliRunner().invoke(main, ["validate", "resnet20", "--data", str(data)])
    assert unknown.exit_code == 2
    assert "resnet20_cifar" in unknown.output  # the close names

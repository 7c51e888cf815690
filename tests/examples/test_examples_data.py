"""Tests of examples/data.py, the data layer of the example training script, on generated data."""

from __future__ import annotations

import csv
import io
import pickle
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
import data as example_data

DataError = example_data.DataError
load_data = example_data.load_data
REAL_CIFAR = Path("/work/shared/data/cifar10")
COLORS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "emu": (30, 30, 200)}  # label = argmax


def _jpeg(color: tuple[int, int, int], size: tuple[int, int] = (12, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _write_tree(root: Path, per_class: int, size: tuple[int, int] = (12, 10)) -> None:
    for name, color in COLORS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", size, color).save(root / name / f"{i:04d}.png")


def _write_cifar_zips(root: Path, train: int = 6, test: int = 2) -> None:
    """train.zip and test.zip with the member layout of /work/shared/data/cifar10, stored."""
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("test", test)):
        with zipfile.ZipFile(root / f"{split}.zip", "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(f"{split}/", b"")
            for name, color in COLORS.items():
                archive.writestr(f"{split}/{name}/", b"")
                for i in range(n):
                    archive.writestr(f"{split}/{name}/{i:04d}.jpg", _jpeg(color))


def _write_csv(path: Path, rows: list[tuple[str, object]]) -> None:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([("file", "label"), *rows])


def _csv_root(root: Path, per_class: int = 10, integer: bool = False) -> list[tuple[str, object]]:
    (root / "img").mkdir(parents=True)
    rows: list[tuple[str, object]] = []
    for k, (name, color) in enumerate(COLORS.items()):
        for i in range(per_class):
            file = f"img/{name}{i}.png"
            Image.new("RGB", (9, 7), color).save(root / file)
            rows.append((file, k if integer else name))
    _write_csv(root / "labels.csv", rows)
    return rows


def _check_colour_labels(dataset: torch.utils.data.Dataset) -> None:
    """Un-normalised, un-augmented items of the solid-colour images: label = brightest channel."""
    for i in range(len(dataset)):  # type: ignore[arg-type]
        x, y = dataset[i]
        assert isinstance(y, int)
        assert int(x.mean((1, 2)).argmax()) == y


def _ids(bundle: example_data.DataBundle) -> tuple[list[int], ...]:
    return tuple(list(d.indices) for d in (bundle.train, bundle.val, bundle.test))


# digits


@pytest.fixture(scope="module")
def digits() -> example_data.DataBundle:
    return load_data("digits", augment=False, normalize=False)


def test_digits_shapes_classes_and_split_sizes(digits: example_data.DataBundle) -> None:
    assert digits.classes == [str(d) for d in range(10)]
    assert (digits.in_chans, digits.image_size, digits.data_size) == (3, 32, 8)
    assert (len(digits.train), len(digits.val), len(digits.test)) == (1294, 144, 359)
    train, val, test = (set(ids) for ids in _ids(digits))
    assert not (train & val)
    assert not (train & test)
    assert not (val & test)
    assert train | val | test == set(range(1797))
    x, y = digits.train[0]
    assert x.shape == (3, 32, 32)
    assert x.dtype == torch.float32
    assert isinstance(y, int)
    assert torch.equal(x[0], x[1])  # grey, repeated to 3 channels
    assert torch.equal(x[0], x[2])
    counts = np.bincount(digits.train.targets + digits.val.targets + digits.test.targets)
    test_counts = np.bincount(digits.test.targets, minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * counts) <= 1)  # stratified 20%


def test_digits_splits_are_deterministic(digits: example_data.DataBundle) -> None:
    assert _ids(load_data("digits", augment=False, normalize=False)) == _ids(digits)
    assert _ids(load_data("digits", seed=1)) != _ids(digits)
    assert len(load_data("digits", val_fraction=0.5).val) == 719


def test_digits_mean_std_equal_a_direct_computation(digits: example_data.DataBundle) -> None:
    from sklearn.datasets import load_digits

    raw = torch.from_numpy(load_digits().images).float()[digits.train.indices, None] / 16
    images = F.interpolate(raw, size=(32, 32), mode="bilinear", align_corners=False)
    expected_mean, expected_std = images.mean().item(), images.std(correction=0).item()
    assert digits.mean == pytest.approx((expected_mean,) * 3, abs=1e-6)
    assert digits.std == pytest.approx((expected_std,) * 3, abs=1e-6)
    items = torch.stack([digits.train[i][0] for i in range(len(digits.train))])
    torch.testing.assert_close(items, images.expand(-1, 3, -1, -1))
    normalised = load_data("digits", augment=False)
    x = torch.stack([normalised.train[i][0] for i in range(len(normalised.train))])
    torch.testing.assert_close(x.mean((0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(x.std((0, 2, 3), correction=0), torch.ones(3), atol=1e-4, rtol=0)


def test_mean_std_pass_holds_a_bounded_batch_whatever_the_size(
    digits: example_data.DataBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 500 images a batch at 1500 px were 27 GB of float64; the batches are capped in bytes,
    # and the statistics do not change with the batch.
    limit = 8 * 3 * 32 * 32 * 7  # seven 32-px images in float64
    monkeypatch.setattr(example_data, "STATS_BATCH_BYTES", limit)
    sizes: list[int] = []
    real = type(digits.train.source).batch

    def batch(self: object, indices: list[int]) -> torch.Tensor:
        sizes.append(len(indices))
        return real(self, indices)  # type: ignore[arg-type]

    monkeypatch.setattr(type(digits.train.source), "batch", batch)
    mean, std = example_data._mean_std(digits.train, 0)
    assert max(sizes) == 7
    assert sum(sizes) == len(digits.train)
    assert mean == pytest.approx(digits.mean, abs=1e-9)
    assert std == pytest.approx(digits.std, abs=1e-9)


def test_digits_augmentation_is_a_padded_crop_from_torch_rng() -> None:
    bundle = load_data("digits", image_size=16, normalize=False)
    names = [type(t).__name__ for t in bundle.train.transform.transforms]
    assert "RandomCrop" in names
    assert "RandomHorizontalFlip" not in names
    torch.manual_seed(3)
    first = [bundle.train[0][0] for _ in range(8)]
    torch.manual_seed(3)
    again = [bundle.train[0][0] for _ in range(8)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(not torch.equal(a, first[0]) for a in first)
    assert torch.equal(bundle.val[0][0], bundle.val[0][0])  # no augmentation outside train
    assert first[0].shape == (3, 16, 16)


# cifar10


def test_cifar10_zip_is_read_with_labels_from_folder_names(tmp_path: Path) -> None:
    _write_cifar_zips(tmp_path)
    bundle = load_data("cifar10", tmp_path, val_fraction=0.2, augment=False, normalize=False)
    assert bundle.classes == sorted(COLORS)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (14, 4, 6)
    for split in (bundle.train, bundle.val, bundle.test):
        _check_colour_labels(split)
    # The data's own size: the shorter side of the 12x10 JPEGs (32 for CIFAR-10 itself).
    assert (bundle.image_size, bundle.data_size) == (10, 10)
    assert bundle.train[0][0].shape == (3, 10, 10)
    x = torch.stack([bundle.train[i][0] for i in range(len(bundle.train))])
    assert bundle.mean == pytest.approx(x.mean((0, 2, 3)).tolist(), abs=1e-6)
    assert bundle.std == pytest.approx(x.std((0, 2, 3), correction=0).tolist(), abs=1e-6)
    # A pickled dataset (a spawned DataLoader worker's copy) reopens the zip itself.
    copy = pickle.loads(pickle.dumps(bundle.test))
    assert torch.equal(copy[1][0], bundle.test[1][0])
    loader = DataLoader(bundle.test, batch_size=3, num_workers=2)
    labels = torch.cat([y for _, y in loader])
    assert labels.tolist() == bundle.test.targets


def test_cifar10_accepts_the_extracted_layout(tmp_path: Path) -> None:
    _write_tree(tmp_path / "train", 6)
    _write_tree(tmp_path / "test", 2)
    bundle = load_data("cifar10", tmp_path, image_size=8, normalize=False, augment=False)
    assert bundle.classes == sorted(COLORS)
    assert (len(bundle.train) + len(bundle.val), len(bundle.test)) == (18, 6)
    assert bundle.test[0][0].shape == (3, 8, 8)
    _check_colour_labels(bundle.test)


# imagefolder and csv


def test_imagefolder_tree(tmp_path: Path) -> None:
    _write_tree(tmp_path / "train", 5)
    _write_tree(tmp_path / "test", 2)
    bundle = load_data("imagefolder", tmp_path, image_size=20, augment=False, normalize=False)
    assert bundle.classes == sorted(COLORS)
    assert bundle.image_size == 20
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (13, 2, 6)
    assert bundle.train[0][0].shape == (3, 20, 20)
    _check_colour_labels(bundle.train)
    _write_tree(tmp_path / "val", 1)
    bundle = load_data("imagefolder", tmp_path, image_size=20)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (15, 3, 6)
    # Without image_size: the data's own size, 10 (the shorter side of the 12x10 images).
    own = load_data("imagefolder", tmp_path)
    assert (own.image_size, own.data_size) == (10, 10)
    assert own.train[0][0].shape == (3, 10, 10)
    # fit_size maps it (train.py: to the nearest size the model accepts) ...
    fitted = load_data("imagefolder", tmp_path, fit_size=lambda size: size + 2)
    assert (fitted.image_size, fitted.data_size) == (12, 10)
    assert fitted.test[0][0].shape == (3, 12, 12)
    # ... but not an explicit image_size.
    assert load_data("imagefolder", tmp_path, image_size=20, fit_size=abs).image_size == 20


def test_data_size_is_the_median_shorter_side(tmp_path: Path) -> None:
    assert example_data.data_size([(32, 32)] * 3) == 32
    assert example_data.data_size([(40, 30), (24, 50), (64, 64), (10, 90)]) == 24  # lower median
    # Mixed sizes in a tree: shorter sides 10 (x3 classes x2 images), 16 (x3), 30 (x3 x2).
    for name, color in COLORS.items():
        (tmp_path / "train" / name).mkdir(parents=True)
        (tmp_path / "test" / name).mkdir(parents=True)
        Image.new("RGB", (5, 5), color).save(tmp_path / "test" / name / "0.png")
        for i, size in enumerate([(12, 10), (10, 20), (16, 16), (30, 40), (50, 30)]):
            Image.new("RGB", size, color).save(tmp_path / "train" / name / f"{i}.png")
    bundle = load_data("imagefolder", tmp_path, augment=False)
    assert bundle.data_size == 16  # the median of 10, 10, 16, 30, 30 (each x3)
    assert bundle.image_size == 16
    assert bundle.test[0][0].shape == (3, 16, 16)  # every split at the one size


def test_a_constant_channel_gets_unit_std(tmp_path: Path) -> None:
    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (4, 4), (50 * i, 0, 0)).save(tmp_path / split / name / f"{i}.png")
    bundle = load_data("imagefolder", tmp_path, image_size=4)
    assert bundle.std[1:] == (1.0, 1.0)
    assert torch.isfinite(bundle.test[0][0]).all()


@pytest.mark.parametrize("integer", [False, True], ids=["names", "integers"])
def test_csv_root_with_one_labels_file(tmp_path: Path, integer: bool) -> None:
    _csv_root(tmp_path, per_class=10, integer=integer)
    bundle = load_data("csv", tmp_path, image_size=8, augment=False, normalize=False)
    assert bundle.classes == (["0", "1", "2"] if integer else sorted(COLORS))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (22, 2, 6)
    assert sorted(bundle.test.targets) == [0, 0, 1, 1, 2, 2]  # stratified
    for split in (bundle.train, bundle.val, bundle.test):
        _check_colour_labels(split)
    assert _ids(load_data("csv", tmp_path, image_size=8)) == _ids(bundle)
    assert _ids(load_data("csv", tmp_path, image_size=8, seed=5)) != _ids(bundle)
    by_file = load_data("csv", csv_file=tmp_path / "labels.csv", image_size=8)
    assert _ids(by_file) == _ids(bundle)


def test_csv_train_and_test_files_are_used(tmp_path: Path) -> None:
    rows = _csv_root(tmp_path, per_class=4, integer=True)
    _write_csv(tmp_path / "train.csv", rows[:3] + rows[4:7] + rows[8:11])
    _write_csv(tmp_path / "test.csv", [rows[3], rows[7], rows[11]])
    bundle = load_data("csv", tmp_path, image_size=8, normalize=False, augment=False)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (8, 1, 3)
    assert bundle.test.targets == [0, 1, 2]
    _check_colour_labels(bundle.test)


# errors: DataError, one line, naming the thing


def _raises(match: str) -> pytest.RaisesExc[example_data.DataError]:
    return pytest.raises(DataError, match=re.escape(match))


def test_unknown_kind_and_bad_arguments(tmp_path: Path) -> None:
    with _raises("'mnist'"):
        load_data("mnist", tmp_path)
    for fraction in (0.0, 0.6):
        with _raises(f"val_fraction must be in (0, 0.5], got {fraction}"):
            load_data("digits", val_fraction=fraction)
    # Saying what a data dir is and how to get one (torchvision's download, the JPEG zips).
    with _raises("'cifar10' needs a data_dir (--data-dir): a folder with torchvision's download"):
        load_data("cifar10")
    with _raises("train/<class>/<image> and test/<class>/<image>"):
        load_data("imagefolder")


def test_missing_dir_zip_or_images(tmp_path: Path) -> None:
    with _raises(str(tmp_path / "nope")):
        load_data("imagefolder", tmp_path / "nope")
    with _raises(f"no CIFAR-10 data in {tmp_path}"):
        load_data("cifar10", tmp_path)
    _write_cifar_zips(tmp_path)
    (tmp_path / "test.zip").unlink()
    with _raises(str(tmp_path / "test.zip")):
        load_data("cifar10", tmp_path)
    (tmp_path / "train" / "cat").mkdir(parents=True)
    (tmp_path / "test").mkdir()
    with _raises(f"no images in {tmp_path / 'train'}"):
        load_data("imagefolder", tmp_path)
    with _raises(f"no labels.csv (nor train.csv and test.csv) in {tmp_path}"):
        load_data("csv", tmp_path)


def test_corrupt_images_name_the_file(tmp_path: Path) -> None:
    _write_tree(tmp_path / "train", 3)
    _write_tree(tmp_path / "test", 2)
    bad = tmp_path / "test" / "dog" / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all" * 10)
    bundle = load_data("imagefolder", tmp_path, image_size=8)
    index = [Path(n).name for n in bundle.test.source.names].index("broken.jpg")
    with _raises(f"cannot read image {bad}"):
        bundle.test[index]
    truncated = tmp_path / "train" / "emu" / "truncated.jpg"
    truncated.write_bytes(_jpeg((1, 2, 3), (64, 64))[:200])
    with pytest.raises(DataError, match=re.escape(str(truncated))) as err:
        load_data("imagefolder", tmp_path, image_size=8)  # mean/std read every train image
    assert "\n" not in str(err.value)


def test_corrupt_zip_member_names_the_member(tmp_path: Path) -> None:
    _write_cifar_zips(tmp_path, train=3)
    with zipfile.ZipFile(tmp_path / "train.zip", "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("train/dog/9999.jpg", b"\xff\xd8garbage")
    with _raises(f"{tmp_path / 'train.zip'}:train/dog/9999.jpg"):
        load_data("cifar10", tmp_path)


def test_csv_label_errors(tmp_path: Path) -> None:
    rows = _csv_root(tmp_path, per_class=3, integer=True)
    _write_csv(tmp_path / "labels.csv", [*rows, (rows[0][0], -1)])
    with _raises("labels.csv line 11: label -1 is out of range"):
        load_data("csv", tmp_path)
    _write_csv(tmp_path / "labels.csv", [*rows, (rows[0][0], 1.5)])
    with _raises("labels.csv line 11: label '1.5' is not an integer class index"):
        load_data("csv", tmp_path)
    _write_csv(tmp_path / "labels.csv", [*rows, ("img/missing.png", 0)])
    with _raises(f"labels.csv line 11: image file {tmp_path / 'img/missing.png'} does not"):
        load_data("csv", tmp_path)
    _write_csv(tmp_path / "train.csv", rows)
    _write_csv(tmp_path / "test.csv", [(rows[0][0], 3)])
    with _raises("test.csv line 2: label 3 is out of range (train.csv has 0..2)"):
        load_data("csv", tmp_path)
    _write_csv(tmp_path / "test.csv", [(rows[0][0], "cat")])
    with _raises("test.csv line 2: label 'cat' is not an integer class index"):
        load_data("csv", tmp_path)


# The ONLY skip in this file: the real CIFAR-10 zip is not part of the project.
@pytest.mark.skipif(
    not (REAL_CIFAR / "train.zip").is_file(), reason="/work/shared/data/cifar10 is absent"
)
def test_real_cifar10_zip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(example_data, "STATS_MAX_IMAGES", 300)  # keep the test fast
    bundle = load_data("cifar10", REAL_CIFAR)
    assert bundle.classes[:2] == ["airplane", "automobile"]
    assert len(bundle.classes) == 10
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (45_000, 5_000, 10_000)
    for dataset in (bundle.train, bundle.test):
        x, y = dataset[len(dataset) // 2]
        assert x.shape == (3, 32, 32)
        assert 0 <= y < 10
        assert torch.isfinite(x).all()
    # The published CIFAR-10 training-set statistics; a 300-image sample is within ~0.01.
    published_mean, published_std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    assert all(abs(m - p) < 0.03 for m, p in zip(bundle.mean, published_mean, strict=True))
    assert all(abs(s - p) < 0.03 for s, p in zip(bundle.std, published_std, strict=True))

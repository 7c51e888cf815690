"""The data layer of the example training script: digits, CIFAR-10, ImageFolder trees, CSV lists.

``load_data(kind, data_dir, ...)`` returns a :class:`DataBundle`: train/val/test datasets whose
items are ``(float tensor 3 x S x S, int label)``, the class names, the per-channel mean/std
of the training split, and the input size S beside the data's own size (:func:`data_size`).
Splits depend only on ``seed``; augmentation draws from torch's global RNG, so restoring
``torch.get_rng_state()`` reproduces it. Bad data or arguments raise :class:`DataError` with a
one-line message. Nothing is cached on disk.

With ``in_memory=True`` (or ``None`` and data that fits, see :data:`MEMORY_LIMIT`) every image is
decoded once, in parallel, into one uint8 tensor per source (:class:`MemorySource`); the
datasets then read from it, giving exactly the values that decoding on demand gives.
"""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

KINDS = ("digits", "cifar10", "imagefolder", "csv")
# scikit-learn's digits are 8x8: they are upsampled to the input size of the CIFAR ResNets.
DIGITS_SIZE = 32
# The data's own size is read from the headers of at most this many training images, evenly
# spaced through the split (reading a header does not decode the image).
SIZE_SAMPLE = 1000
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
TEST_FRACTION = 0.2  # the stratified test split of data that has none (digits, a single CSV)
# mean/std use a seeded subset of this many training images when there are more: decoding all
# 45,000 CIFAR-10 training JPEGs from the zip took ~19 s (one process, 2-core machine), 10,000
# take ~5 s, and the subset's mean/std were within 0.0015 of the full ones.
STATS_MAX_IMAGES = 10_000
STATS_BATCH_BYTES = 64 << 20
# in_memory=None decodes into memory when all sources together take at most this many bytes
# (uint8 at the training size; CIFAR-10: 60,000 x 3 x 32 x 32 = 184 MB), and a quarter of RAM.
MEMORY_LIMIT = 4 * 2**30
# torchvision's JPEG decoder: deprecated since torchvision 0.29 in favour of TorchCodec (not a
# dependency here); where it is gone, PIL decodes everything.
warnings.filterwarnings("ignore", "The image decoding", DeprecationWarning, "torchvision.io.image")
try:
    from torchvision.io import ImageReadMode, decode_jpeg
except ImportError:  # pragma: no cover
    decode_jpeg = None  # type: ignore[assignment]


class DataError(Exception):
    """Bad data or data arguments; the message is one clear line for the user."""


@dataclass(frozen=True)
class DataBundle:
    """The three splits and what a model and a training loop need to know about them."""

    train: Dataset[tuple[torch.Tensor, int]]
    val: Dataset[tuple[torch.Tensor, int]]
    test: Dataset[tuple[torch.Tensor, int]]
    classes: list[str]
    in_chans: int
    image_size: int  # the input size S that the images are resized to
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pad: int = 0  # training augmentation: random crop after zero padding by this many pixels
    flip: bool = False  # ... and a random horizontal flip
    in_memory: bool = False  # the images were decoded into memory (MemorySource)
    decode_seconds: float = 0.0  # how long that took
    data_size: int = 0  # the data's own size (data_size()); digits: 8


class _Source:
    """Labels and un-augmented images: index -> float 3 x S x S tensor in [0, 1]."""

    def __init__(self, labels: Sequence[int], size: int = 0) -> None:
        # size 0: not chosen yet (load_data sets it once it knows the data's size)
        self.labels, self.size = [int(label) for label in labels], size

    def image(self, i: int) -> torch.Tensor:
        raise NotImplementedError

    def shape(self, i: int) -> tuple[int, int]:
        """(width, height) of image i as stored, before any resizing."""
        raise NotImplementedError

    def batch(self, indices: Sequence[int]) -> torch.Tensor:
        return torch.stack([self.image(i) for i in indices])

    def nbytes(self) -> int:
        """The size of all images decoded into memory at the training size."""
        return len(self.labels) * 3 * self.size**2


class _TensorSource(_Source):
    """Images in memory as an N x 3 x h x w uint8 tensor of values 0..scale; bilinear resize."""

    def __init__(self, images: torch.Tensor, labels: Sequence[int], scale: float):
        super().__init__(labels)
        self.images, self.scale = images, scale

    def shape(self, i: int) -> tuple[int, int]:
        return self.images.shape[-1], self.images.shape[-2]

    def batch(self, indices: Sequence[int]) -> torch.Tensor:
        x = self.images[list(indices)].float() / self.scale
        if x.shape[-2:] != (self.size, self.size):
            x = TF.resize(x, [self.size, self.size], v2.InterpolationMode.BILINEAR, antialias=True)
        return x

    def image(self, i: int) -> torch.Tensor:
        return self.batch([i])[0]

    def nbytes(self) -> int:
        resized = self.images.shape[-2:] != (self.size, self.size)
        return super().nbytes() * (4 if resized else 1)  # resized images are kept as floats


class MemorySource(_Source):
    """Every image of a source, decoded: ``images`` is N x 3 x S x S, uint8 holding values
    0..``scale`` (or float32 with scale 1 where the source resizes in floating point)."""

    def __init__(self, images: torch.Tensor, labels: Sequence[int], scale: float) -> None:
        super().__init__(labels, images.shape[-1])
        self.images, self.scale = images, scale

    def batch(self, indices: Sequence[int]) -> torch.Tensor:
        return self.images[list(indices)].float() / self.scale

    def image(self, i: int) -> torch.Tensor:
        return self.images[i].float() / self.scale

    def nbytes(self) -> int:
        return self.images.numel() * self.images.element_size()


class _Chunks(Dataset[torch.Tensor | str]):
    """A file source's images in chunks of uint8 N x 3 x S x S tensors, decoded in DataLoader
    worker processes; a chunk with an unreadable image is the DataError's message instead."""

    def __init__(self, source: _FileSource, chunk: int) -> None:
        self.source, self.chunk = source, chunk

    def __len__(self) -> int:
        return -(-len(self.source.labels) // self.chunk)

    def __getitem__(self, k: int) -> torch.Tensor | str:
        stop = min(len(self.source.labels), (k + 1) * self.chunk)
        try:
            return torch.stack([self.source.pixels(i) for i in range(k * self.chunk, stop)])
        except DataError as err:
            return str(err)


def to_memory(source: _Source, workers: int = 0) -> MemorySource:
    """Decode every image of ``source`` once (``workers`` processes) into a MemorySource."""
    if isinstance(source, MemorySource):
        return source
    if isinstance(source, _TensorSource):
        if source.images.shape[-2:] == (source.size, source.size):
            return MemorySource(source.images, source.labels, source.scale)
        everything = range(len(source.labels))
        parts = [source.batch(everything[i : i + 500]) for i in range(0, len(everything), 500)]
        return MemorySource(torch.cat(parts), source.labels, 1.0)
    if not isinstance(source, _FileSource):
        raise TypeError(f"cannot decode a {type(source).__name__} into memory")
    images = torch.empty(len(source.labels), 3, source.size, source.size, dtype=torch.uint8)
    chunks = _Chunks(source, 256)
    workers = min(workers, len(chunks)) if len(chunks) > 1 else 0
    for k, chunk in enumerate(DataLoader(chunks, batch_size=None, num_workers=workers)):
        if isinstance(chunk, str):
            raise DataError(chunk)
        images[k * chunks.chunk : k * chunks.chunk + len(chunk)] = chunk
    return MemorySource(images, source.labels, 255.0)


class _FileSource(_Source):
    """Image files decoded by PIL when read, converted to RGB and resized (bilinear)."""

    def __init__(self, files: Sequence[Path | str], labels: Sequence[int]) -> None:
        super().__init__(labels)
        self.names = [str(f) for f in files]

    def _read(self, i: int) -> bytes:
        return Path(self.names[i]).read_bytes()

    def shape(self, i: int) -> tuple[int, int]:
        try:
            with Image.open(io.BytesIO(self._read(i))) as img:
                return img.size
        except UnidentifiedImageError as err:
            raise DataError(f"cannot read image {self.names[i]}: not a known image format") from err
        except (OSError, SyntaxError, ValueError, zipfile.BadZipFile) as err:
            reason = " ".join(str(err).split())
            raise DataError(f"cannot read image {self.names[i]}: {reason}") from err

    def image(self, i: int) -> torch.Tensor:
        return self.pixels(i).float().div_(255)

    def pixels(self, i: int) -> torch.Tensor:
        """The image as a uint8 3 x S x S tensor.

        JPEGs at the training size are decoded by torchvision (libjpeg-turbo, as PIL's: pixels
        identical to PIL's on 5,000 CIFAR-10 images compared, about 4x faster than PIL at
        32x32); anything else, and any JPEG that torchvision refuses, by PIL."""
        try:
            data = self._read(i)
            if data[:2] == b"\xff\xd8" and decode_jpeg is not None:
                raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
                x = decode_jpeg(raw, mode=ImageReadMode.RGB)
                if x.shape[-2:] == (self.size, self.size):
                    return x
        except RuntimeError:
            pass  # PIL says what is wrong
        except (OSError, zipfile.BadZipFile) as err:
            reason = " ".join(str(err).split())
            raise DataError(f"cannot read image {self.names[i]}: {reason}") from err
        try:
            with Image.open(io.BytesIO(data)) as img:
                rgb = img.convert("RGB")
        except UnidentifiedImageError as err:
            raise DataError(f"cannot read image {self.names[i]}: not a known image format") from err
        except (OSError, SyntaxError, ValueError, zipfile.BadZipFile) as err:
            reason = " ".join(str(err).split())
            raise DataError(f"cannot read image {self.names[i]}: {reason}") from err
        if rgb.size != (self.size, self.size):
            rgb = rgb.resize((self.size, self.size), Image.Resampling.BILINEAR)
        return TF.pil_to_tensor(rgb)


class _ZipSource(_FileSource):
    """Members of a zip. Only their names are kept; the archive is opened on first use in each
    process, since an open ZipFile must not be shared with DataLoader worker processes."""

    def __init__(self, path: Path, members: Sequence[str], labels: Sequence[int]):
        super().__init__([f"{path}:{m}" for m in members], labels)
        self.path, self.members = path, list(members)
        self._zip: zipfile.ZipFile | None = None
        self._pid = -1

    def _read(self, i: int) -> bytes:
        if self._zip is None or self._pid != os.getpid():
            self._zip, self._pid = zipfile.ZipFile(self.path), os.getpid()
        return self._zip.read(self.members[i])

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_zip": None}


class ImageDataset(Dataset[tuple[torch.Tensor, int]]):
    """A split: items ``(transform(image), label)`` for some (default all) indices of a source."""

    def __init__(self, source: _Source, indices: Sequence[int] | None = None) -> None:
        self.source = source
        self.indices = list(range(len(source.labels)) if indices is None else indices)
        self.transform: Callable[[torch.Tensor], torch.Tensor] = v2.Identity()

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        j = self.indices[i]
        return self.transform(self.source.image(j)), self.source.labels[j]

    @property
    def targets(self) -> list[int]:
        return [self.source.labels[j] for j in self.indices]


def _split(
    data: ImageDataset, fraction: float, seed: Sequence[int], what: str
) -> tuple[ImageDataset, ...]:
    """Seeded stratified split into (rest, held): round(fraction * n) images held (at least one),
    shared among the classes in proportion to their sizes (largest remainders)."""
    n = len(data)
    if n < 2:
        raise DataError(f"only {n} image(s) to split a {what} split from; need at least 2")
    labels = np.array(data.targets)
    n_held = min(max(1, round(fraction * n)), n - 1)
    classes, counts = np.unique(labels, return_counts=True)
    quota = n_held * counts / n
    take = np.floor(quota).astype(int)
    take[np.argsort(take - quota, kind="stable")[: n_held - take.sum()]] += 1
    rng = np.random.default_rng(list(seed))
    held: set[int] = set()
    for c, k in zip(classes, take, strict=True):
        held.update(data.indices[m] for m in rng.permutation(np.flatnonzero(labels == c))[:k])
    rest = [j for j in data.indices if j not in held]
    return ImageDataset(data.source, rest), ImageDataset(data.source, sorted(held))


def _mean_std(data: ImageDataset, seed: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std over all pixels of the un-augmented images, or of a
    seeded subset of STATS_MAX_IMAGES of them. A constant channel gets std 1, not 0."""
    indices = data.indices
    if len(indices) > STATS_MAX_IMAGES:
        indices = sorted(np.random.default_rng(seed).choice(indices, STATS_MAX_IMAGES, False))
    total = squares = torch.zeros(3, dtype=torch.float64)
    # Batches of at most STATS_BATCH_BYTES in float64, whatever the image size (500 images at
    # 1500 px were 27 GB).
    step = max(1, min(500, STATS_BATCH_BYTES // (8 * 3 * data.source.size**2)))
    for start in range(0, len(indices), step):
        x = data.source.batch(indices[start : start + step]).double()
        total, squares = total + x.sum((0, 2, 3)), squares + x.square().sum((0, 2, 3))
    count = len(indices) * data.source.size**2
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0).sqrt()
    std[std < 1e-6] = 1.0  # normalising must not divide by zero
    return tuple(mean.tolist()), tuple(std.tolist())


class _Loaded(NamedTuple):
    classes: list[str]
    train: ImageDataset
    val: ImageDataset | None  # None: carved from train
    test: ImageDataset


def _load_digits(seed: int) -> _Loaded:
    from sklearn.datasets import load_digits  # only this kind needs scikit-learn

    digits = load_digits()
    images = torch.from_numpy(digits.images).to(torch.uint8)[:, None].repeat(1, 3, 1, 1)
    source = _TensorSource(images, digits.target.tolist(), scale=16.0)
    train, test = _split(ImageDataset(source), TEST_FRACTION, [seed, 0], "test")
    return _Loaded([str(c) for c in digits.target_names], train, None, test)


def _zip_split(
    path: Path, prefix: str, classes: list[str] | None
) -> tuple[list[str], ImageDataset]:
    """The ``<prefix>/<class>/<image>`` members of a zip; classes sorted if not given."""
    if not path.is_file():
        raise DataError(f"zip archive {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
    except (OSError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot open zip archive {path}: {err}") from err
    found = [n.split("/") for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    found = [parts for parts in found if len(parts) == 3 and parts[0] == prefix]
    if not found:
        raise DataError(f"no images in {path}: expected members {prefix}/<class>/<image>")
    classes = classes or sorted({parts[1] for parts in found})
    if unknown := sorted({parts[1] for parts in found} - set(classes)):
        raise DataError(f"{path} has classes {unknown} that the training data lacks")
    labels = [classes.index(parts[1]) for parts in found]
    source = _ZipSource(path, ["/".join(parts) for parts in found], labels)
    return classes, ImageDataset(source)


def _folder_split(folder: Path, classes: list[str] | None) -> tuple[list[str], ImageDataset]:
    """An ImageFolder tree ``folder/<class>/.../<image>``; classes sorted if not given."""
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder: expected {folder}/<class>/<image> files")
    found = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = classes or found
    if unknown := sorted(set(found) - set(classes)):
        raise DataError(f"{folder} has classes {unknown} that the training data lacks")
    files, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted((folder / name).rglob("*")):
            if file.suffix.lower() in IMAGE_EXTENSIONS and file.is_file():
                files.append(file)
                labels.append(label)
    if not files:
        raise DataError(f"no images in {folder}: expected {folder}/<class>/<image> files")
    return classes, ImageDataset(_FileSource(files, labels))


def _load_folders(root: Path) -> _Loaded:
    classes, train = _folder_split(root / "train", None)
    val = _folder_split(root / "val", classes)[1] if (root / "val").is_dir() else None
    return _Loaded(classes, train, val, _folder_split(root / "test", classes)[1])


#: What each kind's data_dir holds, and how to get one (the missing --data-dir's message).
_WHAT_DIR = {
    "cifar10": (
        "a folder with torchvision's download (python -c \"import torchvision; "
        "torchvision.datasets.CIFAR10('data', download=True)\" writes data/"
        "cifar-10-batches-py; then --data-dir data), or with train.zip and test.zip of JPEG "
        "class folders, or with train/<class>/ and test/<class>/ folders of images"
    ),
    "imagefolder": (
        "a folder with train/<class>/<image> and test/<class>/<image> (val/<class>/ too, or "
        "the validation images are split off train/), the layout torchvision's ImageFolder reads"
    ),
    "csv": "the folder the CSV file's paths are relative to (or give --csv-file)",
}


def _load_cifar10(root: Path) -> _Loaded:
    if (root / "train.zip").exists() or (root / "test.zip").exists():
        classes, train = _zip_split(root / "train.zip", "train", None)
        return _Loaded(classes, train, None, _zip_split(root / "test.zip", "test", classes)[1])
    if (root / "train").is_dir():
        return _load_folders(root)
    root = root.parent if root.name == "cifar-10-batches-py" else root
    if not (root / "cifar-10-batches-py").is_dir():
        raise DataError(
            f"no CIFAR-10 data in {root}: expected train.zip and test.zip, train/ and test/"
            " folders, or torchvision's cifar-10-batches-py/"
        )
    from torchvision.datasets import CIFAR10

    splits = []
    for train in (True, False):
        try:
            data = CIFAR10(str(root), train=train, download=False)
        except (RuntimeError, OSError, ValueError) as err:
            raise DataError(f"cannot read {root / 'cifar-10-batches-py'}: {err}") from err
        images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
        splits.append(ImageDataset(_TensorSource(images, data.targets, scale=255.0)))
    return _Loaded(list(data.classes), splits[0], None, splits[1])


class _Row(NamedTuple):
    file: Path
    label: str
    where: str  # "labels.csv line 7", for messages


def _read_csv(path: Path, root: Path) -> list[_Row]:
    """The rows of a ``file,label`` CSV; files are relative to ``root`` and must exist."""
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, skipinitialspace=True)
        if not {"file", "label"} <= set(reader.fieldnames or []):
            raise DataError(f"{path}: expected a header with the columns file,label")
        rows = []
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            file, label = (row["file"] or "").strip(), (row["label"] or "").strip()
            if not file or not label:
                raise DataError(f"{where}: empty file or label")
            if not (root / file).is_file():
                raise DataError(f"{where}: image file {root / file} does not exist")
            rows.append(_Row(root / file, label, where))
    if not rows:
        raise DataError(f"{path} lists no images")
    return rows


def _csv_labels(tables: list[list[_Row]]) -> tuple[list[str], list[list[int]]]:
    """Classes and label indices of CSV tables, the first being the training one.

    If the training table has integer labels, all labels must be integer class indices and the
    classes are "0".."max" of the training table (so negative labels, and larger ones in the
    other tables, are out of range). Otherwise labels are class names and the classes are the
    sorted names of the training table. The other tables' labels must be among the classes.
    """
    first = tables[0][0].where.split(" line")[0]
    rows = [r for table in tables for r in table]
    integer = any(re.fullmatch(r"[+-]?\d+", r.label) for r in tables[0])
    if integer:
        for r in rows:
            if not re.fullmatch(r"[+-]?\d+", r.label):
                raise DataError(
                    f"{r.where}: label {r.label!r} is not an integer class index"
                    f" (other labels in {first} are)"
                )
        classes = [str(i) for i in range(max(int(r.label) for r in tables[0]) + 1)]
        allowed = f"0..{len(classes) - 1}"
    else:
        classes = sorted({r.label for r in tables[0]})
        allowed = ", ".join(classes[:8]) + (", ..." if len(classes) > 8 else "")
    lookup = {c: i for i, c in enumerate(classes)}
    keys = [[str(int(r.label)) if integer else r.label for r in table] for table in tables]
    for r, key in zip(rows, [k for table_keys in keys for k in table_keys], strict=True):
        if key not in lookup:
            raise DataError(f"{r.where}: label {r.label} is out of range ({first} has {allowed})")
    return classes, [[lookup[key] for key in table_keys] for table_keys in keys]


def _load_csv(root: Path, csv_file: Path | None, seed: int) -> _Loaded:
    """``train.csv`` and ``test.csv`` (and ``val.csv``) if there are, else one CSV split 80/20."""
    names = ["train", "val", "test"] if (root / "val.csv").is_file() else ["train", "test"]
    if csv_file is None and all((root / f"{name}.csv").is_file() for name in names):
        tables = [_read_csv(root / f"{name}.csv", root) for name in names]
        classes, labels = _csv_labels(tables)
        splits = [
            ImageDataset(_FileSource([r.file for r in table], table_labels))
            for table, table_labels in zip(tables, labels, strict=True)
        ]
        return _Loaded(classes, splits[0], splits[1] if len(splits) == 3 else None, splits[-1])
    if csv_file is None and not (root / "labels.csv").is_file():
        raise DataError(f"no labels.csv (nor train.csv and test.csv) in {root}")
    if csv_file is not None and not csv_file.is_file() and (root / csv_file).is_file():
        csv_file = root / csv_file  # a name relative to data_dir
    rows = _read_csv(csv_file or root / "labels.csv", root)
    classes, (labels,) = _csv_labels([rows])
    source = _FileSource([r.file for r in rows], labels)
    train, test = _split(ImageDataset(source), TEST_FRACTION, [seed, 0], "test")
    return _Loaded(classes, train, None, test)


def data_size(shapes: Sequence[tuple[int, int]]) -> int:
    """The data's own input size, from the (width, height) of its images: the median of their
    shorter sides (the lower median for an even count). For images that all share one square
    size, that size.

    Examples:
        >>> data_size([(32, 32)] * 5)
        32
        >>> data_size([(640, 480), (500, 375), (300, 400)])  # shorter sides 480, 375, 300
        375
    """
    if not shapes:
        raise ValueError("no images to take a size from")
    return int(statistics.median_low(min(w, h) for w, h in shapes))


def _sample(n: int, k: int = SIZE_SAMPLE) -> list[int]:
    """At most k indices in range(n), evenly spaced, first and last included."""
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if n > k else list(range(n))


def load_data(
    kind: str,
    data_dir: str | Path | None = None,
    *,
    image_size: int | None = None,
    fit_size: Callable[[int], int] | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    augment: bool = True,
    normalize: bool = True,
    csv_file: str | Path | None = None,
    in_memory: bool | None = False,
    workers: int = 0,
) -> DataBundle:
    """Load ``kind`` ("digits", "cifar10", "imagefolder" or "csv") as train/val/test datasets.

    Images are RGB floats resized to ``image_size``; by default to the data's own size
    (``data_size`` of up to :data:`SIZE_SAMPLE` training images, read from their headers:
    32 for CIFAR-10), except digits, whose 8x8 images are upsampled to :data:`DIGITS_SIZE`.
    ``fit_size`` then maps that default to the size used (train.py: the nearest size the model
    accepts); it is not applied to an explicit ``image_size``. Where the data has no val split,
    a stratified ``val_fraction`` of the training images is held out, seeded by ``seed``;
    digits and a single CSV also hold out a stratified 20% test split. ``mean``/``std`` come
    from the training split (see ``_mean_std``). Training augmentation is a random crop after
    zero padding: 2 px at size 32 (size/16) for digits, which are not flip-invariant; 4 px
    (size/8) and a horizontal flip otherwise, the ResNet recipe. ``in_memory`` decodes every
    image once into memory (``workers`` processes); ``None`` does so when the decoded images
    take at most :data:`MEMORY_LIMIT` bytes and a quarter of the RAM.
    """
    if kind not in KINDS:
        raise DataError(f"unknown data kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not 0 < val_fraction <= 0.5:
        raise DataError(f"val_fraction must be in (0, 0.5], got {val_fraction}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise DataError(f"image_size must be a positive integer, got {image_size!r}")
    if kind == "digits":
        loaded = _load_digits(seed)
    else:
        if data_dir is None and kind == "csv" and csv_file is not None:
            data_dir = Path(csv_file).parent
        if data_dir is None:
            raise DataError(f"data kind {kind!r} needs a data_dir (--data-dir): {_WHAT_DIR[kind]}")
        root = Path(data_dir)
        if not root.is_dir():
            raise DataError(f"data_dir {root} does not exist or is not a folder")
        if kind == "cifar10":
            loaded = _load_cifar10(root)
        elif kind == "imagefolder":
            loaded = _load_folders(root)
        else:
            loaded = _load_csv(root, None if csv_file is None else Path(csv_file), seed)
    first = loaded.train
    own = data_size([first.source.shape(first.indices[i]) for i in _sample(len(first))])
    size = image_size
    if size is None:
        size = DIGITS_SIZE if kind == "digits" else own
        size = fit_size(size) if fit_size is not None else size
    for d in (loaded.train, loaded.val, loaded.test):
        if d is not None:
            d.source.size = size
    train, val, test = loaded.train, loaded.val, loaded.test
    sources = list({id(d.source): d.source for d in (train, val, test) if d is not None}.values())
    if in_memory is None:
        in_memory = sum(s.nbytes() for s in sources) <= memory_limit()
    seconds = 0.0
    if in_memory:
        tic = time.perf_counter()
        decoded = {id(s): to_memory(s, workers) for s in sources}
        seconds = time.perf_counter() - tic
        train, test = (ImageDataset(decoded[id(d.source)], d.indices) for d in (train, test))
        if val is not None:
            val = ImageDataset(decoded[id(val.source)], val.indices)
    if val is None:
        train, val = _split(train, val_fraction, [seed, 1], "validation")
    mean, std = _mean_std(train, seed)

    norm = [v2.Normalize(list(mean), list(std))] if normalize else []
    pad = (max(1, size // 16) if kind == "digits" else max(1, size // 8)) if augment else 0
    flip = augment and kind != "digits"
    aug: list[v2.Transform] = [v2.RandomCrop(size, padding=pad)] if pad else []
    aug += [v2.RandomHorizontalFlip()] if flip else []
    train.transform = v2.Compose([v2.Identity(), *aug, *norm])
    val.transform = test.transform = v2.Compose([v2.Identity(), *norm])
    return DataBundle(
        train=train, val=val, test=test, classes=loaded.classes,
        in_chans=3, image_size=size, mean=mean, std=std, pad=pad, flip=flip,
        in_memory=in_memory, decode_seconds=seconds, data_size=own,
    )  # fmt: skip


def memory_limit() -> int:
    """MEMORY_LIMIT, or a quarter of the physical memory where that is less."""
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return MEMORY_LIMIT
    return min(MEMORY_LIMIT, ram // 4)

"""Measure a model's accuracy on labelled images as timm's ``validate.py`` does:
:func:`validate` and ``scalenet validate``.

The model's own data config decides the preprocessing (``timm.data.resolve_data_config`` of
the model: input size, or the weights' test size; interpolation; crop; mean and std), and
timm's evaluation transform applies it (``timm.data.create_transform(..., is_training=False)``:
resize by the crop fraction, centre crop, normalise), so scalenet and timm agree on the same
images. The figures are timm's results columns (``model, top1, top1_err, top5, top5_err,
param_count, img_size, crop_pct, interpolation``, accuracies in percent, parameters in
millions), plus the loss and the images per second.

Examples:
    >>> import scalenet, tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> data = Path(tempfile.mkdtemp())
    >>> for i, name in enumerate(["cat", "dog"]):
    ...     (data / name).mkdir()
    ...     Image.new("RGB", (32, 32), (200 * i, 50, 50)).save(data / name / "0.png")
    >>> model = scalenet.create("resnet20_cifar", num_classes=2, label_names=["cat", "dog"])
    >>> result = validate(model, data, workers=0, progress=False)
    >>> result["images"], sorted(result)[:4]
    (2, ['crop_pct', 'images', 'images_per_sec', 'img_size'])
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, check_bool, check_int, check_path, check_type

if TYPE_CHECKING:
    import torch

    from ..nn.base import ScaleNetModel

__all__ = ["RESULT_COLUMNS", "load_target", "validate", "write_results"]

#: timm's validate.py results columns, in its order (then scalenet's own).
RESULT_COLUMNS = (
    "model", "top1", "top1_err", "top5", "top5_err", "param_count", "img_size", "crop_pct",
    "interpolation", "loss", "images", "images_per_sec",
)  # fmt: skip

#: The split folders timm's ``create_dataset(root, split="validation")`` looks for, in order.
#: Bounds that keep a typo from asking for what no machine does: images per batch, and
#: data-loading processes (each a process of its own).
MAX_BATCH = 1 << 20
MAX_WORKERS = 512
_SPLITS = ("validation", "val", "test")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tif", ".tiff")


def load_target(target: str | Path) -> tuple[ScaleNetModel, str]:
    """The model ``target`` names, and its name for the results: ``arch.tag`` (the published
    weights), an architecture with weights (its default tag), a folder ``save_pretrained``
    wrote, or ``hf-hub:org/name`` (a Hub repository).

    Raises:
        ConfigError: an unknown name, or an architecture without published weights (an
            untrained model's accuracy measures nothing).
        WeightsError: the weights cannot be had.
    """
    from ..hub.load import from_pretrained
    from ..zoo import create, get_entry

    text = str(target)
    if text.startswith("hf-hub:"):
        return from_pretrained(text.removeprefix("hf-hub:")), text
    path = Path(text).expanduser()
    try:
        folder = path.is_dir()
    except OSError:  # a name too long for a path: a model name, or none
        folder = False
    if folder:
        return from_pretrained(path), path.resolve().name
    entry = get_entry(text)  # an unknown name: a ConfigError with the close ones
    if "." not in text and not entry.weights:
        raise ConfigError(
            "target", text,
            "a model with weights: arch.tag (scalenet.list_models(pretrained=True)), a folder "
            "save_pretrained wrote or hf-hub:org/name",
            f"{text} has no published weights, and an untrained model's accuracy measures "
            "nothing",
        )  # fmt: skip
    model = create(text, pretrained=True)
    tag = model.pretrained_cfg.get("tag")
    return model, f"{entry.name}.{tag}" if tag else text


def _images_root(data: Path) -> Path:
    """The folder of class folders: ``data`` or its ``validation``/``val``/``test`` split."""
    if not data.is_dir():
        raise ConfigError("data", str(data), "a folder of class folders (ImageFolder layout)")
    for split in _SPLITS:
        if (data / split).is_dir():
            return data / split
    return data


def _dataset(data: Path, transform: Any, label_names: Sequence[str] | None, classes: int) -> Any:
    """``data`` as a labelled dataset: torchvision's CIFAR-10/100 root (its Python batches),
    else an ImageFolder whose class folders are mapped to the model's classes by name (the
    model's ``label_names``) or, without names, in sorted order."""
    from torchvision import datasets

    if (data / "cifar-10-batches-py").is_dir():
        return datasets.CIFAR10(str(data), train=False, transform=transform)
    if (data / "cifar-100-python").is_dir():
        return datasets.CIFAR100(str(data), train=False, transform=transform)
    root = _images_root(data)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ConfigError(
            "data", str(data),
            "a folder of class folders (ImageFolder: DIR/<class>/<image>), its validation/val/"
            "test split, or a torchvision CIFAR root",
        )  # fmt: skip
    if label_names is not None and set(folders) <= set(label_names):
        index = {name: i for i, name in enumerate(label_names)}
    elif label_names is not None:
        unknown = sorted(set(folders) - set(label_names))[:5]
        raise ConfigError(
            "data", str(root), "class folders named as the model's classes",
            f"{unknown} are none of the model's {len(label_names)} label_names "
            f"({', '.join(label_names[:5])}...)",
        )  # fmt: skip
    elif len(folders) == classes:
        index = {name: i for i, name in enumerate(folders)}
    else:
        raise ConfigError(
            "data", str(root), f"{classes} class folders (the model's classes, in sorted order)",
            f"it has {len(folders)}, and the model names no classes to match them by",
        )  # fmt: skip

    def is_image(path: str) -> bool:
        return path.lower().endswith(_IMAGE_SUFFIXES)

    dataset = datasets.ImageFolder(str(root), transform=transform, is_valid_file=is_image)
    # folder index -> the model's class index (a list's lookup: picklable for workers)
    dataset.target_transform = [index[folder] for folder in dataset.classes].__getitem__
    return dataset


def validate(
    model: ScaleNetModel | str | Path,
    data: str | Path,
    *,
    batch_size: int = 128,
    workers: int = 2,
    device: str | torch.device | None = None,
    amp: bool = False,
    limit: int | None = None,
    progress: bool = True,
    results_file: str | Path | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Top-1 and top-5 accuracy, loss and speed of ``model`` on the labelled images in
    ``data``, preprocessed as timm's ``validate.py`` preprocesses them.

    Args:
        model: a model, or a target for :func:`load_target` (``arch.tag``, a folder,
            ``hf-hub:org/name``).
        data: class folders (``DIR/<class>/<image>``, or in its ``validation``, ``val`` or
            ``test`` folder), matched to the model's classes by its ``label_names`` (else in
            sorted order); or torchvision's CIFAR-10/CIFAR-100 root (its test split).
        batch_size: images per batch.
        workers: data-loading processes.
        device: default CUDA if available, else the CPU.
        amp: autocast to float16 on CUDA (bfloat16 on the CPU), as ``validate.py --amp``.
        limit: evaluate the first ``limit`` images only (a quick check).
        progress: a progress bar on stderr.
        results_file: append the result as a row to this CSV file (timm's columns, then
            scalenet's; the header is written with the first row).
        name: the ``model`` column (default: the target, or the model's architecture).

    Returns:
        ``{column: value}`` for :data:`RESULT_COLUMNS`.

    Raises:
        ConfigError: ``data`` is not a labelled image folder the model's classes match, or a
            bad argument.
    """
    import torch
    from timm.data.config import resolve_data_config
    from timm.data.transforms_factory import create_transform
    from timm.utils.metrics import accuracy
    from tqdm import tqdm

    from ..nn.base import check_device, check_model

    check_int("batch_size", batch_size, 1, MAX_BATCH)
    check_int("workers", workers, 0, MAX_WORKERS)
    if limit is not None:
        check_int("limit", limit, 1, 2**63 - 1)
    check_bool("amp", amp)
    check_bool("progress", progress)
    check_type("name", name, (str, type(None)), "a str, or None for the target's name")
    data = check_path("data", data)
    if results_file is not None:
        results_file = check_path("results_file", results_file)
    chosen = check_device(device, "cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(model, (str, Path)):
        model, target = load_target(model)
    else:
        check_model("model", model)
        target = str(model.pretrained_cfg.get("architecture") or "model")
    config: dict[str, Any] = resolve_data_config({}, model=model, use_test_size=True)  # type: ignore[no-untyped-call]
    transform = create_transform(**config, is_training=False)
    names = model.pretrained_cfg.get("label_names")
    dataset = _dataset(Path(data).expanduser(), transform, names, model.num_classes)
    if limit is not None and limit < len(dataset):
        dataset = torch.utils.data.Subset(dataset, range(limit))
    if len(dataset) == 0:
        raise ConfigError("data", str(data), "a folder with at least one image")
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, num_workers=workers, pin_memory=chosen.type == "cuda"
    )
    model = model.to(chosen).eval()
    if chosen.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    top_k = min(5, model.num_classes)
    correct1 = correct5 = 0
    loss_sum = 0.0
    seen = 0
    criterion = torch.nn.CrossEntropyLoss(reduction="sum")
    started = time.perf_counter()
    with torch.inference_mode():
        for images, targets in tqdm(loader, desc="validate", unit="batch", disable=not progress):
            images, targets = images.to(chosen), targets.to(chosen)
            with torch.autocast(
                chosen.type, dtype=torch.float16 if chosen.type == "cuda" else torch.bfloat16,
                enabled=amp,
            ):  # fmt: skip
                logits = model(images)
            logits = logits.float()
            top1, top5 = accuracy(logits, targets, topk=(1, top_k))  # type: ignore[no-untyped-call]
            n = targets.shape[0]
            correct1 += round(float(top1) * n / 100)  # timm's percentages, back to counts
            correct5 += round(float(top5) * n / 100)
            loss_sum += float(criterion(logits, targets))
            seen += n
    seconds = time.perf_counter() - started
    top1a, top5a = 100 * correct1 / seen, 100 * correct5 / seen
    result = {
        "model": name or target,
        "top1": round(top1a, 4),
        "top1_err": round(100 - top1a, 4),
        "top5": round(top5a, 4),
        "top5_err": round(100 - top5a, 4),
        "param_count": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "img_size": config["input_size"][-1],
        "crop_pct": config["crop_pct"],
        "interpolation": config["interpolation"],
        "loss": round(loss_sum / seen, 5),
        "images": seen,
        "images_per_sec": round(seen / seconds, 1),
    }
    if results_file is not None:
        write_results(results_file, result)
    return result


def write_results(path: str | Path, result: dict[str, Any]) -> None:
    """Append ``result`` to the CSV file ``path`` (created with timm's header; an existing
    file must have the same header, so that no row lands under the wrong column)."""
    path = Path(path)
    header = list(RESULT_COLUMNS)
    if path.is_file() and path.stat().st_size > 0:
        with path.open(newline="", encoding="utf-8") as file:
            existing = next(csv.reader(file), [])
        if existing != header:
            raise ConfigError(
                "results_file", str(path), f"a CSV file with the columns {', '.join(header)}",
                f"its header is {', '.join(existing)}",
            )  # fmt: skip
        with path.open("a", newline="", encoding="utf-8") as file:
            csv.DictWriter(file, header).writerow(result)
        return
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, header)
        writer.writeheader()
        writer.writerow(result)

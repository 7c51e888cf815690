"""Measure the catalogue's CIFAR-10 weights with ``scalenet validate``, and hold each against
its source's own model code on the same tensors.

    python benchmarks/cifar_results.py --data DIR --mirror MIRROR --source-code resnet.py \
        [--results-file docs/results/cifar10_jpeg.csv] [--limit N]

- ``--data``: CIFAR-10 test images as class folders (``DIR/test/<class>/<image>`` or
  ``DIR/<class>/<image>``), or torchvision's CIFAR-10 root (``data/`` holding
  ``cifar-10-batches-py``, as ``torchvision.datasets.CIFAR10("data", download=True)`` writes
  it). docs/zoo.md's table was measured on the project's own JPEG re-encoding of the test
  split (quality ~75, 4:2:0 chroma; not distributed), which costs models trained on the
  original images about 10 points of top-1, so its figures are not the sources'.
- ``--mirror``: a folder that holds the weights files at ``<host>/<path of their URL>``
  (``SCALENET_WEIGHTS_MIRROR``, docs/hub.md): akamaster's files are in its repository,
  ``pretrained_models/`` (https://github.com/akamaster/pytorch_resnet_cifar10).
- ``--source-code``: akamaster's ``resnet.py`` from the same repository: its ``resnetN()``
  loads each file as the source does, and both models classify the same tensors (the
  agreement column: the share of images on which the two arg-maxes agree, and the largest
  logit difference).

Weights whose file is not in the mirror are listed as not measured. Prints a Markdown table
(docs/zoo.md holds the last one) and appends one row per weight to ``--results-file`` (timm's
results columns, as ``scalenet validate --results-file`` writes them).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import timm.data
import torch

import scalenet
from scalenet.hub.urls import mirror_url
from scalenet.weights.catalog import CATALOG, Weights


def akamaster_code(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("akamaster_resnet", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_mirror(weights: Weights) -> bool:
    url = getattr(weights.file, "url", None)
    return url is not None and Path(mirror_url(url).removeprefix("file://")).is_file()


def agreement(
    ours: torch.nn.Module, theirs: torch.nn.Module, data: Path, limit: int | None
) -> tuple[float, float]:
    """Share (%) of images whose arg-max the two models agree on, and the largest absolute
    logit difference, on the tensors scalenet's preprocessing makes."""
    from scalenet.analysis.validate import _dataset

    config = timm.data.resolve_data_config({}, model=ours, use_test_size=True)
    transform = timm.data.create_transform(**config, is_training=False)
    dataset = _dataset(data, transform, ours.pretrained_cfg.get("label_names"), ours.num_classes)
    if limit is not None:
        dataset = torch.utils.data.Subset(dataset, range(min(limit, len(dataset))))
    loader = torch.utils.data.DataLoader(dataset, batch_size=250, num_workers=2)
    same = total = 0
    largest = 0.0
    ours.eval()
    theirs.eval()
    with torch.inference_mode():
        for images, _ in loader:
            a, b = ours(images), theirs(images)
            same += int((a.argmax(1) == b.argmax(1)).sum())
            total += len(images)
            largest = max(largest, float((a - b).abs().max()))
    return 100 * same / total, largest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("--source-code", type=Path, required=True)
    parser.add_argument("--results-file", type=Path, default=Path("cifar10_jpeg.csv"))
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    os.environ["SCALENET_WEIGHTS_MIRROR"] = args.mirror.resolve().as_uri()
    code = akamaster_code(args.source_code)
    rows = [
        "| weights | source's top-1 (original CIFAR-10) | scalenet validate top-1 (JPEG copy) "
        "| top-5 | agreement with the source's code | largest logit difference |",
        "|---|---|---|---|---|---|",
    ]
    for arch in sorted(CATALOG, key=lambda a: (len(a), a)):
        for weights in CATALOG[arch]:
            if weights.source != "akamaster" and weights.layout != "akamaster":
                continue
            if not in_mirror(weights):
                rows.append(f"| {weights.name} | {weights.top1} | not measured (no file) | | | |")
                continue
            result = scalenet.validate(
                weights.name, args.data, limit=args.limit, results_file=args.results_file,
                progress=False,
            )  # fmt: skip
            ours = scalenet.create(weights.name, pretrained=True)
            theirs = getattr(code, arch.removesuffix("_cifar"))()
            file = Path(mirror_url(weights.file.url).removeprefix("file://"))  # type: ignore[union-attr]
            state = torch.load(file, map_location="cpu", weights_only=True)["state_dict"]
            theirs.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
            agree, diff = agreement(ours, theirs, args.data, args.limit)
            rows.append(
                f"| {weights.name} | {weights.top1} | {result['top1']:.2f} | {result['top5']:.2f} "
                f"| {agree:.2f}% | {diff:.1e} |"
            )
            print(rows[-1], file=sys.stderr)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

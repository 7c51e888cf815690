"""Accuracy against compute for every published weight in the catalogue: one panel per data
set, top-1 as each source reports it against scalenet's analytic MACs at the weights' own
evaluation size (``scalenet.profile("arch.tag")``), one marker per source.

    python benchmarks/plot_catalogue.py [--out docs/img/accuracy_vs_macs.png]

The accuracies are the sources' figures (the catalogue's ``top1``), not measured here;
docs/zoo.md's results table has what ``scalenet validate`` measured.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import scalenet
from scalenet.weights.catalog import CATALOG, DATASETS


def group(weights: object) -> str:
    """The legend entry: the source for CIFAR and SVHN, the recipe family for ImageNet (every
    ImageNet file is one of timm's Hub repositories)."""
    tag, dataset, source = weights.tag, weights.dataset, weights.source  # type: ignore[attr-defined]
    if dataset != "imagenet-1k":
        return str(source).removeprefix("github.com/")
    if tag.startswith("tv"):
        return "torchvision's recipes (tv, tv2)"
    if tag.startswith("gluon"):
        return "GluonCV"
    if tag.startswith("fb_"):
        return "Facebook's semi/weakly supervised"
    return "timm's recipes (a1, a1h, a2, a3, ra...)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/accuracy_vs_macs.png"))
    args = parser.parse_args()
    points: dict[str, dict[str, list[tuple[float, float, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for weights in (w for rows in CATALOG.values() for w in rows):
        if weights.top1 is None:
            continue
        macs = scalenet.profile(weights.name).macs
        points[weights.dataset][group(weights)].append((macs / 1e9, weights.top1, weights.arch))
    datasets = [d for d in DATASETS if d in points]
    fig, grid = plt.subplots(2, 2, figsize=(12, 9))
    for ax, dataset in zip(grid.flat, datasets, strict=True):
        for source, rows in sorted(points[dataset].items()):
            rows.sort()
            ax.scatter([r[0] for r in rows], [r[1] for r in rows], label=source, s=18)
        ax.set_xscale("log")
        ax.set_xlabel("GMACs (scalenet.profile, at the weights' evaluation size)", fontsize=9)
        ax.set_ylabel("top-1 (%), as the source reports it", fontsize=9)
        name, split = DATASETS[dataset]
        ax.set_title(f"{name} ({split})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("scalenet's published weights: accuracy against compute")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}: {sum(len(r) for p in points.values() for r in p.values())} weights")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scaling study: train variants along depth, width, resolution and the compound rule, then
write a table and a plot of test accuracy against MACs.

    python examples/scaling_study.py                      # resnet20_cifar on digits, short runs
    python examples/scaling_study.py --data cifar10 --data-dir ../shared/data/cifar10 --epochs 3

Each variant is a config made by ``scalenet.scale`` / ``scalenet.compound_scale`` and trained
by ``examples/train.py`` (same flags); results go to ``--out``: ``results.md``,
``results.json`` and ``accuracy_vs_macs.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import train

import scalenet


def variants(base: scalenet.ResNetConfig) -> dict[str, scalenet.ResNetConfig]:
    """The base, one step along each axis, and one compound step."""
    return {
        "base": base,
        "depth x2": scalenet.scale(base, depth=2.0),
        "width x1.5": scalenet.scale(base, width=1.5),
        "resolution x1.5": scalenet.scale(base, resolution=1.5),
        "compound phi=1": scalenet.compound_scale(base, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet20_cifar", help="the base (a ResNet zoo name)")
    p.add_argument("--out", type=Path, default=Path("runs/scaling"))
    args, train_args = p.parse_known_args(argv)
    base = scalenet.get_config(args.model)
    if not isinstance(base, scalenet.ResNetConfig):
        print(f"error: {args.model} is not a ResNet; scaling is for ResNets", file=sys.stderr)
        return 2
    results = []
    for name, config in variants(base).items():
        folder = args.out / name.replace(" ", "_").replace("=", "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config.to_dict()))
        print(f"== {name}: depths {config.depths}, width {config.width}, {config.input_size} px")
        status = train.main(
            [
                "--config",
                str(folder / "config.json"),
                "--image-size",
                str(config.input_size),
                "--out",
                str(folder),
                *train_args,
            ]
        )
        if status:
            return status
        test = json.loads((folder / "test_metrics.json").read_text())["test"]
        cost = scalenet.profile(config)
        results.append(
            {
                "variant": name,
                "depths": list(config.depths),
                "width": config.width,
                "input_size": config.input_size,
                "params": cost.params,
                "macs": cost.macs,
                "top1": test["top1"],
            }
        )
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| variant | depths | width | input | params | MMACs | test top-1 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['variant']} | {r['depths']} | {r['width']} | {r['input_size']} | "
        f"{r['params']:,} | {r['macs'] / 1e6:.1f} | {100 * r['top1']:.2f}% |"
        for r in results
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(results, args.out / "accuracy_vs_macs.png")
    print(f"table: {args.out / 'results.md'}; plot: {args.out / 'accuracy_vs_macs.png'}")
    return 0


def plot(results: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        macs, top1 = float(r["macs"]) / 1e6, 100 * float(r["top1"])  # type: ignore[arg-type]
        ax.scatter(macs, top1)
        ax.annotate(str(r["variant"]), (macs, top1), textcoords="offset points", xytext=(4, 4))
    ax.set(
        xscale="log",
        xlabel="MMACs per image (log)",
        ylabel="test top-1 (%)",
        title="accuracy against compute",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

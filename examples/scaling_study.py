"""Scaling study: train a base ResNet, one step along each scaling axis and one compound step,
then write a table and a plot of test accuracy against MACs.

    python examples/scaling_study.py                      # resnet20_cifar on digits
    python examples/scaling_study.py --epochs 10 --warmup-epochs 1 --seeds 0 1 2
    python examples/scaling_study.py --data cifar10 --data-dir data --epochs 30

The variants are configs made by ``scalenet.scale`` (depth x2, width x1.5, resolution x1.5)
and ``scalenet.compound_scale(base, 1)``; each is trained by examples/train.py with the same
recipe, once per seed of --seeds. Every flag that this script does not define goes to train.py
(see ``python examples/train.py --help``: --data, --epochs, --lr, --warmup-epochs...), except
--seed (use --seeds), --image-size (each variant's input size), --config, --model and --out.
Results go to --out: ``results.md`` (test top-1 per variant: the mean over the seeds, and their
lowest and highest), ``results.json`` and ``accuracy_vs_macs.png``; each run in
``--out/<variant>/seed<n>``.

On a CPU the figures depend on the number of threads (``torch.get_num_threads()``), which
changes the order of floating-point sums: a run is reproduced exactly only with the same
threads on the same kind of CPU, otherwise it varies like another seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import torch
import train

import scalenet

OWN_FLAGS = ("--seed", "--image-size", "--config", "--model", "--out")


def variants(base: scalenet.ResNetConfig) -> dict[str, scalenet.ResNetConfig]:
    """The base, one step along each axis, and one compound step."""
    return {
        "base": base,
        "depth x2": scalenet.scale(base, depth=2.0),
        "width x1.5": scalenet.scale(base, width=1.5),
        "resolution x1.5": scalenet.scale(base, resolution=1.5),
        "compound phi=1": scalenet.compound_scale(base, 1),
    }


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=train.HelpFormatter,
        allow_abbrev=False,  # --seed must not be taken for --seeds
    )
    p.add_argument(
        "--model",
        default="resnet20_cifar",
        help="the base: a ResNet zoo name or a config JSON file (config.to_dict())",
    )
    p.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="train every variant once per seed"
    )
    p.add_argument("--out", type=Path, default=Path("runs/scaling"), help="output folder")
    args, train_args = p.parse_known_args(argv)
    for flag in train_args:
        if flag.split("=")[0] in OWN_FLAGS:
            what = "--seeds" if flag.startswith("--seed") else "this script's choice"
            raise train.Fail(f"{flag} is not passed to train.py here ({what} sets it)")
    return args, train_args


def main(argv: list[str] | None = None) -> int:
    try:
        args, train_args = parse_args(argv)
        if Path(args.model).is_file():
            base = scalenet.config_from_dict(json.loads(Path(args.model).read_text()))
        else:
            base = scalenet.get_config(args.model)
    except (train.Fail, scalenet.ScaleNetError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not isinstance(base, scalenet.ResNetConfig):
        print(f"error: {args.model} is not a ResNet; scaling is for ResNets", file=sys.stderr)
        return 2
    configs = variants(base)
    top1: dict[str, list[float]] = {name: [] for name in configs}
    for seed in args.seeds:  # a whole table per seed first
        for name, config in configs.items():
            variant = args.out / name.replace(" ", "_").replace("=", "")
            variant.mkdir(parents=True, exist_ok=True)
            (variant / "config.json").write_text(json.dumps(config.to_dict()))
            folder = variant / f"seed{seed}"
            print(
                f"== {name}: depths {config.depths}, width {config.width}, "
                f"{config.input_size} px, seed {seed}"
            )
            status = train.main(
                [
                    "--config", str(variant / "config.json"),
                    "--image-size", str(config.input_size),
                    "--seed", str(seed),
                    "--out", str(folder),
                    *train_args,
                ]
            )  # fmt: skip
            if status:
                return status
            metrics = json.loads((folder / "test_metrics.json").read_text())
            top1[name].append(metrics["test"]["top1"])
    results = []
    for name, config in configs.items():
        cost = scalenet.profile(config)
        results.append(
            {
                "variant": name,
                "depths": list(config.depths),
                "width": config.width,
                "input_size": config.input_size,
                "params": cost.params,
                "macs": cost.macs,
                "seeds": args.seeds,
                "top1_per_seed": top1[name],
                "top1": statistics.fmean(top1[name]),
                "top1_min": min(top1[name]),
                "top1_max": max(top1[name]),
            }
        )
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results, len(args.seeds))
    (args.out / "results.md").write_text(table)
    print(table, end="")
    print(f"(train.py {' '.join(train_args)}; {torch.get_num_threads()} torch threads)")
    plot(results, args.out / "accuracy_vs_macs.png")
    print(f"table: {args.out / 'results.md'}; plot: {args.out / 'accuracy_vs_macs.png'}")
    return 0


def markdown(results: list[dict[str, Any]], seeds: int) -> str:
    """The results as a Markdown table: one top-1 column per run for one seed, else the mean
    and the range over the seeds."""
    head = "| variant | depths | width | input | params | MMACs | test top-1 |"
    rule = "|---|---|---:|---:|---:|---:|---:|"
    if seeds > 1:
        head += f" lowest-highest ({seeds} seeds) |"
        rule += "---:|"
    lines = [head, rule]
    for r in results:
        line = (
            f"| {r['variant']} | {r['depths']} | {r['width']} | {r['input_size']} | "
            f"{r['params']:,} | {r['macs'] / 1e6:.1f} | {100 * r['top1']:.2f}% |"
        )
        if seeds > 1:
            line += f" {100 * r['top1_min']:.2f}-{100 * r['top1_max']:.2f}% |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib.pyplot as plt
    from plots import scaling_figure

    fig = scaling_figure(results)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

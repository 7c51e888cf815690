"""The ResNet paper's shortcut experiment: resnet20/56/110 against plain20/56/110 on CIFAR-10.

Runs examples/train.py once a model with the paper's recipe (160 epochs, SGD lr 0.1, momentum
0.9, weight decay 1e-4, batch 128, lr x0.1 at 50% and 75% of the run), several at a time, each in
``--out/<model>``. It is resumable: a run with ``test_metrics.json`` is done, one with
``last/`` continues with ``--resume`` (exactly), the others start. With ``--time-limit`` every
run stops, checkpointed, before the limit, so the experiment can go on across calls limited in
time: run the same command again until it says all runs are done. Then it writes
``results.md`` and ``results.json``.

    python examples/shortcut_study.py --data-dir data --out runs/shortcut \\
        --parallel 3 --time-limit 540

--data-dir is CIFAR-10 as examples/train.py reads it: the folder of torchvision's download
(``torchvision.datasets.CIFAR10("data", download=True)``), or train/ and test/ image folders
(or zips of them).
    python examples/shortcut_study.py ... -- --channels-last --amp   # flags for train.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MODELS = [f"{kind}{depth}_cifar" for depth in (20, 56, 110) for kind in ("resnet", "plain")]
RECIPE = [
    "--data", "cifar10", "--epochs", "160", "--batch-size", "128", "--opt", "sgd",
    "--lr", "0.1", "--momentum", "0.9", "--wd", "1e-4", "--schedule", "multistep",
    "--milestones", "0.5", "0.75",
]  # fmt: skip
TRAIN = Path(__file__).with_name("train.py")


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data-dir", type=Path, required=True, help="CIFAR-10, as train.py --data cifar10 reads it"
    )
    p.add_argument("--out", type=Path, default=Path("runs/shortcut"))
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--parallel", type=int, default=3, help="runs at a time (sharing a GPU)")
    p.add_argument("--time-limit", type=float, help="seconds for this call, all runs included")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv), extra


def state(run: Path) -> str:
    if (run / "test_metrics.json").is_file():
        return "done"
    if (run / "last" / "model.safetensors").is_file():  # a checkpoint of train.py
        return "resume"
    return "new"


def results(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for model in args.models:
        run = args.out / model
        if state(run) != "done":
            continue
        test = json.loads((run / "test_metrics.json").read_text())
        history = [json.loads(line) for line in (run / "metrics.jsonl").open()]
        rows.append(
            {
                "model": model,
                "test_top1": test["test"]["top1"],
                "best_val_top1": max(h["val_top1"] for h in history),
                "final_train_loss": history[-1]["train_loss"],
                "epochs": len(history),
                "train_seconds": sum(h["seconds"] for h in history),
            }
        )
    return rows


def write_results(args: argparse.Namespace, extra: list[str]) -> None:
    rows = results(args)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "CIFAR-10 as JPEG (quality ~75, 4:2:0): the paper's recipe gives ~87-88% for ResNet-20 "
        "on it; the paper's 91.25% is on the original images.",
        "",
        f"Recipe: `{' '.join(RECIPE + extra)} --seed {args.seed}`",
        "",
        "| model | test top-1 | test error | best val top-1 | final train loss | epochs | "
        "time (train + val) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['model']} | {100 * r['test_top1']:.2f}% | {100 - 100 * r['test_top1']:.2f}% "
        f"| {100 * r['best_val_top1']:.2f}% | {r['final_train_loss']:.4f} | {r['epochs']} "
        f"| {r['train_seconds'] / 60:.1f} min |"
        for r in rows
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    args, extra = parse_args(argv)
    began = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [m for m in args.models if state(args.out / m) != "done"]
    running: list[tuple[str, subprocess.Popen[bytes], Any]] = []
    while todo or running:
        left = None if args.time_limit is None else args.time_limit - (time.perf_counter() - began)
        while todo and len(running) < args.parallel and (left is None or left > 60):
            model = todo.pop(0)
            run = args.out / model
            cmd = [sys.executable, str(TRAIN), "--model", model, "--data-dir", str(args.data_dir)]
            cmd += [*RECIPE, "--seed", str(args.seed), "--out", str(run), *extra]
            if state(run) == "resume":
                cmd.append("--resume")
            if left is not None:
                cmd += ["--time-limit", str(int(left - 30))]  # start-up and the last save
            run.mkdir(parents=True, exist_ok=True)
            log = (run / "log.txt").open("ab")
            print(f"{state(run)}: {model}", flush=True)
            running.append((model, subprocess.Popen(cmd, stdout=log, stderr=log), log))
        if not running:
            break  # out of time before the next start
        time.sleep(2)
        for entry in list(running):
            model, proc, log = entry
            if proc.poll() is not None:
                log.close()
                running.remove(entry)
                status = state(args.out / model)
                print(f"{model}: exit {proc.returncode}, {status}", flush=True)
                if proc.returncode != 0:
                    print(f"  see {args.out / model / 'log.txt'}", flush=True)
    write_results(args, extra)
    done = [m for m in args.models if state(args.out / m) == "done"]
    print(f"{len(done)} of {len(args.models)} runs done; table: {args.out / 'results.md'}")
    if len(done) < len(args.models):
        print("run the same command again to continue (the runs resume from their last/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

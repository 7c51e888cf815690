"""Train and evaluate a scalenet model: one thin script for the classic experiments.

    python examples/train.py                                  # resnet20_cifar on digits, ~1 min
    python examples/train.py --data cifar10 --data-dir ../shared/data/cifar10 --epochs 3
    torchrun --nproc_per_node 2 examples/train.py --epochs 1   # DistributedDataParallel

It composes scalenet (models, weights), torchvision (data), torchmetrics (metrics), tqdm
(progress) and matplotlib (plots). Outputs in --out: metrics.jsonl, best/ and last/ (each a
``save_pretrained`` folder, pushable to the Hub as is), test_metrics.json and PNG plots.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torchmetrics
from data import DataError, load_data
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm
from training_state import exists, load_state, save_state

import scalenet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = p.add_mutually_exclusive_group()
    what.add_argument("--model", default="resnet20_cifar", help="a zoo name (scalenet list)")
    what.add_argument("--config", type=Path, help="a config JSON file (config.to_dict())")
    p.add_argument("--data", default="digits", choices=["digits", "cifar10", "imagefolder", "csv"])
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--csv-file", type=Path)
    p.add_argument("--image-size", type=int, help="input size (default: the data's)")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64, help="global batch size")
    p.add_argument("--opt", default="sgd", choices=["sgd", "adam", "adamw"])
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--wd", type=float, default=1e-4, help="weight decay")
    p.add_argument(
        "--schedule", default="cosine", choices=["step", "multistep", "cosine", "constant"]
    )
    p.add_argument(
        "--milestones",
        type=float,
        nargs="+",
        default=[0.5, 0.75],
        help="multistep: fractions of the run (<1) or epoch numbers",
    )
    p.add_argument("--step-size", type=int, default=30, help="step: epochs between decays")
    p.add_argument("--gamma", type=float, default=0.1, help="step/multistep decay factor")
    p.add_argument("--warmup-epochs", type=float, default=0.0)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--no-normalize", action="store_true")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--pretrained", action="store_true", help="start from published weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/train"))
    p.add_argument("--resume", action="store_true", help="continue from --out/last")
    p.add_argument("--amp", action="store_true", help="mixed precision (bf16 on CPU)")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--stop-after", type=int, help=argparse.SUPPRESS)  # simulate a kill (tests)
    return p.parse_args(argv)


class Fail(Exception):
    """A user error: printed as one line, exit status 2."""


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    return (dist.get_rank() if world > 1 else 0), world, device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(args: argparse.Namespace, classes: int, in_chans: int, size: int) -> nn.Module:
    fields = {"num_classes": classes, "in_chans": in_chans, "input_size": size}
    try:
        if args.config is not None:
            config = scalenet.config_from_dict(json.loads(args.config.read_text()))
            return config.replace(**fields).build()
        return scalenet.create(args.model, pretrained=args.pretrained, **fields)
    except (OSError, json.JSONDecodeError) as err:
        raise Fail(f"cannot read --config {args.config}: {err}") from None
    except scalenet.ScaleNetError as err:
        raise Fail(str(err)) from None


def make_scheduler(opt: torch.optim.Optimizer, args: argparse.Namespace, steps_per_epoch: int):  # type: ignore[no-untyped-def]
    total = args.epochs * steps_per_epoch
    warmup = int(args.warmup_epochs * steps_per_epoch)
    milestones = [m * total if m < 1 else m * steps_per_epoch for m in args.milestones]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if args.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
        if args.schedule == "step":
            return float(args.gamma ** (step // (args.step_size * steps_per_epoch)))
        if args.schedule == "multistep":
            return float(args.gamma ** sum(step >= m for m in milestones))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)  # stepped every batch


def metrics(classes: int, device: torch.device) -> torchmetrics.MetricCollection:
    kw: dict[str, Any] = {"task": "multiclass", "num_classes": classes}
    return torchmetrics.MetricCollection(
        {
            "loss": torchmetrics.MeanMetric(),
            "top1": torchmetrics.Accuracy(**kw),
            "top3": torchmetrics.Accuracy(**kw, top_k=min(3, classes)),
        }
    ).to(device)


def loader(
    data: Dataset, batch: int, world: int, train: bool, seed: int, workers: int, epoch: int = 0
) -> DataLoader:
    """Deterministic order: a generator seeded per epoch (or DistributedSampler.set_epoch)."""
    if world > 1:
        sampler = DistributedSampler(data, shuffle=train, seed=seed, drop_last=False)
        sampler.set_epoch(epoch)
        return DataLoader(data, batch_size=batch // world, sampler=sampler, num_workers=workers)
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    return DataLoader(
        data, batch_size=batch, shuffle=train, generator=generator, num_workers=workers
    )


def run_epoch(
    model: nn.Module,
    data: DataLoader,
    loss_fn: nn.Module,
    m: Any,
    device: torch.device,
    args: argparse.Namespace,
    opt: Any = None,
    sched: Any = None,
    show: bool = False,
    label: str = "",
) -> dict[str, float]:
    """One pass; trains when an optimizer is given. Returns metrics reduced over all ranks."""
    train = opt is not None
    model.train(train)
    m.reset()
    amp = torch.autocast(
        device.type, dtype=torch.bfloat16 if device.type == "cpu" else None, enabled=args.amp
    )
    with torch.set_grad_enabled(train):
        for x, y in tqdm(data, desc=label, disable=not show, leave=False):
            x, y = x.to(device), y.to(device)
            if args.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with amp:
                logits = model(x)
                loss = loss_fn(logits, y)
            if train:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            m["loss"].update(loss.detach().float(), weight=len(y))
            m["top1"].update(logits.detach().float(), y)
            m["top3"].update(logits.detach().float(), y)
    return {k: float(v) for k, v in m.compute().items()}


def plot(
    history: list[dict[str, Any]], confusion: torch.Tensor, classes: list[str], out: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "top1"), strict=True):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", label="val")
        ax.set(xlabel="epoch", ylabel=key, title=f"{key} per epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(confusion.numpy(), cmap="Blues")
    ax.set(
        xticks=range(len(classes)),
        yticks=range(len(classes)),
        xlabel="predicted",
        ylabel="true",
        title="test confusion matrix",
    )
    ax.set_xticklabels(classes, rotation=90)
    ax.set_yticklabels(classes)
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rank, world, device = setup_distributed()
    try:
        return train(args, rank, world, device)
    except (Fail, DataError) as err:
        if rank == 0:
            print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> int:
    if args.batch_size % world:
        raise Fail(f"--batch-size {args.batch_size} does not divide over {world} processes")
    seed_everything(args.seed)
    data = load_data(
        args.data,
        args.data_dir,
        image_size=args.image_size,
        seed=args.seed,
        val_fraction=args.val_fraction,
        augment=not args.no_augment,
        normalize=not args.no_normalize,
        csv_file=args.csv_file,
    )
    classes = len(data.classes)
    model = build_model(args, classes, data.in_chans, data.image_size).to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    core = model
    if args.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    params = core.parameters()
    if args.opt == "sgd":
        opt: Any = torch.optim.SGD(params, args.lr, momentum=args.momentum, weight_decay=args.wd)
    else:
        cls = torch.optim.Adam if args.opt == "adam" else torch.optim.AdamW
        opt = cls(params, args.lr, weight_decay=args.wd)
    steps = len(loader(data.train, args.batch_size, world, True, args.seed, 0))
    sched = make_scheduler(opt, args, steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    m = metrics(classes, device)
    out, show = args.out, rank == 0
    history: list[dict[str, Any]] = []
    start, best = 0, -1.0
    if args.resume:
        if not exists(out / "last"):
            raise Fail(f"--resume: no checkpoint in {out / 'last'}")
        scalenet.load_weights(core, out / "last" / "model.safetensors")
        state = load_state(out / "last")
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start, best, history = state["epoch"], state["best"], state["history"]
    elif show:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.jsonl").write_text("")
    for epoch in range(start, args.epochs):
        tic = time.perf_counter()
        tr = run_epoch(
            model,
            loader(data.train, args.batch_size, world, True, args.seed, args.workers, epoch),
            loss_fn,
            m,
            device,
            args,
            opt,
            sched,
            show,
            f"epoch {epoch + 1}/{args.epochs}",
        )
        seconds = time.perf_counter() - tic
        va = run_epoch(
            model,
            loader(data.val, args.batch_size, world, False, args.seed, args.workers),
            loss_fn,
            m,
            device,
            args,
        )
        row = {
            "epoch": epoch + 1,
            **{f"train_{k}": v for k, v in tr.items()},
            **{f"val_{k}": v for k, v in va.items()},
            "lr": sched.get_last_lr()[0],
            "images_per_s": len(data.train) / seconds,
        }
        history.append(row)
        if show:
            print(
                json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
            )
            with (out / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")
            if va["top1"] > best:
                best = va["top1"]
                core.save_pretrained(out / "best", metrics={"val_top1": best})
            core.save_pretrained(out / "last")
            save_state(
                out / "last",
                optimizer=opt.state_dict(),
                scheduler=sched.state_dict(),
                epoch=epoch + 1,
                best=best,
                history=history,
            )
        if world > 1:
            dist.barrier()  # rank 0 has written the checkpoints
        if args.stop_after is not None and epoch + 1 >= args.stop_after:
            return 0  # as if killed here: the last checkpoint is complete
    # Test the best checkpoint.
    scalenet.load_weights(core, out / "best" / "model.safetensors")
    te = run_epoch(
        model,
        loader(data.test, args.batch_size, world, False, args.seed, args.workers),
        loss_fn,
        m,
        device,
        args,
    )
    per_class = torchmetrics.Accuracy(task="multiclass", num_classes=classes, average=None)
    confusion = torchmetrics.ConfusionMatrix(task="multiclass", num_classes=classes)
    core.eval()
    with torch.no_grad():
        for x, y in loader(data.test, args.batch_size, world, False, args.seed, args.workers):
            pred = core(x.to(device)).cpu()
            per_class.update(pred, y)
            confusion.update(pred, y)
    per = per_class.compute()
    matrix = confusion.compute()
    if show:
        result = {
            "test": te,
            "per_class": dict(zip(data.classes, per.tolist(), strict=True)),
            "confusion": matrix.tolist(),
            "classes": data.classes,
        }
        (out / "test_metrics.json").write_text(json.dumps(result, indent=2))
        plot(history, matrix, data.classes, out)
        print(
            f"test accuracy: {100 * te['top1']:.2f}% (top-3 {100 * te['top3']:.2f}%, "
            f"loss {te['loss']:.3f}); best model in {out / 'best'}; plots: "
            f"{out / 'curves.png'}, {out / 'confusion.png'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Is examples/train.py's input pipeline fast enough to keep the model busy?

Measures, in one run, for a model (default resnet20_cifar) at batch 128 on CIFAR-10 in any
layout that examples/train.py reads (--data-dir: torchvision's download, the folder holding
cifar-10-batches-py; train/ and test/ class folders of images; or train.zip and test.zip of
them; the figures in docs/benchmarks.md are from zips of JPEG files):

- the one-time decode of the whole data set into memory (``--pipeline memory``);
- images/s of (a) the input pipeline alone: the in-memory path (crop, flip, normalise on the
  device), the DataLoader path of train.py (persistent workers), and the DataLoader pipeline as
  train.py had it before (PIL decoding and torchvision augmentation per image on the CPU,
  workers started every epoch); (b) model compute alone (forward, backward, SGD step) on one
  synthetic batch already on the device; (c) the full training loop on the in-memory path;
- the ratios to compute alone: (c)/(b) near 1 means the model never waits for data.

    python benchmarks/train_loop.py --data-dir data              # CPU
    python benchmarks/train_loop.py --data-dir data --device cuda \\
        --steps 300 --channels-last --amp                        # a GPU

Nothing synchronises with the device inside a timed loop; a CUDA timing ends with
``torch.cuda.synchronize()``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
import data as example_data
from pipeline import EpochSampler, MemoryBatches, loader_batches
from torch.utils.data import DataLoader

import scalenet


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="CIFAR-10: the folder holding torchvision's cifar-10-batches-py, train/ and test/ "
        "image folders, or train.zip and test.zip",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--model", default="resnet20_cifar")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=30, help="timed training steps, (b) and (c)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--pipeline-epochs", type=int, default=1, help="timed epochs of (a)")
    p.add_argument("--old-steps", type=int, default=40, help="timed batches of the old path")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (old, loader)")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast, as train.py --amp")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--skip-old", action="store_true", help="skip the two DataLoader paths")
    return p.parse_args()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(batches: Iterable[Any], device: torch.device, limit: int | None = None) -> float:
    """Images/s of iterating ``batches`` (each ``(x, y)``), at most ``limit`` batches."""
    sync(device)
    tic, images = time.perf_counter(), 0
    for i, (x, _) in enumerate(batches):
        x = x.to(device, non_blocking=True)
        images += len(x)
        if limit is not None and i + 1 >= limit:
            break
    sync(device)
    return images / (time.perf_counter() - tic)


def trainer(args: argparse.Namespace, device: torch.device) -> Callable[[Any, Any], None]:
    model: nn.Module = scalenet.create(args.model, num_classes=10).to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    step_model = torch.compile(model) if args.compile else model
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
            loss = loss_fn(step_model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def train_rate(
    step: Callable[[Any, Any], None],
    batches: Callable[[], Iterable[Any]],
    steps: int,
    warmup: int,
    device: torch.device,
) -> float:
    """Images/s of ``steps`` training steps on the batches, after ``warmup`` untimed ones."""
    it = iter(_cycle(batches))
    for _ in range(warmup):
        step(*next(it))
    sync(device)
    tic, images = time.perf_counter(), 0
    for _ in range(steps):
        x, y = next(it)
        step(x, y)
        images += len(x)
    sync(device)
    return images / (time.perf_counter() - tic)


def _cycle(make: Callable[[], Iterable[Any]]) -> Iterable[Any]:
    while True:
        yield from make()


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    tic = time.perf_counter()
    bundle = example_data.load_data(
        "cifar10", args.data_dir, in_memory=True, workers=min(8, os.cpu_count() or 1)
    )
    total = len(bundle.train) + len(bundle.val) + len(bundle.test)
    print(
        f"decode: {total} images into memory in {bundle.decode_seconds:.1f} s "
        f"({total / bundle.decode_seconds:,.0f} images/s); load_data total "
        f"{time.perf_counter() - tic:.1f} s (with the mean/std pass)"
    )
    sampler = EpochSampler(len(bundle.train), 0, True)
    memory = MemoryBatches(
        bundle.train, args.batch_size, sampler, device, bundle.mean, bundle.std,
        pad=bundle.pad, flip=bundle.flip,
    )  # fmt: skip
    rows: list[tuple[str, float]] = []
    rate(memory, device)  # warm-up: first touch of the images, device copies
    epochs = []
    for e in range(args.pipeline_epochs):
        sampler.set_epoch(e + 1)
        epochs.append(rate(memory, device))
    rows.append(("(a) input pipeline alone: in memory, augmented on the device", max(epochs)))
    if not args.skip_old:
        example_data.STATS_MAX_IMAGES = 500  # the statistics do not matter here
        files = example_data.load_data("cifar10", args.data_dir)
        loader = loader_batches(
            files.train, args.batch_size, EpochSampler(len(files.train), 0, True), device,
            args.workers, files.mean, files.std, files.pad, files.flip,
        )  # fmt: skip
        rate(loader, device, 5)  # starts the persistent workers
        rows.append(
            (
                f"(a) input pipeline alone: DataLoader, {args.workers} persistent workers",
                rate(loader, device, args.old_steps),
            )
        )
        g = torch.Generator().manual_seed(0)
        old = DataLoader(
            files.train, batch_size=args.batch_size, shuffle=True, generator=g,
            num_workers=args.workers,
        )  # fmt: skip
        jpeg, example_data.decode_jpeg = example_data.decode_jpeg, None  # PIL, as before
        rows.append(
            (
                f"(a) input pipeline alone: the old DataLoader ({args.workers} workers started "
                "each epoch, PIL decoding, torchvision transforms)",
                rate(old, device, args.old_steps),
            )
        )
        example_data.decode_jpeg = jpeg
    step = trainer(args, device)
    x = torch.randn(args.batch_size, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch_size,), device=device)
    compute = train_rate(step, lambda: [(x, y)], args.steps, args.warmup, device)
    rows.append(("(b) model compute alone, one synthetic batch on the device", compute))
    full = train_rate(step, lambda: memory, args.steps, args.warmup, device)
    rows.append(("(c) full training loop, in-memory pipeline", full))

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    flags = " ".join(f"--{k}" for k in ("amp", "channels_last", "compile") if getattr(args, k))
    print(
        f"\n{args.model}, batch {args.batch_size}, {name}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads {flags}\n"
    )
    print("| measurement | images/s | / compute alone |")
    print("|---|---:|---:|")
    for label, value in rows:
        print(f"| {label} | {value:,.0f} | {value / compute:.2f} |")


if __name__ == "__main__":
    main()

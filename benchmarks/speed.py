"""Speed of scalenet models against the references, in one run, as median ratios.

    python benchmarks/speed.py [--repeats 15] [--quick]

Ratios are reference time / scalenet time (>= 1.0: scalenet is no slower). Every comparison
interleaves the two models run by run (so drift in machine load hits both) and reports the
median ratio over ``--repeats`` runs after warm-up.

1. forward (eval, no_grad) and forward+backward (train) at batch 8, 224 px: scalenet's resnet18
   and resnet50 against torchvision's and timm's;
2. resnet56_cifar against a straightforward CIFAR ResNet-56 written out below (option A), batch
   128 at 32 px;
3. the inference fast path ``scalenet.optimize_for_inference`` (BN folded, channels_last)
   against torchvision's eager model;
4. ``scalenet.from_pretrained`` of resnet50 against loading the same safetensors file directly
   (the floor) and against ``timm.create_model(pretrained=True)`` from the same local file.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import safetensors.torch
import timm
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import scalenet


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ratio(reference: Callable[[], object], ours: Callable[[], object], repeats: int) -> float:
    """Median of reference/ours over interleaved runs, after one warm-up each."""
    reference(), ours()
    return statistics.median(timed(reference) / timed(ours) for _ in range(repeats))


def forward(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    model.eval()

    def run() -> object:
        with torch.no_grad():
            return model(x)

    return run


def train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    model.train()
    y = torch.zeros(x.shape[0], dtype=torch.long)

    def run() -> object:
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    return run


class _Block(nn.Module):
    """The CIFAR ResNet block as commonly written (option-A shortcut as a lambda-like pad)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.pad >= 0:
            x = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + x)


class ReferenceResNet56(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for j in range(9):
                layers.append(_Block(cin, cout, stride if j == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="resnet18 only, fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else args.repeats
    torch.manual_seed(0)
    print(
        f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}, timm {timm.__version__}, "
        f"scalenet {scalenet.__version__}; median of {repeats} interleaved runs"
    )
    print(f"{'comparison':<52}{'ratio':>8}")

    x = torch.randn(8, 3, 224, 224)
    for name in ("resnet18",) if args.quick else ("resnet18", "resnet50"):
        ours = scalenet.create(name)
        tv = getattr(torchvision.models, name)()
        tm = timm.create_model(name)
        for label, make in (("forward", forward), ("forward+backward", train_step)):
            for ref_name, ref in (("torchvision", tv), ("timm", tm)):
                r = ratio(make(ref, x), make(ours, x), repeats)
                print(f"{name} {label} vs {ref_name} (batch 8)".ljust(52) + f"{r:>8.3f}")
        fast = scalenet.optimize_for_inference(ours.eval())
        r = ratio(forward(tv, x), forward(fast, x), repeats)
        print(f"{name} optimize_for_inference vs torchvision eager".ljust(52) + f"{r:>8.3f}")

    xc = torch.randn(128, 3, 32, 32)
    ours56, ref56 = scalenet.create("resnet56_cifar"), ReferenceResNet56()
    for label, make in (("forward", forward), ("forward+backward", train_step)):
        r = ratio(make(ref56, xc), make(ours56, xc), repeats)
        print(f"resnet56_cifar {label} vs reference (batch 128)".ljust(52) + f"{r:>8.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = scalenet.create("resnet50").save_pretrained(Path(tmp) / "r50")
        weights = folder / "model.safetensors"

        def raw() -> object:
            return safetensors.torch.load_file(str(weights))

        def ours_load() -> object:
            return scalenet.from_pretrained(folder)

        def timm_load() -> object:
            return timm.create_model(
                "resnet50", pretrained=True, pretrained_cfg_overlay={"file": str(weights)}
            )

        t_raw = statistics.median(timed(raw) for _ in range(repeats))
        t_ours = statistics.median(timed(ours_load) for _ in range(repeats))
        t_timm = statistics.median(timed(timm_load) for _ in range(repeats))
        print(
            "from_pretrained(resnet50) / raw safetensors load".ljust(52) + f"{t_ours / t_raw:>8.3f}"
        )
        print(
            "timm.create_model(pretrained) / from_pretrained".ljust(52) + f"{t_timm / t_ours:>8.3f}"
        )
        print(
            f"  (raw {1e3 * t_raw:.0f} ms, from_pretrained {1e3 * t_ours:.0f} ms, "
            f"timm {1e3 * t_timm:.0f} ms)"
        )


if __name__ == "__main__":
    main()

"""Speed of scalenet models against the references, in one run, as median ratios.

    python benchmarks/speed.py [--repeats 15] [--quick] [--part loading]

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
   (the floor) and against ``timm.create_model(pretrained=True)`` from the same local file,
   with its parts (the reader, building the module tree) and torchvision's ``resnet50()`` on the
   meta device for scale; ``--part loading`` runs this section alone.
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
    """Median of reference/ours over interleaved runs (which goes first alternates), after
    one warm-up each."""
    reference(), ours()
    ratios = []
    for i in range(repeats):
        if i % 2:
            t_ours, t_ref = timed(ours), timed(reference)
        else:
            t_ref, t_ours = timed(reference), timed(ours)
        ratios.append(t_ref / t_ours)
    return statistics.median(ratios)


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


def touch(state: dict[str, torch.Tensor]) -> float:
    """Read every byte once (the mapped pages are faulted in on first use)."""
    return sum(float(t.sum()) for t in state.values() if t.is_floating_point())


def loading(repeats: int) -> None:
    """from_pretrained(resnet50) against the raw safetensors load and timm, same local file."""
    from scalenet._skeleton import skeleton
    from scalenet.weights import read_state_dict

    with tempfile.TemporaryDirectory() as tmp:
        folder = scalenet.create("resnet50").save_pretrained(Path(tmp) / "r50")
        weights = folder / "model.safetensors"
        config = scalenet.get_config("resnet50")

        def tv_meta() -> object:
            with torch.device("meta"):
                return torchvision.models.resnet50()

        runs: dict[str, Callable[[], object]] = {
            "raw safetensors.torch.load_file": lambda: safetensors.torch.load_file(str(weights)),
            "scalenet.from_pretrained": lambda: scalenet.from_pretrained(folder),
            "timm.create_model(pretrained=True)": lambda: timm.create_model(
                "resnet50", pretrained=True, pretrained_cfg_overlay={"file": str(weights)}
            ),
            "  raw load, then every weight read once": lambda: touch(
                safetensors.torch.load_file(str(weights))
            ),
            "  from_pretrained, then every weight read once": lambda: touch(
                scalenet.from_pretrained(folder).state_dict()
            ),
            "  part: scalenet's reader (read_state_dict)": lambda: read_state_dict(weights),
            "  part: module tree on meta, no init (skeleton)": lambda: skeleton(config),
            "  for scale: torchvision resnet50() on meta": tv_meta,
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        for fn in runs.values():
            fn()  # warm-up
        for _ in range(repeats):
            for label, fn in runs.items():
                times[label].append(timed(fn))
        median = {k: statistics.median(v) for k, v in times.items()}
        raw, ours = median["raw safetensors.torch.load_file"], median["scalenet.from_pretrained"]
        print(f"from_pretrained(resnet50) / raw safetensors load{'':<4}{ours / raw:>8.3f}")
        print(f"timm.create_model(pretrained) / from_pretrained{'':<5}"
              f"{median['timm.create_model(pretrained=True)'] / ours:>8.3f}")  # fmt: skip
        for label, t in median.items():
            print(f"  {label:<50}{1e3 * t:>7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="resnet18 only, fewer repeats")
    parser.add_argument("--part", choices=("all", "loading"), default="all")
    args = parser.parse_args()
    repeats = 5 if args.quick else args.repeats
    torch.manual_seed(0)
    print(
        f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}, timm {timm.__version__}, "
        f"scalenet {scalenet.__version__}; median of {repeats} interleaved runs"
    )
    print(f"{'comparison':<52}{'ratio':>8}")

    if args.part == "loading":
        loading(repeats)
        return
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

    loading(repeats)


if __name__ == "__main__":
    main()

"""Speed of scalenet models against the references, in one run, as median ratios.

    python benchmarks/speed.py [--repeats 15] [--quick] [--part variants|loading|saving]

Ratios are reference time / scalenet time (>= 1.0: scalenet is no slower). Every comparison
interleaves the two models run by run (so drift in machine load hits both) and reports the
median ratio over ``--repeats`` runs after warm-up.

1. forward (eval, no_grad) and forward+backward (train) at batch 8, 224 px: scalenet's resnet18
   and resnet50 against torchvision's and timm's;
2. one model of each ResNet variant (``VARIANTS``: ResNeXt, wide, ResNet-D, pre-activation,
   WRN) against its reference implementation (torchvision, timm, pytorchcv), forward (eval,
   no_grad) at batch 8, 224 px (the CIFAR nets: batch 128 at 32 px, the WRN-28-10 batch 16),
   both models holding the same weights (the reference's state_dict loaded into scalenet's);
   ``--part variants`` runs this section alone;
3. resnet56_cifar against a straightforward CIFAR ResNet-56 written out below (option A), batch
   128 at 32 px;
4. the inference fast path ``scalenet.optimize_for_inference`` (BN folded, channels_last)
   against torchvision's eager model;
5. ``scalenet.from_pretrained`` of resnet50 against doing its job by hand without any check
   (``safetensors.torch.load_file``, then ``load_state_dict(assign=True)`` into torchvision's
   resnet50 built on the meta device), against loading the file alone (the floor) and against
   ``timm.create_model(pretrained=True)`` from the same local file, with its parts (the
   reader, building the module tree) and torchvision's ``resnet50()`` on the meta device for
   scale, and scalenet's copying reader against the mapped, zero-copy reader it replaced
   (load only, and with every weight then read once); ``--part loading`` runs this section
   alone;
6. ``save_pretrained`` of resnet50 (all or nothing: fsync, then renames) against
   ``safetensors.torch.save_file`` and ``torch.save`` of the same state_dict; ``--part saving``.
"""

from __future__ import annotations

import argparse
import collections
import json
import mmap
import platform
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import safetensors.torch
import timm
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

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


State = dict[str, torch.Tensor]


class Variant(NamedTuple):
    """One row of the variants table: a scalenet zoo entry against its reference."""

    name: str  # scalenet.create(name)
    reference: str  # who wrote the reference, for the printed label
    build: Callable[[], nn.Module]  # the reference model, randomly initialised
    input_shape: tuple[int, int, int, int] = (8, 3, 224, 224)
    convert: Callable[[State], State] | None = None  # its state_dict in scalenet's names


def pytorchcv(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from pytorchcv.model_provider import get_model

        model: nn.Module = get_model(name, pretrained=False)
        return model

    return build


def from_pytorchcv(state: State) -> State:
    from scalenet.weights.layouts import from_pytorchcv as convert

    return convert(state)


#: One line per variant; a CIFAR net gives its own ``input_shape``.
VARIANTS = (
    Variant("resnext50_32x4d", "torchvision", torchvision.models.resnext50_32x4d),
    Variant("wide_resnet50_2", "torchvision", torchvision.models.wide_resnet50_2),
    Variant("resnet50d", "timm", lambda: timm.create_model("resnet50d")),
    Variant("preresnet56_cifar", "pytorchcv", pytorchcv("preresnet56_cifar10"), (128, 3, 32, 32),
            from_pytorchcv),
    Variant("wrn28_10_cifar", "pytorchcv", pytorchcv("wrn28_10_cifar10"), (16, 3, 32, 32),
            from_pytorchcv),
)  # fmt: skip


class CountOps(TorchDispatchMode):
    """Counts the ATen operators a forward pass calls (``aten.convolution``: 53...)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.calls[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def logits_and_ops(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, int]]:
    with torch.no_grad(), CountOps() as ops:
        out = model(x)
    return out, dict(ops.calls)


def variants(repeats: int) -> None:
    """Forward of one model per ResNet variant against its reference, same weights and input;
    first checks that both give the same logits, and says whether they call the same ATen
    operators the same number of times (then any difference in time is not in the model)."""
    for row in VARIANTS:
        ref = row.build().eval()
        ours = scalenet.create(row.name).eval()
        state = ref.state_dict()
        ours.load_state_dict(row.convert(state) if row.convert else state)  # same numbers
        x = torch.randn(row.input_shape)
        (ours_out, ours_ops), (ref_out, ref_ops) = logits_and_ops(ours, x), logits_and_ops(ref, x)
        diff = (ours_out - ref_out).abs().max().item()
        scale = max(1.0, ref_out.abs().max().item())
        if diff > 1e-5 * scale:  # the comparison is only fair if both compute the same thing
            raise SystemExit(f"{row.name}: logits differ from {row.reference}'s by {diff:.3g}")
        r = ratio(forward(ref, x), forward(ours, x), repeats)
        label = f"{row.name} forward vs {row.reference} (batch {row.input_shape[0]})"
        print(label.ljust(52) + f"{r:>8.3f}")
        if ours_ops == ref_ops:
            convs = ours_ops.get("aten.convolution", 0)
            print(f"  same ATen calls ({sum(ours_ops.values())}, {convs} convolutions)")
        else:
            differ = {k: (ours_ops.get(k, 0), ref_ops.get(k, 0)) for k in ours_ops | ref_ops}
            print(
                "  ATen calls differ (scalenet, reference):",
                {k: v for k, v in differ.items() if v[0] != v[1]},
            )


def touch(state: dict[str, torch.Tensor]) -> float:
    """Read every byte once (the mapped pages are faulted in on first use), single-threaded:
    torch's parallel sums, one per tensor, would time its thread pool instead (on a busy
    machine they cost 5-30x more)."""
    return sum(
        float(np.add.reduce(t.numpy(), axis=None)) for t in state.values() if t.is_floating_point()
    )


def mapped_reader(path: Path) -> dict[str, torch.Tensor]:
    """The reader scalenet used before 0.2: zero-copy views of a private mapping of the file.

    Kept here as the reference for the copy-on-load decision (docs/hub.md): it costs no copy,
    but a loaded model then changes when the file is rewritten in place, and dies of SIGBUS
    when it is truncated.
    """
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        header.pop("__metadata__", None)
        mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
    names = {"F32": torch.float32, "I64": torch.int64}
    state = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = torch.frombuffer(
            mapping, dtype=torch.uint8, count=end - begin, offset=8 + length + begin
        )
        if raw.data_ptr() % 64:
            raw = raw.clone()
        state[name] = raw.view(names[info["dtype"]]).reshape(info["shape"])
    return state


def saving(repeats: int) -> None:
    """save_pretrained(resnet50) (all or nothing: fsync and renames) against plain writers."""
    model = scalenet.create("resnet50")
    state = model.state_dict()
    with tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, Callable[[], object]] = {
            "safetensors.torch.save_file": lambda: safetensors.torch.save_file(
                state, f"{tmp}/plain.safetensors"
            ),
            "torch.save": lambda: torch.save(state, f"{tmp}/plain.pt"),
            "scalenet save_pretrained": lambda: model.save_pretrained(f"{tmp}/ours"),
        }
        median = interleaved(runs, repeats)
        ours = median["scalenet save_pretrained"]
        print(f"save_pretrained(resnet50) / safetensors save_file{'':<3}"
              f"{ours / median['safetensors.torch.save_file']:>8.3f}")  # fmt: skip
        for label, t in median.items():
            print(f"  {label:<50}{1e3 * t:>7.1f} ms")


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median time of each run, the runs interleaved (after one warm-up each)."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():
        fn()  # warm-up
    for _ in range(repeats):
        for label, fn in runs.items():
            times[label].append(timed(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def loading(repeats: int) -> None:
    """from_pretrained(resnet50) against the raw safetensors load and timm, same local file."""
    from scalenet.io.weights import read_state_dict
    from scalenet.nn.skeleton import skeleton

    with tempfile.TemporaryDirectory() as tmp:
        folder = scalenet.create("resnet50").save_pretrained(Path(tmp) / "r50")
        weights = folder / "model.safetensors"
        config = scalenet.get_config("resnet50")

        def tv_meta() -> object:
            with torch.device("meta"):
                return torchvision.models.resnet50()

        def raw_into_meta() -> object:  # the whole job done by hand, without any check
            state = safetensors.torch.load_file(str(weights))
            model = tv_meta()
            model.load_state_dict(state, assign=True)  # type: ignore[attr-defined]
            return model

        runs: dict[str, Callable[[], object]] = {
            "raw load_file + torchvision on meta, assign=True": raw_into_meta,
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
            "  before 0.2: the mapped, zero-copy reader": lambda: mapped_reader(weights),
            "  scalenet's reader, then every weight read once": lambda: touch(
                read_state_dict(weights)
            ),
            "  mapped reader, then every weight read once": lambda: touch(mapped_reader(weights)),
            "  part: module tree on meta, no init (skeleton)": lambda: skeleton(config),
            "  for scale: torchvision resnet50() on meta": tv_meta,
        }
        median = interleaved(runs, repeats)
        raw, ours = median["raw safetensors.torch.load_file"], median["scalenet.from_pretrained"]
        by_hand = median["raw load_file + torchvision on meta, assign=True"]
        print(f"from_pretrained(resnet50) / raw load into meta model{'':<0}{ours / by_hand:>8.3f}")
        print(f"from_pretrained(resnet50) / raw safetensors load{'':<4}{ours / raw:>8.3f}")
        print(f"timm.create_model(pretrained) / from_pretrained{'':<5}"
              f"{median['timm.create_model(pretrained=True)'] / ours:>8.3f}")  # fmt: skip
        for what, ours_key, mapped_key in (
            ("load only", "  part: scalenet's reader (read_state_dict)", "  before 0.2: the mapped"
             ", zero-copy reader"),
            ("then used", "  scalenet's reader, then every weight read once",
             "  mapped reader, then every weight read once"),
        ):  # fmt: skip
            ratio_ = median[ours_key] / median[mapped_key]
            print(f"copying reader / mapped reader ({what}){'':<12}{ratio_:>8.3f}")
        for label, t in median.items():
            print(f"  {label:<50}{1e3 * t:>7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="resnet18 only in 1, 5 repeats")
    parser.add_argument("--part", choices=("all", "variants", "loading", "saving"), default="all")
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
    if args.part == "saving":
        saving(repeats)
        return
    if args.part == "variants":
        variants(repeats)
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
    variants(repeats)

    xc = torch.randn(128, 3, 32, 32)
    ours56, ref56 = scalenet.create("resnet56_cifar"), ReferenceResNet56()
    for label, make in (("forward", forward), ("forward+backward", train_step)):
        r = ratio(make(ref56, xc), make(ours56, xc), repeats)
        print(f"resnet56_cifar {label} vs reference (batch 128)".ljust(52) + f"{r:>8.3f}")

    loading(repeats)
    saving(repeats)


if __name__ == "__main__":
    main()

"""Small shared test helpers."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import torch
from torch import nn

import scalenet

# The zoo's nets that others represent, by timm name, each with its representatives: the same
# module types wired the same way, with other numbers (blocks per stage, width, widen_factor,
# groups, base_width, input size), which
# test_timm_interface.py::test_represented_nets_have_their_representatives_modules checks for
# each. A check whose outcome follows from the modules (the timm interface, counting, export)
# runs on the representatives in the default run, and on the represented nets too under the
# sweep marker (``swept``), which .ci/run runs.
_RESNET18 = ("scalenet_resnet18",)
_RESNET50 = ("scalenet_resnet50",)
_V2_50 = "scalenet_resnetv2_50"
BIG: dict[str, tuple[str, ...]] = {
    # The ImageNet ResNets: resnet18's basic blocks and resnet50's bottlenecks.
    "scalenet_resnet34": _RESNET18,
    "scalenet_resnet26": _RESNET50,
    "scalenet_resnet101": _RESNET50,
    "scalenet_resnet152": _RESNET50,
    "scalenet_d3333": _RESNET18,
    **{f"scalenet_w{w}": _RESNET18 for w in (48, 64, 80, 96, 128)},
    **{f"scalenet_b{phi}": _RESNET18 for phi in range(5)},
    # ResNeXts and wide ResNets: ResNeXt-50's grouped bottlenecks (another count or width).
    "scalenet_resnext101_32x8d": ("scalenet_resnext50_32x4d",),
    "scalenet_resnext101_64x4d": ("scalenet_resnext50_32x4d",),
    "scalenet_wide_resnet50_2": ("scalenet_resnext50_32x4d",),
    "scalenet_wide_resnet101_2": ("scalenet_resnext50_32x4d",),
    # The ResNet-Ds: resnet18d's and resnet50d's modules, more blocks a stage.
    "scalenet_resnet34d": ("scalenet_resnet18d",),
    "scalenet_resnet26d": ("scalenet_resnet50d",),
    "scalenet_resnet101d": ("scalenet_resnet50d",),
    "scalenet_resnet152d": ("scalenet_resnet50d",),
    "scalenet_resnet200d": ("scalenet_resnet50d",),
    # The ImageNet pre-activation ResNets.
    "scalenet_resnetv2_34": ("scalenet_resnetv2_18",),
    "scalenet_resnetv2_34d": ("scalenet_resnetv2_18d",),
    "scalenet_resnetv2_101": (_V2_50,),
    # The CIFAR nets: the 20-layer one of each shortcut kind; bottleneck ones also take
    # their bottleneck from an ImageNet net.
    **{f"resnet{d}_cifar": ("resnet20_cifar",) for d in (32, 44, 56, 110, 1202)},
    **{f"resnet{d}_cifar_proj": ("resnet20_cifar_proj",) for d in (32, 44, 56, 110, 1202)},
    "resnet1001_cifar_proj": ("resnet20_cifar_proj", "scalenet_resnet50"),
    **{f"plain{d}_cifar": ("plain20_cifar",) for d in (32, 44, 56, 110)},
    **{f"preresnet{d}_cifar": ("preresnet20_cifar",) for d in (56, 110, 1202)},
    **{f"preresnet{d}_cifar": ("preresnet20_cifar", _V2_50) for d in (164, 272, 542, 1001)},
    # WRNs: pre-activation basic blocks, widen_factor apart.
    **{f"wrn{d}_cifar": ("preresnet20_cifar",) for d in ("16_10", "28_10", "40_8")},
    # CIFAR ResNeXts: the CIFAR projection nets' stem and shortcuts, ResNeXt-50's blocks.
    **{
        f"resnext{n}_cifar": ("resnet20_cifar_proj", "scalenet_resnext50_32x4d")
        for n in ("29_32x4d", "29_16x64d", "272_1x64d", "272_2x32d")
    },
}


def swept(names: Iterable[str]) -> list[Any]:
    """``names`` (zoo or timm names) as pytest parameters, those whose entry is in BIG marked
    ``sweep``: deselected by the default run, run by ``pytest -m sweep``."""
    timm_name = {e.name: e.timm_name for e in scalenet.zoo.ZOO.values()}
    return [
        pytest.param(n, marks=pytest.mark.sweep) if timm_name.get(n, n) in BIG else n for n in names
    ]


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Seeded weights, with every BatchNorm's affine and running statistics off the identity
    (a fresh BN in eval mode would hide a wrong channel order or a misplaced BN); eval mode."""
    nn = torch.nn
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.01)
                m.bias.normal_(0, 0.01)
    return model.eval()


@contextlib.contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    """Fail with ``TimeoutError`` if the block runs longer than ``seconds`` (a hang is a failure,
    not a stuck test run). Main thread only (SIGALRM)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fvcore_conv_linear(model: nn.Module, size: int, in_chans: int = 3, batch: int = 1) -> int:
    """fvcore's conv + linear counts (its 'flops' for these ops are multiply-accumulates)."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model.eval(), torch.randn(batch, in_chans, size, size))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops = analysis.by_operator()
    return int(ops.get("conv", 0) + ops.get("linear", 0) + ops.get("addmm", 0))

"""``python -m scalenet``: build the CIFAR ResNet-20 of the ResNet paper and print its summary.

A stand-in for the ``scalenet`` command, which replaces it.
"""

from __future__ import annotations

import torch

from .builders import resnet
from .plan import output_stride, plan


def main() -> None:
    """Build ResNet-20 (CIFAR, option A), check it on a real batch and print its stages."""
    model = resnet(depths=(3, 3, 3), width=16, stem="cifar", downsample="pad").eval()
    cfg = model.config
    print(f"resnet20_cifar: {cfg}")
    print(f"{'stage':<10}{'output (C x H x W)':>22}{'params':>12}")
    specs = plan(cfg)
    groups = {"stem": ("conv1", "bn1", "relu"), "layer1": ("layer1",), "layer2": ("layer2",)}
    groups |= {"layer3": ("layer3",), "head": ("avgpool", "flatten", "fc")}
    for group, prefixes in groups.items():

        def member(name: str, prefixes: tuple[str, ...] = prefixes) -> bool:
            return name.split(".")[0] in prefixes

        last = [s for s in specs if member(s.name)][-1]
        params = sum(p.numel() for n, p in model.named_parameters() if member(n))
        shape = f"{last.out_channels} x {last.out_size[0]} x {last.out_size[1]}"
        print(f"{group:<10}{shape:>22}{params:>12,}")
    total = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        out = model(torch.zeros(2, cfg.in_chans, cfg.input_size, cfg.input_size))
    print(f"total params: {total:,}; output stride {output_stride(cfg)}")
    print(f"forward of a (2, 3, 32, 32) batch -> {tuple(out.shape)}")


if __name__ == "__main__":
    main()

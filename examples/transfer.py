"""Transfer learning in examples/train.py: the head and the backbone, frozen or at their own
learning rate."""

from __future__ import annotations

import argparse
from typing import Any

from torch import nn


def head_and_backbone(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """The classifier's parameters (timm's ``get_classifier``) and all the others."""
    head = {id(p) for p in model.get_classifier().parameters()}  # type: ignore[operator]
    params = list(model.parameters())
    return [p for p in params if id(p) in head], [p for p in params if id(p) not in head]


def param_groups(model: nn.Module, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Optimizer groups: the head at --lr, the backbone at --lr x --backbone-lr-mult, or
    frozen (requires_grad off, not in the optimizer) with --freeze-backbone."""
    head, backbone = head_and_backbone(model)
    if args.freeze_backbone:
        for p in backbone:
            p.requires_grad_(False)
        return [{"params": head, "lr": args.lr, "name": "head"}]
    return [
        {"params": backbone, "lr": args.lr * args.backbone_lr_mult, "name": "backbone"},
        {"params": head, "lr": args.lr, "name": "head"},
    ]


def set_train_mode(model: nn.Module, train: bool, frozen_backbone: bool) -> None:
    """model.train(train); a frozen backbone's BatchNorm layers stay in eval mode, so that
    their running statistics stay the pretrained ones."""
    model.train(train)
    if train and frozen_backbone:
        head = set(model.get_classifier().modules())  # type: ignore[operator]
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module not in head:
                module.eval()

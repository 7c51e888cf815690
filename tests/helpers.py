"""Small shared test helpers."""

from __future__ import annotations

import torch


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

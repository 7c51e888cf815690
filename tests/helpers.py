"""Small shared test helpers."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import torch


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

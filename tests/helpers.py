"""Small shared test helpers."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import torch


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


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

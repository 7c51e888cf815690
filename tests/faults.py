"""Fault injection for saves: SIGKILL a process at its N-th file operation.

A save's file operations are the renames, links and unlinks it makes and each flush to disk
(``scalenet.io.atomic._fsync``); :func:`kill_at` wraps them so that the process kills itself
(SIGKILL: no cleanup runs) just before the ``step``-th, or lists them all when ``step`` is
never reached.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator

from scalenet.io import atomic as _atomic

_PATCHED = ("rename", "replace", "link", "unlink")


@contextlib.contextmanager
def kill_at(step: int) -> Iterator[list[str]]:
    """SIGKILL this process before the ``step``-th file operation (0: before any)."""
    done: list[str] = []
    originals = {name: getattr(os, name) for name in _PATCHED}
    fsync = _atomic._fsync

    def wrap(name: str, call: Callable[..., object]) -> Callable[..., object]:
        def step_once(*args: object, **kwargs: object) -> object:
            if len(done) == step:
                os.kill(os.getpid(), signal.SIGKILL)
            result = call(*args, **kwargs)
            done.append(f"{name}{args}")
            return result

        return step_once

    for name, call in originals.items():
        setattr(os, name, wrap(name, call))
    _atomic._fsync = wrap("fsync", fsync)  # type: ignore[assignment]
    try:
        yield done
    finally:
        for name, call in originals.items():
            setattr(os, name, call)
        _atomic._fsync = fsync  # type: ignore[assignment]


def fork(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child; returns the child's pid (the child never returns)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            work()
        finally:
            os._exit(0)
    return pid


def in_child(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child and wait for it; returns its wait status."""
    return os.waitpid(fork(work), 0)[1]


def was_killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

"""Build a model on the meta device without running a single weight initialiser.

A model about to receive loaded weights needs its structure only. On the meta device
``nn.Conv2d``, ``nn.Linear`` and ``nn.BatchNorm2d`` still run their ``reset_parameters``
(``kaiming_uniform_`` is decomposed op by op on meta tensors), which is half the time of
building a resnet50 there. :func:`skeleton` skips those calls for the current thread only: the
three methods are wrapped while at least one skeleton is being built, and the wrappers call the
original in every other thread, so a model built concurrently elsewhere is initialised as usual.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd

from ..config import Config
from . import ScaleNetModel, build

__all__ = ["skeleton"]

_CLASSES: tuple[type[nn.Module], ...] = (_ConvNd, nn.Linear, _NormBase)
_local = threading.local()
_lock = threading.Lock()
_users = 0
_originals: dict[type[nn.Module], Callable[[nn.Module], None]] = {}


def _skipping(reset: Callable[[nn.Module], None]) -> Callable[[nn.Module], None]:
    @functools.wraps(reset)
    def reset_parameters(self: nn.Module) -> None:
        if not getattr(_local, "depth", 0):
            reset(self)

    return reset_parameters


@contextmanager
def _no_reset() -> Iterator[None]:
    global _users
    with _lock:
        if _users == 0:
            for cls in _CLASSES:
                _originals[cls] = cls.reset_parameters  # type: ignore[attr-defined]
                cls.reset_parameters = _skipping(_originals[cls])  # type: ignore[attr-defined]
        _users += 1
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1
        with _lock:
            _users -= 1
            if _users == 0:
                for cls in _CLASSES:
                    cls.reset_parameters = _originals.pop(cls)  # type: ignore[attr-defined]


def skeleton(config: Config) -> ScaleNetModel:
    """The model ``config`` describes, on the meta device, with no initialiser run.

    Examples:
        >>> import scalenet
        >>> from scalenet.nn.skeleton import skeleton
        >>> skeleton(scalenet.get_config("resnet50")).fc.weight.device
        device(type='meta')
    """
    with torch.device("meta"), _no_reset():
        return build(config)

"""CIFAR-10, CIFAR-100 and SVHN weights from pytorchcv, chenyaofo and akamaster (filled in)."""

from __future__ import annotations

from .catalog import Weights

__all__ = ["CIFAR_WEIGHTS"]

CIFAR_WEIGHTS: tuple[Weights, ...] = ()

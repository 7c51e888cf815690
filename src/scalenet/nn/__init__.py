"""The model classes; each is built from its config (:func:`build` picks the class).

Examples:
    >>> import scalenet
    >>> from scalenet.nn import build
    >>> type(build(scalenet.SimpleCNNConfig(channels=(8,)))).__name__
    'SimpleCNN'
"""

from __future__ import annotations

from typing import overload

from ..config import ResNetConfig, SimpleCNNConfig
from .base import ScaleNetModel
from .resnet import ResNet
from .simple_cnn import SimpleCNN

__all__ = ["ResNet", "ScaleNetModel", "SimpleCNN", "build"]


@overload
def build(config: ResNetConfig) -> ResNet: ...
@overload
def build(config: SimpleCNNConfig) -> SimpleCNN: ...
def build(config: ResNetConfig | SimpleCNNConfig) -> ResNet | SimpleCNN:
    """The model ``config`` describes: a :class:`ResNet` or a :class:`SimpleCNN`."""
    return ResNet(config) if isinstance(config, ResNetConfig) else SimpleCNN(config)

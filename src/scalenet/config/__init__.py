"""Typed, frozen, JSON-serialisable model configs: the config is the model.

A config is checked when it is made (``__post_init__`` calls :meth:`validate`), so an invalid
config cannot exist: every field error is a :class:`~scalenet.errors.ConfigError` that names the
field, the value and what is allowed, and an ``input_size`` that does not fit the network is a
:class:`~scalenet.errors.ShapeError` that names the nearest sizes that do.

Examples:
    >>> from scalenet import ResNetConfig
    >>> cfg = ResNetConfig(depths=(3, 3, 3), width=16, stem="cifar", downsample="pad",
    ...                    num_classes=10, input_size=32)
    >>> ResNetConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .base import (
    CIFAR_MEAN,
    CIFAR_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_INPUT_SIZE,
    MAX_PARAMS,
    Block,
    Downsample,
    Pool,
    Stem,
)
from .resnet import ResNetConfig
from .simple_cnn import SimpleCNNConfig

#: Any scalenet config.
Config = ResNetConfig | SimpleCNNConfig

__all__ = [
    "CIFAR_MEAN",
    "CIFAR_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_BLOCKS",
    "MAX_CHANNELS",
    "MAX_INPUT_SIZE",
    "MAX_PARAMS",
    "Block",
    "Config",
    "Downsample",
    "Pool",
    "ResNetConfig",
    "SimpleCNNConfig",
    "Stem",
    "config_from_dict",
]


def config_from_dict(data: Mapping[str, Any]) -> ResNetConfig | SimpleCNNConfig:
    """Make whichever config ``data["family"]`` names (``"resnet"`` or ``"simple_cnn"``).

    Examples:
        >>> from scalenet import ResNetConfig, config_from_dict
        >>> config_from_dict(ResNetConfig().to_dict()) == ResNetConfig()
        True
    """
    if not isinstance(data, Mapping):
        raise ConfigError("config", data, "a mapping of field names to values")
    families: dict[str, type[ResNetConfig] | type[SimpleCNNConfig]] = {
        ResNetConfig.family: ResNetConfig,
        SimpleCNNConfig.family: SimpleCNNConfig,
    }
    family = data.get("family")
    if not isinstance(family, str) or family not in families:  # a list or dict is unhashable
        allowed = "one of " + ", ".join(repr(k) for k in families)
        hint = "every config names its family" if "family" not in data else ""
        raise ConfigError("family", family, allowed, hint)
    return families[str(family)].from_dict(data)

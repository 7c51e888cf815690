"""Input sizes: which ones fit a network, and the input description timm reads.

One rule for every network: a size is *valid* when every strided layer receives a size
divisible by its stride (each stage halves the map exactly, no row or column is dropped or
rounded) and the last feature map is at least 1x1. The valid sizes are then exactly
``output_stride * f + offset`` for ``f >= f_min``: for a ResNet the multiples of 32 (ImageNet
stem) or 4 (CIFAR stem, three stages), for the 6-block 5x5 simple CNN 316, 380, 444... The
affine rule itself (:func:`~scalenet.spec.plan.output_stride`,
:func:`~scalenet.spec.plan.min_input_size`) is read from the layer plan, in
:mod:`scalenet.spec.plan`.

Examples:
    >>> import scalenet
    >>> cfg = scalenet.ResNetConfig(depths=(3, 3, 3), width=16, stem="cifar", input_size=32)
    >>> scalenet.output_stride(cfg), scalenet.min_input_size(cfg)
    (4, 4)
    >>> scalenet.nearest_valid_sizes(scalenet.ResNetConfig(), 250)
    (224, 256)
"""

from __future__ import annotations

import functools
from typing import Any

from ..config import MAX_INPUT_SIZE, SimpleCNNConfig
from ..errors import ConfigError, ShapeError, check_type
from .plan import _inverse, _is_main_window, min_input_size, plan
from .templates import Config

__all__ = ["check_input_size", "model_cfg", "nearest_valid_sizes", "valid_input_sizes"]


def model_cfg(config: Config) -> dict[str, Any]:
    """The entries of timm's pretrained cfg that describe the architecture built from ``config``.

    ``input_size`` and ``min_input_size`` as (C, H, W), ``pool_size`` (the last feature map at
    the input size), ``fixed_input_size`` (a flattening classifier takes one size only),
    ``first_conv`` and ``classifier`` (module paths) and ``num_classes``. Zoo models, timm's
    entry points and loaded models all take these from here, so they always match the model.

    Examples:
        >>> import scalenet
        >>> cfg = model_cfg(scalenet.get_config("resnet20_cifar"))
        >>> cfg["input_size"], cfg["min_input_size"], cfg["pool_size"], cfg["first_conv"]
        ((3, 32, 32), (3, 4, 4), (8, 8), 'conv1')
    """
    return dict(_model_cfg(config))


@functools.lru_cache(maxsize=512)
def _model_cfg(config: Config) -> dict[str, Any]:
    """:func:`model_cfg`, once per config (a frozen dataclass): timm's registration asks it for
    every zoo entry and every published weight at import, and a plan of resnet1202 has 3,000
    layers. Callers get a copy (the values are immutable)."""
    specs = plan(config)
    first_head = next(i for i, s in enumerate(specs) if s.global_pool or s.kind == "flatten")
    fixed = isinstance(config, SimpleCNNConfig) and not config.global_pool
    low = config.input_size if fixed else min_input_size(config)
    return {
        "num_classes": config.num_classes,
        "input_size": (config.in_chans, config.input_size, config.input_size),
        "min_input_size": (config.in_chans, low, low),
        "fixed_input_size": fixed,
        "pool_size": specs[first_head - 1].out_size,
        "first_conv": config.first_conv,
        "classifier": "fc",
    }


def valid_input_sizes(config: Config, start: int = 1, stop: int = 1024) -> list[int]:
    """Every valid input size in ``[start, stop]``.

    Examples:
        >>> import scalenet
        >>> scalenet.valid_input_sizes(scalenet.ResNetConfig(), 200, 300)
        [224, 256, 288]

    Raises:
        ConfigError: ``stop`` is past ``MAX_INPUT_SIZE`` (the largest input size a config
            takes), or ``start`` or ``stop`` is no integer (a :class:`ConfigTypeError`).
    """
    check_type("start", start, int, "an integer")
    check_type("stop", stop, int, "an integer")
    if stop > MAX_INPUT_SIZE:
        raise ConfigError("stop", stop, f"an integer up to {MAX_INPUT_SIZE} (MAX_INPUT_SIZE)")
    a, b, f_min = _inverse(config)
    first = max(f_min, -((b - start) // a))
    return list(range(a * first + b, stop + 1, a))


def nearest_valid_sizes(config: Config, size: int) -> tuple[int | None, int]:
    """The largest valid size <= ``size`` (None if there is none) and the smallest >= it.

    Examples:
        >>> import scalenet
        >>> scalenet.nearest_valid_sizes(scalenet.ResNetConfig(), 250)
        (224, 256)
        >>> scalenet.nearest_valid_sizes(scalenet.ResNetConfig(), 16)
        (None, 32)
    """
    check_type("size", size, int, "an integer")
    a, b, f_min = _inverse(config)
    f_below = (size - b) // a
    f_above = -((b - size) // a)
    below = a * f_below + b if f_below >= f_min else None
    return below, a * max(f_above, f_min) + b


def check_input_size(config: Config, size: int) -> None:
    """Raise :class:`ShapeError` unless ``size`` is a valid input size for ``config``.

    The message names the size, the output stride and the nearest valid sizes (or, when the map
    vanishes, the layer where it does and the smallest valid size).

    Examples:
        >>> import scalenet
        >>> scalenet.check_input_size(scalenet.ResNetConfig(), 250)
        Traceback (most recent call last):
        ...
        scalenet.errors.ShapeError: input_size=250 does not fit this network: ...
    """
    below, above = nearest_valid_sizes(config, size)
    if above == size:
        return
    stride, offset, f_min = _inverse(config)
    smallest = stride * f_min + offset
    if size < smallest:
        plan(config, size)  # raises, naming the layer where the map vanishes, if it does
        reason = (
            f"it is smaller than the smallest valid size {smallest} "
            f"(the last feature map would be below 1x1 at output stride {stride})"
        )
    else:
        offset %= stride
        reason = (
            f"it is not a multiple of the output stride {stride}"
            if offset == 0
            else f"valid sizes are {stride}k + {offset} (output stride {stride})"
        )
        detail = _first_inexact_layer(config, size)
        if detail:
            reason += f", and {detail}"
    nearest = f"{below} or {above}" if below is not None else f"{above} (the smallest)"
    raise ShapeError(
        f"input_size={size} does not fit this network: {reason}; "
        f"the nearest valid sizes are {nearest}"
    )


def _first_inexact_layer(config: Config, size: int) -> str:
    """Describe the first strided layer whose input size is not divisible by its stride."""
    for spec in plan(config, size):
        h = spec.in_size[0]
        if _is_main_window(spec) and spec.stride > 1 and h % spec.stride:
            return (
                f"layer {spec.name!r} ({spec.kind}, stride {spec.stride}) would receive "
                f"{h}x{h}, which does not divide by {spec.stride}"
            )
    return ""

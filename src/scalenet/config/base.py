"""What every config shares: the field types, the hard limits, the normalisation constants,
the field checks (each error names the field, the value and what is allowed) and the base class
that validates on construction and round-trips through dicts and JSON.

Examples:
    >>> from scalenet.config.base import MAX_CHANNELS
    >>> from scalenet.errors import check_int  # the checks every layer shares
    >>> check_int("width", 0, 1, MAX_CHANNELS)
    Traceback (most recent call last):
    ...
    scalenet.errors.ConfigError: width=0 is not allowed: an integer in [1, 65536]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from ..errors import (
    ConfigError,
    ConfigTypeError,
    check_type,
    short_repr,
)

if TYPE_CHECKING:
    pass

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
    "Downsample",
    "Pool",
    "Stem",
]

Stem = Literal["imagenet", "cifar", "deep"]
Block = Literal["basic", "bottleneck"]
Downsample = Literal["projection", "pad", "avgpool"]
Pool = Literal["max", "avg", "none"]

#: Hard limits that keep a typo from asking for a network no machine can hold.
MAX_CHANNELS = 1 << 16
MAX_BLOCKS = 1 << 12
MAX_INPUT_SIZE = 1 << 15
#: Largest model scalenet builds; every construction path checks the analytic count first, so
#: a typo fails before any memory is allocated. Raise it here if you really mean it.
MAX_PARAMS = 2_000_000_000

#: Input normalisation: ImageNet's (torchvision's and timm's default) and CIFAR-10's per-channel
#: statistics of the training set (pixel-wise std, not the often-quoted std of per-image means).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

C = TypeVar("C", bound="_Config")


def _check_int_tuple(
    name: str, value: object, minimum: int, maximum: int, *, min_len: int = 1
) -> None:
    what = f"a {'non-empty ' if min_len else ''}tuple of integers in [{minimum}, {maximum}]"
    check_type(name, value, tuple, what)
    assert isinstance(value, tuple)
    if len(value) < min_len:
        raise ConfigError(name, value, what)
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int):
            raise ConfigTypeError(name, value, what, f"item {i} is {short_repr(item)}")
        if not minimum <= item <= maximum:
            raise ConfigError(name, value, what, f"item {i} is {short_repr(item)}")


def _check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    values = tuple(choices)
    allowed = "one of " + ", ".join(repr(c) for c in values)
    check_type(name, value, str, allowed)
    if value not in values:
        raise ConfigError(name, value, allowed)


def _check_probability(name: str, value: object) -> None:
    # Compared as given: float() of a 400-digit integer overflows; nan fails both comparisons.
    check_type(name, value, (int, float), "a number in [0, 1)")
    if not 0 <= value < 1:  # type: ignore[operator]
        raise ConfigError(name, value, "a number in [0, 1)")


def _as_tuple(value: object) -> object:
    """Lists (as JSON gives them) become tuples; anything else is left for validation."""
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class _Config:
    """Shared machinery: validation on construction, dict/JSON round trip."""

    family: ClassVar[str]
    _tuple_fields: ClassVar[tuple[str, ...]] = ()
    #: Fields added after the first release, with the value that means "as before": left out
    #: of :meth:`to_dict` at that value, so a saved config stays byte-identical and loads in
    #: releases that predate the field.
    _later_fields: ClassVar[dict[str, object]] = {}

    def __post_init__(self) -> None:
        for name in self._tuple_fields:
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        self.validate()

    @property
    def first_conv(self) -> str:  # pragma: no cover - every subclass overrides it
        """Module path of the first convolution (timm's ``first_conv``)."""
        raise NotImplementedError

    def validate(self) -> None:  # pragma: no cover - every subclass overrides it
        """Raise ConfigError/ShapeError if any field is not allowed."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field, plus ``"family"`` (a field added in a later
        release is left out while it has the value that means "as before", such as
        ``ResNetConfig.groups == 1``).

        Examples:
            >>> from scalenet import SimpleCNNConfig
            >>> SimpleCNNConfig().to_dict()["family"]
            'simple_cnn'
        """
        out: dict[str, Any] = {"family": self.family}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self._later_fields and value == self._later_fields[f.name]:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Make a config from :meth:`to_dict` output (or parsed JSON); unknown keys are an error.

        Examples:
            >>> from scalenet import ResNetConfig
            >>> ResNetConfig.from_dict({"depths": [1, 1], "width": 8}).depths
            (1, 1)
        """
        if not isinstance(data, Mapping):
            raise ConfigError("config", data, "a mapping of field names to values")
        values = dict(data)
        family = values.pop("family", cls.family)
        if family != cls.family:
            raise ConfigError("family", family, f"{cls.family!r} for {cls.__name__}")
        cls._check_fields(values)
        return cls(**values)

    @classmethod
    def _check_fields(cls, values: Mapping[str, Any]) -> None:
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                raise ConfigError(
                    str(key), values[key], f"a field of {cls.__name__}: " + ", ".join(names)
                )

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed, validated like any new config.

        Examples:
            >>> from scalenet import ResNetConfig
            >>> ResNetConfig().replace(num_classes=10).num_classes
            10
        """
        self._check_fields(changes)
        return dataclasses.replace(self, **changes)

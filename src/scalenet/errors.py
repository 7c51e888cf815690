"""Exceptions raised by scalenet.

Every error scalenet raises on bad input derives from :class:`ScaleNetError`, so a caller can
catch them all at once. :class:`ConfigError` and :class:`ShapeError` are also ``ValueError``
subclasses, which is what they are: a value outside what is allowed. :class:`InputError` (a
model called with something other than a floating-point tensor) is a ``TypeError``.

Examples:
    >>> import scalenet
    >>> try:
    ...     scalenet.resnet(depths=(2, 2, 2, 2), width=0)
    ... except scalenet.ConfigError as err:
    ...     print(err.field)
    width
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigTypeError",
    "InputError",
    "ScaleNetError",
    "ShapeError",
    "WeightsError",
    "check_bool",
    "check_int",
    "check_mapping",
    "check_number",
    "check_path",
    "check_type",
]


class ScaleNetError(Exception):
    """Base class of every error scalenet raises on purpose."""


class ConfigError(ScaleNetError, ValueError):
    """A config field has a value that is not allowed.

    Attributes:
        field: the name of the offending field (``"depths"``, ``"width"``...).
        value: the value that was given.
        allowed: a short description of what is allowed.
        hint: more context (which layer, which file...), or ``""``.

    ``message`` replaces the message made of these (an unknown model name says "unknown
    model" rather than "name=... is not allowed"); the attributes stay.
    """

    def __init__(
        self, field: str, value: object, allowed: str, hint: str = "", *, message: str = ""
    ) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.hint = hint
        if not message:  # the field's grammar; a lookup of a name says it in its own words
            message = f"{field}={short_repr(value)} is not allowed: {allowed}"
            if hint:
                message += f" ({hint})"
        super().__init__(message)


class ConfigTypeError(ConfigError, TypeError):
    """A config field or a function's argument was given a value of the wrong type (a string
    where a number goes, a number where a path goes, ``"no"`` for a bool): a
    :class:`ConfigError` naming it and what it must be, and a ``TypeError``.

    Examples:
        >>> import scalenet
        >>> try:
        ...     scalenet.list_models(pretrained="no")
        ... except TypeError as err:
        ...     print(err)
        pretrained='no' is not allowed: True or False
    """


# -- the checks at the door: each names the argument, the value and what is allowed -----------


def check_type(name: str, value: object, types: type | tuple[type, ...], allowed: str) -> None:
    """:class:`ConfigTypeError` unless ``value`` is one of ``types`` (a bool is no int here,
    unless ``bool`` is among them).

    Examples:
        >>> check_type("name", 3, str, "a model name")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigTypeError: name=3 is not allowed: a model name
    """
    kinds = types if isinstance(types, tuple) else (types,)
    if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
        return
    raise ConfigTypeError(name, value, allowed)


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is ``True`` or ``False`` (not ``"no"``, ``0`` or ``None``)."""
    check_type(name, value, bool, "True or False")
    return bool(value)


def check_int(name: str, value: object, minimum: int, maximum: int) -> int:
    """``value`` if it is an integer (not a bool) in ``[minimum, maximum]``: a
    :class:`ConfigTypeError` for another type, a :class:`ConfigError` out of range.

    Examples:
        >>> check_int("stop", 10**400, 1, 1 << 15)
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: stop=an integer of 401 digits is not allowed: an integer ...
    """
    allowed = f"an integer in [{minimum}, {maximum}]"
    check_type(name, value, int, allowed)
    assert isinstance(value, int)
    if not minimum <= value <= maximum:
        raise ConfigError(name, value, allowed)
    return value


def check_number(name: str, value: object, minimum: float, maximum: float) -> float:
    """``value`` if it is a real number (an int or a float, not a bool) in ``[minimum,
    maximum]``; compared as given, so a 400-digit integer or a NaN is refused, not
    overflowed."""
    allowed = f"a number in [{minimum:g}, {maximum:g}]"
    check_type(name, value, (int, float), allowed)
    assert isinstance(value, (int, float))
    if not minimum <= value <= maximum:  # NaN fails both
        raise ConfigError(name, value, allowed)
    return float(value)


def check_mapping(name: str, value: object, allowed: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping (a dict...)."""
    check_type(name, value, Mapping, allowed)
    assert isinstance(value, Mapping)
    return value


#: The longest name of one file or folder on the common file systems (ext4, APFS, NTFS), bytes.
NAME_MAX = 255


def check_path(name: str, value: object) -> str:
    """``value`` as a path string, if it is one the system can open: a ``str`` or
    ``os.PathLike`` (not bytes), non-empty, without NUL characters, no name in it longer than
    :data:`NAME_MAX` bytes ("File name too long" before the system says it).

    Examples:
        >>> check_path("save_directory", "runs/resnet20")
        'runs/resnet20'
        >>> check_path("save_directory", "")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: save_directory='' is not allowed: a non-empty path
    """
    check_type(name, value, (str, os.PathLike), "a path (a str or os.PathLike)")
    assert isinstance(value, (str, os.PathLike))
    path = os.fspath(value)
    if not isinstance(path, str):
        raise ConfigTypeError(name, value, "a path (a str or os.PathLike of a str)")
    if not path:
        raise ConfigError(name, value, "a non-empty path")
    if "\x00" in path:
        raise ConfigError(name, value, "a path without NUL characters")
    for part in path.replace(os.sep, "/").split("/"):
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            raise ConfigError(
                name, value, f"a path whose every name is at most {NAME_MAX} bytes",
                f"File name too long: a name of {size} bytes",
            )  # fmt: skip
    return path


def short_repr(value: object, limit: int = 120) -> str:
    """``repr(value)`` for an error message, kept short: an integer of more than 30 digits is
    described by its size (Python refuses to print one of over 4,300 digits), and any other
    long repr is cut to ``limit`` characters.

    Examples:
        >>> short_repr(10**400)
        'an integer of 401 digits'
        >>> short_repr("x" * 500, limit=12)
        "'xxxxxxxx..."
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        sign, bits = "a negative" if value < 0 else "an", abs(value).bit_length()
        if bits < 10_000:  # str() refuses over 4,300 digits
            return f"{sign} integer of {len(str(abs(value)))} digits"
        return f"{sign} integer of about {int(bits * math.log10(2)) + 1} digits"
    try:
        text = repr(value)
    except Exception:  # a repr that fails must not hide the error being reported
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ShapeError(ScaleNetError, ValueError):
    """An input size or tensor shape does not fit the network."""


class InputError(ScaleNetError, TypeError):
    """A model was called with something other than a floating-point tensor: a numpy array, a
    list, a PIL image, an integer, bool or complex tensor..."""


class WeightsError(ScaleNetError):
    """Weights do not match the model they are loaded into."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__

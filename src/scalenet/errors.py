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

__all__ = ["ConfigError", "InputError", "ScaleNetError", "ShapeError", "WeightsError"]


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

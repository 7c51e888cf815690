"""Human-readable numbers, shared by profiles, model cards and the CLI."""

from __future__ import annotations

__all__ = ["human"]


def human(n: float, unit: str = "") -> str:
    """``25557032 -> '25.56 M'``: K, M, G, T with two decimals.

    Examples:
        >>> from scalenet.analysis.profile import human
        >>> human(4_089_184_256, "MACs"), human(650)
        ('4.09 GMACs', '650')
    """
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()

"""Scaling a ResNet along depth, width and resolution, alone or by the EfficientNet rule.

Results are configs, so :func:`scalenet.profile` and :meth:`build` apply to them.

- depth: every stage's block count times the multiplier, rounded up;
- width: the first-stage width times the multiplier, rounded to a multiple of 8 (never more than
  10% below the exact value, EfficientNet's ``round_filters``);
- resolution: the input size times the multiplier, rounded to the nearest valid size (a multiple
  of the output stride; ties go up).

Examples:
    >>> import scalenet
    >>> b0 = scalenet.ResNetConfig()                      # ResNet-18 at 224
    >>> b1 = scalenet.compound_scale(b0, 1)
    >>> b1.depths, b1.width, b1.input_size
    ((3, 3, 3, 3), 72, 256)
"""

from __future__ import annotations

import math

from .config import ResNetConfig
from .errors import ConfigError
from .sizes import nearest_valid_sizes

__all__ = ["compound_scale", "fit_budget", "round_width", "scale"]

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15


def round_width(width: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never more than 10% below it.

    Examples:
        >>> from scalenet.scaling import round_width
        >>> round_width(70.4), round_width(77.44), round_width(10)
        (72, 80, 16)
    """
    new = max(divisor, int(width + divisor / 2) // divisor * divisor)
    if new < 0.9 * width:
        new += divisor
    return new


def _round_size(config: ResNetConfig, size: float) -> int:
    below, above = nearest_valid_sizes(config, max(1, math.floor(size)))
    if below is None or above - size <= size - below:
        return above
    return below


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(name, value, "a positive number")
    return float(value)


def scale(
    config: ResNetConfig,
    *,
    depth: float = 1.0,
    width: float = 1.0,
    resolution: float = 1.0,
) -> ResNetConfig:
    """Scale one or more axes by plain multipliers (1.0 leaves an axis as it is).

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.scale(scalenet.ResNetConfig(), depth=2.0, width=1.25)
        >>> cfg.depths, cfg.width, cfg.input_size
        ((4, 4, 4, 4), 80, 224)
    """
    if not isinstance(config, ResNetConfig):
        raise ConfigError(
            "config", type(config).__name__, "a ResNetConfig (scaling is ResNet-only)"
        )
    d, w, r = (
        _positive("depth", depth),
        _positive("width", width),
        _positive("resolution", resolution),
    )
    depths = config.depths if d == 1 else tuple(math.ceil(n * d - 1e-9) for n in config.depths)
    new_width = config.width if w == 1 else round_width(config.width * w)
    size = config.input_size if r == 1 else _round_size(config, config.input_size * r)
    return config.replace(depths=depths, width=new_width, input_size=size)


def compound_scale(
    config: ResNetConfig,
    phi: float,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
) -> ResNetConfig:
    """EfficientNet's compound rule: depth x alpha^phi, width x beta^phi, resolution x gamma^phi.

    With the defaults each unit of ``phi`` multiplies MACs by about
    ``alpha * beta**2 * gamma**2 = 1.92`` (rounding moves each step a little).

    Examples:
        >>> import scalenet
        >>> [scalenet.compound_scale(scalenet.ResNetConfig(), p).input_size for p in range(5)]
        [224, 256, 288, 352, 384]
    """
    if isinstance(phi, bool) or not isinstance(phi, (int, float)) or not math.isfinite(phi):
        raise ConfigError("phi", phi, "a finite number")
    a, b, g = _positive("alpha", alpha), _positive("beta", beta), _positive("gamma", gamma)
    return scale(config, depth=a**phi, width=b**phi, resolution=g**phi)


def fit_budget(
    config: ResNetConfig,
    macs: int,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    *,
    tolerance: float = 1e-3,
) -> ResNetConfig:
    """The largest compound-scaled ``config`` whose MACs (per image) stay within ``macs``.

    MACs grow monotonically with ``phi``, so this bisects ``phi`` (to ``tolerance``) using the
    analytic profile: milliseconds, no model built.

    Raises:
        ConfigError: even the smallest member of the family (``phi`` = -10) is over budget.

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.fit_budget(scalenet.ResNetConfig(), macs=4_000_000_000)
        >>> scalenet.profile(cfg).macs <= 4_000_000_000
        True
    """
    from .profile import profile

    if isinstance(macs, bool) or not isinstance(macs, int) or macs <= 0:
        raise ConfigError("macs", macs, "a positive integer")

    def cost(phi: float) -> float:
        try:
            return profile(compound_scale(config, phi, alpha, beta, gamma)).macs
        except ConfigError:  # past the configs' size limits: over any budget
            return math.inf

    lo, hi = -10.0, 0.0
    if cost(lo) > macs:
        raise ConfigError("macs", macs, f"at least {cost(lo):,} (the smallest member, phi=-10)")
    while cost(hi) <= macs:
        lo, hi = hi, hi + 4.0
    while hi - lo > tolerance:
        mid = (lo + hi) / 2
        if cost(mid) <= macs:
            lo = mid
        else:
            hi = mid
    return compound_scale(config, lo, alpha, beta, gamma)

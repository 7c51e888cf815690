"""Scaling a ResNet along depth, width and resolution, alone or by the EfficientNet rule.

Results are configs, so :func:`scalenet.profile` and :meth:`build` apply to them.

- depth: every stage's block count times the multiplier, rounded up;
- width: the first-stage width times the multiplier, rounded to a multiple of 8 (never more than
  10% below the exact value, EfficientNet's ``round_filters``), or of more where a grouped or
  wide bottleneck needs it (:func:`width_divisor`): ``groups`` and ``base_width`` are kept, so a
  ResNeXt keeps its cardinality and its per-group width grows with the width;
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
import numbers
import warnings
from dataclasses import dataclass

from ..config import MAX_BLOCKS, MAX_CHANNELS, MAX_INPUT_SIZE, MAX_PARAMS, ResNetConfig
from ..errors import ConfigError, check_number, check_type
from .plan import count_macs, count_params
from .sizes import nearest_valid_sizes

__all__ = [
    "BudgetBracket",
    "bracket_budget",
    "compound_scale",
    "fit_budget",
    "round_width",
    "scale",
    "width_divisor",
]

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
#: The least growth of MACs per unit of ``phi`` (``alpha * beta**2 * gamma**2``) for which a
#: budget search is allowed: with 1.0 the family never leaves the budget and the search would
#: not end.
MIN_GROWTH = 1.1
_MAX_DOUBLINGS = 200  # phi up to 800: MACs x 1.1**800 is past every size limit


def round_width(width: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never more than 10% below it.

    Examples:
        >>> from scalenet.spec.scaling import round_width
        >>> round_width(70.4), round_width(77.44), round_width(10)
        (72, 80, 16)
    """
    new = max(divisor, int(width + divisor / 2) // divisor * divisor)
    if new < 0.9 * width:
        new += divisor
    return new


def width_divisor(config: ResNetConfig, *, divisor: int = 8) -> int:
    """The multiple of which a scaled ``config.width`` is made: the smallest that keeps every
    stage's ``width * widen_factor`` channels a multiple of ``divisor`` (``divisor`` itself
    unless the net is a WRN), or more for a bottleneck whose per-group width
    ``width * widen_factor * base_width / 64`` would otherwise be fractional.

    layer1's bottleneck has ``int(width * widen_factor * base_width / 64) * groups`` inner
    channels (torchvision's rule), so a ResNeXt-50 32x4d at width 72 would floor 4.5 channels
    per group to 4 and keep layer1's grouped conv at 128 channels while every other conv grew
    by 72/64. A width that is a multiple of ``64 / gcd(base_width * widen_factor, 64)`` scales
    every conv, grouped ones included, by the same factor; ``groups`` (the cardinality) is
    kept, and divides the grouped convs' channels by construction.

    Examples:
        >>> import scalenet
        >>> from scalenet.spec.scaling import width_divisor
        >>> [width_divisor(scalenet.get_config(n)) for n in ("resnet50", "wide_resnet50_2",
        ...                                                   "resnext50_32x4d", "wrn28_10_cifar")]
        [8, 8, 16, 4]
    """
    # The stages have width * widen_factor channels: a WRN's k = 10 needs width to be a
    # multiple of 4 only (16 -> 20 gives stages of 200), not 8 (16 -> 24: 1.5x at once).
    stages = divisor // math.gcd(config.widen_factor, divisor)
    if config.block != "bottleneck":
        return stages
    per_64 = config.base_width * config.widen_factor  # channels per group at width 64
    return math.lcm(stages, 64 // math.gcd(per_64, 64))


def _round_size(config: ResNetConfig, size: float) -> int:
    below, above = nearest_valid_sizes(config, max(1, math.floor(size)))
    if below is None or above - size <= size - below:
        return above
    return below


#: The largest base of compound scaling (alpha, beta, gamma: EfficientNet's are 1.2, 1.1,
#: 1.15), and the largest |phi|: past them the multipliers' powers overflow a float.
MAX_BASE = 100.0
MAX_PHI = 10_000


def _positive(name: str, value: float) -> float:
    """``value`` as a float: a number in (0, MAX_BASE] (inf and nan overflow the rounding;
    a base of 1e308 overflows its square)."""
    allowed = f"a positive number up to {MAX_BASE:g}"
    check_type(name, value, (int, float), allowed)
    if not 0 < value <= MAX_BASE:  # compared as given: nan fails, a 400-digit int too
        raise ConfigError(name, value, allowed)
    return float(value)


def _scaled(name: str, given: float, value: float, limit: int) -> float:
    """``value`` (an axis times its multiplier ``given``), refused when past ``limit``: a
    multiplier such as 1e308 would overflow the rounding, or make a config of absurd size."""
    if not value <= limit:
        raise ConfigError(
            name,
            given,
            f"a multiplier that keeps the {name} within {limit:,} (it gives {value:.3g})",
        )
    return value


def scale(
    config: ResNetConfig,
    *,
    depth: float = 1.0,
    width: float = 1.0,
    resolution: float = 1.0,
) -> ResNetConfig:
    """Scale one or more axes by plain multipliers (1.0 leaves an axis as it is).

    Every other field is kept: the stem, block and shortcut, and a ResNeXt's ``groups`` and
    ``base_width`` (its width is rounded by :func:`width_divisor`, so the per-group width of
    its grouped convs scales with the width, exactly).

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.scale(scalenet.ResNetConfig(), depth=2.0, width=1.25)
        >>> cfg.depths, cfg.width, cfg.input_size
        ((4, 4, 4, 4), 80, 224)
        >>> x = scalenet.scale(scalenet.get_config("resnext50_32x4d"), width=1.25)
        >>> x.width, x.groups, x.bottleneck_widths   # ResNeXt-50 32x5d
        (80, 32, (160, 320, 640, 1280))
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
    depths = config.depths
    if d != 1:
        _scaled("depth", depth, max(config.depths) * d, MAX_BLOCKS)
        depths = tuple(math.ceil(n * d - 1e-9) for n in config.depths)
    new_width = config.width
    if w != 1:
        exact = _scaled("width", width, config.width * w, MAX_CHANNELS)
        new_width = round_width(exact, width_divisor(config))
    size = config.input_size
    if r != 1:
        size = _round_size(config, _scaled("resolution", resolution, size * r, MAX_INPUT_SIZE))
    return config.replace(depths=depths, width=new_width, input_size=size)


def compound_scale(
    config: ResNetConfig,
    phi: float,
    *,
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
    check_number("phi", phi, -MAX_PHI, MAX_PHI)
    a, b, g = _positive("alpha", alpha), _positive("beta", beta), _positive("gamma", gamma)
    try:
        multipliers = a**phi, b**phi, g**phi
    except OverflowError:  # e.g. 1.2**5000
        raise ConfigError(
            "phi", phi, "a phi whose multipliers alpha**phi etc. stay finite"
        ) from None
    for name, m in zip(("alpha", "beta", "gamma"), multipliers, strict=True):
        if m == 0:  # underflow: a negative phi too far down
            raise ConfigError("phi", phi, f"a phi whose {name}**phi stays above 0")
    return scale(config, depth=multipliers[0], width=multipliers[1], resolution=multipliers[2])


def _budget(macs: object) -> int:
    """``macs`` as an int: an integer, or an integral float such as ``4e9``."""
    if isinstance(macs, numbers.Integral) and not isinstance(macs, bool) and int(macs) > 0:
        return int(macs)  # int, numpy integers
    if isinstance(macs, float) and math.isfinite(macs) and macs.is_integer() and macs > 0:
        return int(macs)
    raise ConfigError(
        "macs", macs, "a positive whole number of MACs: an int, or an integral float such as 4e9"
    )


def _changes(a: ResNetConfig, b: ResNetConfig) -> str:
    """What scaling changed from ``a`` to ``b``, e.g. "depths (2, 2, 2, 2) -> (3, 3, 3, 3)"."""
    parts = [
        f"{field} {getattr(a, field)} -> {getattr(b, field)}"
        for field in ("depths", "width", "input_size")
        if getattr(a, field) != getattr(b, field)
    ]
    return ", ".join(parts)


@dataclass(frozen=True)
class BudgetBracket:
    """The members of a compound-scaled family on either side of a MACs budget.

    Attributes:
        macs: the budget (MACs per image).
        under: the largest member within the budget (what :func:`fit_budget` returns).
        under_macs: its MACs.
        under_phi: a ``phi`` that gives it (the largest, to the search's tolerance).
        over: the smallest member over the budget, or ``None`` when every member up to the
            configs' size limits fits.
        over_macs: its MACs (``None`` with ``over``).
        over_phi: a ``phi`` that gives it (``None`` with ``over``).
        unchanged: ``under`` is the config that was scaled: no other member fits closer.
    """

    macs: int
    under: ResNetConfig
    under_macs: int
    under_phi: float
    over: ResNetConfig | None
    over_macs: int | None
    over_phi: float | None
    unchanged: bool

    @property
    def note(self) -> str:
        """Why the fit is the config itself, with both neighbours; ``""`` when it is not."""
        if not self.unchanged or self.over is None or self.over_macs is None:
            return ""
        return (
            f"the config itself ({self.under_macs:,} MACs) is the closest member within "
            f"{self.macs:,} MACs, so it is returned unchanged: the next member up "
            f"(phi > {self.under_phi:.3g}: {_changes(self.under, self.over)}) needs "
            f"{self.over_macs:,} MACs, {self.over_macs / self.macs - 1:.0%} over the budget; "
            "for a fit in between, scale one axis with scalenet.scale(config, width=...) or "
            "resolution=..., or pass other alpha, beta, gamma"
        )


def bracket_budget(
    config: ResNetConfig,
    macs: int | float,
    *,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    tolerance: float = 1e-3,
) -> BudgetBracket:
    """The compound-scaled members of ``config`` closest to ``macs`` on either side.

    MACs grow monotonically with ``phi``, so this bisects ``phi`` (to ``tolerance``) using the
    analytic profile: milliseconds, no model built. Rounding makes the family a staircase (a
    block per stage, 8 channels, one output stride of resolution at a time), so the largest
    member within a budget can be far below it; :attr:`BudgetBracket.over` is the step after.

    Args:
        config: the member at ``phi = 0``.
        macs: the budget, MACs per image: an int, or an integral float such as ``4e9``.
        alpha: the compound rule's depth base (see :func:`compound_scale`).
        beta: its width base.
        gamma: its resolution base; ``alpha * beta**2 * gamma**2`` must be at least
            :data:`MIN_GROWTH`.
        tolerance: how close in ``phi`` the search gets to each step.

    Raises:
        ConfigError: ``macs`` is not a positive whole number (``4.5``, ``nan``, ``inf``, a
            bool), or even the smallest member of the family (``phi`` = -10) is over budget.

    Examples:
        >>> import scalenet
        >>> from scalenet.spec.scaling import bracket_budget
        >>> b = bracket_budget(scalenet.ResNetConfig(width=80, num_classes=11), 4e9)
        >>> b.unchanged, b.under_macs, b.over.depths, b.over_macs
        (True, 2796817280, (3, 3, 3, 3), 4241886080)
    """
    budget = _budget(macs)
    a, b, g = _positive("alpha", alpha), _positive("beta", beta), _positive("gamma", gamma)
    if a * b**2 * g**2 < MIN_GROWTH:
        raise ConfigError(
            "alpha, beta, gamma",
            (alpha, beta, gamma),
            f"bases with alpha * beta**2 * gamma**2 >= {MIN_GROWTH} (MACs that grow with phi, "
            "so the search ends)",
            f"these give {a * b**2 * g**2:.3g}",
        )
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)):
        raise ConfigError("tolerance", tolerance, "a number in [1e-9, 1]")
    if not 1e-9 <= tolerance <= 1:  # nan fails too
        raise ConfigError("tolerance", tolerance, "a number in [1e-9, 1]")

    def member(phi: float) -> ResNetConfig:
        return compound_scale(config, phi, alpha=alpha, beta=beta, gamma=gamma)

    def cost(phi: float) -> float:
        try:
            scaled = member(phi)
        except ConfigError:  # past the configs' size limits: over any budget
            return math.inf
        if count_params(scaled) > MAX_PARAMS:  # past the model-size limit: none builds it
            return math.inf
        return count_macs(scaled)

    lo, hi = -10.0, 0.0
    if cost(lo) > budget:
        raise ConfigError("macs", macs, f"at least {cost(lo):,} (the smallest member, phi=-10)")
    # Finite: MACs grow at least MIN_GROWTH-fold per unit of phi, and every config has a size
    # limit past which cost() is inf, so hi passes the budget; each halving then shrinks the
    # interval (to tolerance >= 1e-9, or until the floats in between run out).
    for _ in range(_MAX_DOUBLINGS):
        if cost(hi) > budget:
            break
        lo, hi = hi, hi + 4.0
    else:  # pragma: no cover - the size limits are reached long before
        raise ConfigError("macs", macs, "a budget that some member of the family exceeds")
    while hi - lo > tolerance:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if cost(mid) <= budget:
            lo = mid
        else:
            hi = mid
    under = member(lo)
    over_cost = cost(hi)
    over = member(hi) if math.isfinite(over_cost) else None
    return BudgetBracket(
        macs=budget,
        under=under,
        under_macs=int(cost(lo)),
        under_phi=lo,
        over=over,
        over_macs=None if over is None else int(over_cost),
        over_phi=None if over is None else hi,
        unchanged=under == config,
    )


def fit_budget(
    config: ResNetConfig,
    macs: int | float,
    *,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    tolerance: float = 1e-3,
) -> ResNetConfig:
    """The largest compound-scaled ``config`` whose MACs (per image) stay within ``macs``.

    :func:`bracket_budget`'s ``under``: MACs grow monotonically with ``phi``, so this bisects
    ``phi`` (to ``tolerance``) using the analytic profile: milliseconds, no model built.
    ``macs`` is an int or an integral float (``4e9``). When no scaled member fits closer than
    ``config`` itself, it is returned unchanged with a ``UserWarning`` that says why and names
    the next member up with its MACs (:attr:`BudgetBracket.note`).

    Raises:
        ConfigError: ``macs`` is not a positive whole number, even the smallest member of
            the family (``phi`` = -10) is over budget, or the budget is past the largest member
            within scalenet's limits (``MAX_PARAMS`` parameters, the size limits of a config).

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.fit_budget(scalenet.ResNetConfig(), macs=4e9)
        >>> scalenet.profile(cfg).macs <= 4_000_000_000
        True
    """
    bracket = bracket_budget(config, macs, alpha=alpha, beta=beta, gamma=gamma, tolerance=tolerance)
    if bracket.over is None:  # no member within the limits reaches the budget
        raise ConfigError(
            "macs", macs,
            f"at most {bracket.under_macs:,}: the largest member of the family within "
            f"scalenet's limits (phi={bracket.under_phi:.3g}, under {MAX_PARAMS:,} parameters)",
        )  # fmt: skip
    if bracket.note:
        warnings.warn(f"fit_budget: {bracket.note}", UserWarning, stacklevel=2)
    return bracket.under

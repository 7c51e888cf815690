"""``scalenet scale``: a config's compound-scaled family, or its member that fits a MACs budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .._format import human
from ..config import ResNetConfig
from ..errors import ConfigError
from ..spec.scaling import ALPHA, BETA, GAMMA, MIN_GROWTH, bracket_budget, compound_scale

if TYPE_CHECKING:
    pass
from .group import _BASE, _DEPTH, _PHI, _FiniteRange, _load, main


def _member(
    config: ResNetConfig, phi: float, alpha: float, beta: float, gamma: float
) -> tuple[str, ResNetConfig]:
    """``("phi=PHI", config compound-scaled)``, or a usage error past the configs' limits."""
    try:
        return f"phi={phi:g}", compound_scale(config, phi, alpha=alpha, beta=beta, gamma=gamma)
    except ConfigError as err:
        raise click.BadParameter(f"phi={phi:g} is too large: {err}", param_hint="'--phi'") from None


@main.command("scale")
@click.argument("target")
@click.option("--phi", "phis", type=_PHI, multiple=True, help="Compound coefficients (repeat).")
@click.option("--alpha", type=_BASE, default=ALPHA, show_default=True, help="Depth base.")
@click.option("--beta", type=_BASE, default=BETA, show_default=True, help="Width base.")
@click.option("--gamma", type=_BASE, default=GAMMA, show_default=True, help="Resolution base.")
@click.option("--budget", type=_FiniteRange(1, 1e18), help="Fit a MACs budget (e.g. 4e9).")
@_DEPTH
def scale_command(
    target: str,
    phis: tuple[float, ...],
    alpha: float,
    beta: float,
    gamma: float,
    budget: float | None,
    depth: int | None,
) -> None:
    """Compound-scale TARGET (a ResNet zoo name or config JSON) and print the family.

    Without --phi, prints phi = 0..4 (the scalenet_b0..b4 rule on TARGET).
    """
    config, name = _load(target, depth)
    if not isinstance(config, ResNetConfig):
        raise click.UsageError(f"{name} is not a ResNet; compound scaling is for ResNets")
    if budget is not None and alpha * beta**2 * gamma**2 < MIN_GROWTH:  # as bracket_budget
        raise click.UsageError(
            f"--budget needs --alpha * --beta^2 * --gamma^2 >= {MIN_GROWTH} (MACs that grow "
            "with phi, so the search ends)"
        )
    from ..analysis.profile import profile

    family = [_member(config, phi, alpha, beta, gamma) for phi in phis or range(5)]
    note = ""
    if budget is not None:
        try:
            bracket = bracket_budget(config, int(budget), alpha=alpha, beta=beta, gamma=gamma)
        except ConfigError as err:
            raise click.BadParameter(str(err), param_hint="'--budget'") from None
        family.append((f"<= {human(budget)}", bracket.under))  # the fit, then the next step
        family += [(f"> {human(budget)}", bracket.over)] if bracket.over is not None else []
        note = bracket.note
    # A grouped or wide bottleneck gets a column "groups x per-group width in layer1" (the
    # ResNeXt paper's "32x4d"): scaling keeps the groups and grows the per-group width.
    grouped = config.block == "bottleneck" and (config.groups, config.base_width) != (1, 64)
    header = f"{'member':<16}{'depths':<18}{'width':>6}" + (f"{'Cxd':>9}" if grouped else "")
    click.echo(header + f"{'input':>7}{'params':>11}{'MACs':>11}{'x prev':>8}")
    previous = None
    for label, cfg in family:
        p = profile(cfg)
        ratio = f"{p.macs / previous:.2f}" if previous and label.startswith("phi") else ""
        previous = p.macs
        cxd = f"{cfg.groups}x{cfg.bottleneck_widths[0] // cfg.groups}d" if grouped else ""
        click.echo(
            f"{label:<16}{cfg.depths!s:<18}{cfg.width:>6}{cxd:>{9 if grouped else 0}}"
            f"{cfg.input_size:>7}{human(p.params):>11}{human(p.macs):>11}{ratio:>8}"
        )
    if note:
        click.echo(f"note: {note}")

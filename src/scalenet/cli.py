"""The ``scalenet`` command: list the zoo, summarise a model, check an input size.

Built on click (already installed with huggingface_hub). Every command takes a zoo name or the
path of a config JSON file: a saved model's ``config.json`` or ``config.to_dict()`` written out
(``{"family": "resnet", ...}``); ``--depth N`` turns a ResNet target into its ResNet-N. Every
option, the target and the model they make are checked before anything is printed: a bad one
is a usage error (exit 2) that shows the subcommand's usage.

Examples:
    >>> from click.testing import CliRunner
    >>> from scalenet.cli import main
    >>> CliRunner().invoke(main, ["check", "resnet50", "--input-size", "250"]).exit_code
    1
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from ._format import human
from .config import MAX_INPUT_SIZE, ResNetConfig, SimpleCNNConfig
from .config.depth import resnet_layout
from .errors import ConfigError, ScaleNetError, ShapeError
from .spec.plan import output_stride
from .spec.scaling import ALPHA, BETA, GAMMA, MIN_GROWTH, bracket_budget, compound_scale
from .spec.sizes import check_input_size, valid_input_sizes

if TYPE_CHECKING:
    from .analysis.report import LayerRow, Method, Optimizer

# Start-up time: `scalenet --help` and usage errors import no torch, and neither the zoo nor
# the file reader. The commands import what they use when they run: scalenet.profile (and
# torch) to count or measure.

Config = ResNetConfig | SimpleCNNConfig
_DTYPES = ("float32", "float16", "bfloat16")  # torch dtypes, by name
_UNITS = {"": 1.0, "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
_UNITS |= {"KIB": 1024.0, "MIB": 1024.0**2, "GIB": 1024.0**3, "TIB": 1024.0**4}


def _load(target: str, depth: int | None = None) -> tuple[Config, str]:
    """A zoo name or a config JSON file (named after its model's folder if a saved model's),
    rebuilt at ``depth`` (ResNet-``depth``) if given."""
    from .hub.save import read_config
    from .zoo import get_config

    path = Path(target)
    try:
        is_file = target.endswith(".json") or path.is_file()
    except OSError:  # e.g. ENAMETOOLONG: read_config names the error
        is_file = True
    if is_file:
        config, data = read_config(path)  # a ConfigError (a usage error) for any bad file
        name = path.resolve().parent.name if "model_args" in data else path.stem
    else:
        config, name = get_config(target), target
    if depth is None:
        return config, name
    return _at_depth(config, name, depth), f"{name} --depth {depth}"


def _at_depth(config: Config, name: str, depth: int) -> ResNetConfig:
    """``config`` as ResNet-``depth``: blocks per stage (and the block type for the ImageNet
    stem) as ``scalenet.resnet(depth=...)`` makes them; every other field kept."""
    if not isinstance(config, ResNetConfig):
        raise click.BadParameter(
            f"{name} is not a ResNet; --depth is for ResNets", param_hint="'--depth'"
        )
    block = config.block if config.stem == "cifar" else None
    try:
        depths, block = resnet_layout(depth, config.stem, block, wide=config.widen_factor > 1)
        return config.replace(depths=depths, block=block)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="'--depth'") from None


def _available_memory() -> int | None:
    """Bytes of memory free for a new allocation (Linux's MemAvailable, else the physical
    total where the OS says), or ``None`` where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _numel(row: LayerRow) -> int:
    return math.prod(row.output_shape)


class _FiniteRange(click.FloatRange):
    """A ``click.FloatRange`` that also rejects nan (which no comparison with a bound catches)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"nan is not in the range {self._describe_range()}.", param, ctx)
        return number


def _memory(ctx: click.Context, param: click.Parameter, text: str | None) -> tuple[str, int] | None:
    """``"24GiB" -> ("24GiB", 25769803776)``; decimal (KB, MB, GB, TB) and binary (KiB...) units."""
    if text is None:
        return None
    number = text.strip().rstrip("KMGTiBkmgtIb ")
    unit = text.strip()[len(number) :].strip().upper()
    try:
        size = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        size = math.nan
    if not 0 <= size <= 2**64:  # False for nan
        raise click.BadParameter(f"{text!r} is not a memory size up to 16EiB, like 16GB or 24GiB")
    return text, int(size)


#: EfficientNet's rule: alpha, beta, gamma >= 1 with alpha * beta**2 * gamma**2 about 2.
_BASE = _FiniteRange(1, 2)
#: From fit_budget's smallest member; past the config limits well before 100 (a usage error).
_PHI = _FiniteRange(-10, 100)
_INPUT_SIZE = click.IntRange(1, MAX_INPUT_SIZE)


class _ScaleNetCommand(click.Command):
    """A subcommand that turns scalenet's own errors into a usage error of its own context, so
    the message shows this command's usage line and ``--help`` hint; exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScaleNetError as err:  # a bad name, field, size or file: a usage error
            raise click.UsageError(str(err), ctx) from None


class _ScaleNetGroup(click.Group):
    """The ``scalenet`` group: every subcommand is a :class:`_ScaleNetCommand`."""

    command_class = _ScaleNetCommand


@click.group(cls=_ScaleNetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scalenet")
def main() -> None:
    """Scalable convolutional classifiers: list, summarise and check models."""


_DEPTH = click.option(
    "--depth",
    type=int,
    help="Build TARGET (a ResNet) as ResNet-DEPTH, as scalenet.resnet(depth=...) does.",
)


@main.command("list")
@click.argument("pattern", default="*")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "names"]),
    default="table",
    show_default=True,
    help="A text table, the docs' Markdown table, or bare names.",
)
@click.option(
    "--pretrained",
    is_flag=True,
    help="List the published weights (arch.tag, the default tag marked *): dataset, "
    "reported accuracy, source, licence. PATTERN matches arch.tag ('resnet50.*'; a pattern "
    "without a dot also matches the architecture's tags).",
)
def list_command(pattern: str, fmt: str, pretrained: bool) -> None:
    """List zoo models whose names match PATTERN (shell-style, default '*')."""
    if pretrained:
        _list_weights(pattern, fmt)
        return
    from .analysis.profile import profile
    from .analysis.tables import weights_cell, zoo_markdown
    from .zoo import ZOO, list_models

    names = list_models(pattern)
    if not names:
        raise click.ClickException(f"no model matches {pattern!r}")
    if fmt == "names":
        click.echo("\n".join(names))
    elif fmt == "markdown":
        click.echo(zoo_markdown(names))
    else:
        width = max(22, *(len(n) + 2 for n in names))
        click.echo(
            f"{'name':<{width}}{'params':>10}{'MACs':>12}{'input':>7}  {'weights':<24}description"
        )
        for name in names:
            entry = ZOO[name]
            p = profile(entry.config)
            size = f"{entry.config.input_size}"
            click.echo(
                f"{name:<{width}}{human(p.params):>10}{human(p.macs):>12}{size:>7}  "
                f"{weights_cell(entry):<24}{entry.description}"
            )
        click.echo(
            "weights: the default tag (pretrained=True loads it) and how many more "
            "(`scalenet list --pretrained`)"
        )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _list_weights(pattern: str, fmt: str) -> None:
    """``scalenet list --pretrained``: one row per arch.tag."""
    from .weights.catalog import default_tag, get_weights
    from .zoo import list_models

    patterns = [pattern] if "." in pattern else [pattern, f"{pattern}.*"]
    names = list_models(patterns, pretrained=True)
    if not names:
        raise click.ClickException(
            f"no published weights match {pattern!r} (`scalenet list --pretrained` lists them)"
        )
    if fmt == "names":
        click.echo("\n".join(names))
        return
    rows = []
    for name in names:
        w = get_weights(name)
        default = default_tag(w.arch) == w.tag
        rows.append((w, default))
    if fmt == "markdown":  # the table of docs/zoo.md
        from .analysis.tables import weights_markdown

        click.echo(weights_markdown(names))
        click.echo()
        click.echo("Top-1/top-5: as reported by each source (linked), not measured by scalenet.")
        return
    width = max(len(w.name) for w, _ in rows)
    click.echo(
        f"{'weights':<{width + 3}}{'dataset':<13}{'top-1':>7}{'top-5':>7}  {'licence':<14}source"
    )
    for w, default in rows:
        mark = " * " if default else "   "
        click.echo(
            f"{w.name:<{width}}{mark}{w.dataset:<13}{_percent(w.top1):>7}{_percent(w.top5):>7}"
            f"  {w.license:<14}{w.source}"
        )
    click.echo("* the architecture's default tag (pretrained=True without a tag)")
    click.echo("top-1/top-5 (%): as reported by each source, not measured by scalenet")


@main.command("convert")
@click.argument("name")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--overwrite",
    is_flag=True,
    help="Write into DIRECTORY even if it holds files (the model's files are replaced; "
    "others are kept).",
)
def convert_command(name: str, directory: Path, overwrite: bool) -> None:
    """Save the published weights NAME (arch.tag, or arch for its default tag) as a folder
    that scalenet.from_pretrained, timm's local-dir: and the Hub read.

    DIRECTORY gets model.safetensors, config.json and a model card that states the weights'
    source, licence, dataset and the accuracy the source reports. Upload it with
    scalenet.from_pretrained(DIRECTORY).push_to_hub("org/name").
    """
    from .errors import WeightsError
    from .integrations.export import export, occupied, resolve

    weights = resolve(name)  # an unknown name or tag: a usage error, with suggestions
    if occupied(directory) and not overwrite:
        what = "holds files" if directory.is_dir() else "is not a folder"
        raise click.BadParameter(
            f"{directory} {what}: give a new or empty folder"
            + (", or --overwrite to replace the model in it" if directory.is_dir() else ""),
            param_hint="'DIRECTORY'",
        )
    try:
        folder = export(weights.name, directory, overwrite=overwrite)
    except WeightsError as err:  # not a usage error: the file could not be had
        raise click.ClickException(str(err)) from None
    size = (folder / "model.safetensors").stat().st_size
    tag_note = "" if "." in name else f" (the default tag of {weights.arch})"
    click.echo(f"wrote {folder}: model.safetensors ({human(size)}B), config.json, README.md")
    click.echo(f"weights: {weights.name}{tag_note}, from {weights.file}")
    click.echo(f"licence: {weights.license}")
    reported = [
        f"{k} {v:g}%"
        for k, v in (("top-1", weights.top1), ("top-5", weights.top5))
        if v is not None
    ]
    if reported:
        click.echo(
            f"reported by the source: {', '.join(reported)} on {weights.dataset} "
            f"({weights.reported})"
        )
    click.echo(f'load: scalenet.from_pretrained("{folder}")')


@main.command()
@click.argument("target")
@click.option("--input-size", type=_INPUT_SIZE, help="Square input size (default: config's).")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Images per batch.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--method",
    type=click.Choice(["analytic", "fvcore", "torch"]),
    default="analytic",
    show_default=True,
    help="Count from the layer plan, or measure with fvcore / FlopCounterMode.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "sgd_nomomentum", "adam", "adamw"]),
    default="sgd",
    show_default=True,
    help="Optimizer state counted in the training memory.",
)
@click.option("--dtype", type=click.Choice(_DTYPES), default="float32", show_default=True)
@click.option(
    "--memory",
    callback=_memory,
    metavar="SIZE",
    help="Device memory (e.g. 24GiB): print the largest batch whose training memory fits.",
)
@_DEPTH
def summary(
    target: str,
    input_size: int | None,
    batch_size: int,
    fmt: str,
    method: str,
    optimizer: str,
    dtype: str,
    memory: tuple[str, int] | None,
    depth: int | None,
) -> None:
    """Parameters, MACs, per-layer table and memory of TARGET (zoo name or config JSON).

    The totals give torchsummary's size estimate, for comparison, and the training memory
    (weights, gradients, optimizer state, saved activations): use the latter for "will it
    fit"; --memory picks the batch by it.
    """
    config, name = _load(target, depth)  # a bad target is a usage error before torch loads
    import torch

    from .analysis.profile import profile

    p = profile(config, input_size, batch_size=batch_size)
    if method != "analytic":  # a real forward pass: every tensor must have an int64 numel
        largest = max([p.batch_size * p.in_chans * p.input_size**2, *map(_numel, p.rows)])
        if largest >= 2**63:
            raise click.BadParameter(
                f"{batch_size} is too large for --method {method}: a tensor would hold "
                f"{largest:,} elements, more than torch allows (2**63 - 1)",
                param_hint="'--batch-size'",
            )
        if method == "fvcore":  # it runs the model on real tensors, here, in float32
            need = 4 * (p.params + p.batch_size * p.in_chans * p.input_size**2 + p.activations)
            have = _available_memory()
            if have is not None and need > have // 2:
                raise click.BadParameter(
                    f"--method fvcore runs the model on this machine: about {human(need)}B "
                    f"for weights, input and every layer's output at batch {batch_size} and "
                    f"{p.input_size}x{p.input_size}, and {human(have)}B of memory is free "
                    "(at most half is used); use a smaller batch or input, or --method "
                    "analytic / torch, which allocate nothing",
                    param_hint="'--method' / '--batch-size' / '--input-size'",
                )
        p = profile(config, input_size, batch_size=batch_size, method=cast("Method", method))
    p = replace(p, name=name)
    opt, torch_dtype = cast("Optimizer", optimizer), getattr(torch, dtype)
    best = None if memory is None else p.max_batch_size(memory[1], opt, torch_dtype)
    if fmt == "json":
        data = p.to_dict()
        data["train_memory"] = {
            "optimizer": optimizer,
            "dtype": dtype,
            "batch_size": batch_size,
            "bytes": p.train_memory(batch_size, opt, torch_dtype),
        }
        if memory is not None:
            data["max_batch_size"] = {"memory": memory[0], "bytes": memory[1], "batch": best}
        click.echo(json.dumps(data, indent=2))
        return
    if fmt == "markdown":
        click.echo(p.to_markdown(optimizer=opt, dtype=torch_dtype))
    else:
        click.echo(p.table(optimizer=opt, dtype=torch_dtype))
    if memory is not None:
        if fmt == "markdown":
            click.echo()  # a paragraph of its own, not a line of the note's
        click.echo(f"Largest training batch in {memory[0]}: {best}")


@main.command()
@click.argument("target")
@click.option("--input-size", type=_INPUT_SIZE, required=True, help="Square input size to check.")
@_DEPTH
def check(target: str, input_size: int, depth: int | None) -> None:
    """Exit 0 if TARGET (zoo name or config JSON) takes INPUT_SIZE, else 1 with the reason."""
    config, name = _load(target, depth)
    try:
        check_input_size(config, input_size)
    except ShapeError as err:
        click.echo(f"{name}: {err}", err=True)
        raise SystemExit(1) from None
    sizes = valid_input_sizes(config, max(1, input_size - 64), min(input_size + 64, MAX_INPUT_SIZE))
    click.echo(
        f"{name}: input size {input_size} fits (output stride {output_stride(config)}; "
        f"valid sizes near it: {', '.join(map(str, sizes))})"
    )


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
    from .analysis.profile import profile

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

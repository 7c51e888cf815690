"""``scalenet list`` (the zoo, or its published weights) and ``scalenet convert`` (published
weights as a ``save_pretrained`` folder)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .._format import human

if TYPE_CHECKING:
    pass
from .group import main


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
    from ..analysis.profile import profile
    from ..analysis.tables import weights_cell, zoo_markdown
    from ..zoo import ZOO, list_models

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
    from ..weights.catalog import default_tag, get_weights
    from ..zoo import list_models

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
        from ..analysis.tables import weights_markdown

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
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="A copy of the weights' file you already have (as the source publishes it: .th, "
    ".pth, .safetensors), read instead of the download; checked against the source's hash.",
)
def convert_command(name: str, directory: Path, overwrite: bool, file: Path | None) -> None:
    """Save the published weights NAME (arch.tag, or arch for its default tag) as a folder
    that scalenet.from_pretrained, timm's local-dir: and the Hub read.

    DIRECTORY gets model.safetensors, config.json and a model card that states the weights'
    source, licence, dataset and the accuracy the source reports. Upload it with
    scalenet.from_pretrained(DIRECTORY).push_to_hub("org/name").
    """
    from ..errors import ConfigError, WeightsError
    from ..integrations.export import export, occupied, resolve

    weights = resolve(name)  # an unknown name or tag: a usage error, with suggestions
    try:
        taken = occupied(directory)
    except ConfigError as err:  # a name too long for the system...
        raise click.BadParameter(str(err), param_hint="'DIRECTORY'") from None
    if taken and not overwrite:
        what = "holds files" if directory.is_dir() else "is not a folder"
        raise click.BadParameter(
            f"{directory} {what}: give a new or empty folder"
            + (", or --overwrite to replace the model in it" if directory.is_dir() else ""),
            param_hint="'DIRECTORY'",
        )
    try:
        folder = export(weights.name, directory, overwrite=overwrite, file=file)
    except WeightsError as err:  # not a usage error: the file could not be had
        raise click.ClickException(str(err)) from None
    except ConfigError as err:  # the folder was filled by another process meanwhile
        raise click.BadParameter(str(err), param_hint="'DIRECTORY'") from None
    size = (folder / "model.safetensors").stat().st_size
    tag_note = "" if "." in name else f" (the default tag of {weights.arch})"
    click.echo(f"wrote {folder}: model.safetensors ({human(size)}B), config.json, README.md")
    click.echo(f"weights: {weights.name}{tag_note}, from {file or weights.file}")
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

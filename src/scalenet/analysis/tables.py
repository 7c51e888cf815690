"""The zoo and the weights catalogue as Markdown tables (``scalenet list --format markdown``,
``scalenet list --pretrained --format markdown``; ``docs/zoo.md`` holds both, and tests keep
them equal to the registry and the catalogue).

Examples:
    >>> import scalenet.analysis.tables
    >>> scalenet.analysis.tables.zoo_markdown(["resnet18"]).splitlines()[0].split(" | ")[:3]
    ['| name', 'timm name', 'params']
"""

from __future__ import annotations

from ..weights.catalog import CATALOG, DATASETS, get_weights
from ..zoo import ZOO, ZooEntry, list_models
from .profile import profile

__all__ = ["weights_cell", "weights_markdown", "zoo_markdown"]


def weights_cell(entry: ZooEntry) -> str:
    """``tv_in1k (+6)``: the default tag, and how many other tags there are; ``-``: none."""
    if not entry.weights:
        return "-"
    more = f" (+{len(entry.weights) - 1})" if len(entry.weights) > 1 else ""
    return f"{entry.weights[0].tag}{more}"


def zoo_markdown(names: list[str] | None = None) -> str:
    """The zoo as a Markdown table (name, params, MACs at the default size, input, the default
    tag of its published weights and how many it has, description).

    ``docs/zoo.md`` holds this table, and a test keeps it equal to the registry.

    Examples:
        >>> import scalenet
        >>> print(scalenet.analysis.tables.zoo_markdown(["resnet20_cifar"]).splitlines()[2])
        | `resnet20_cifar` | `resnet20_cifar` | 269,722 | 40,551,040 | 3x32x32 | akamaster...
    """
    lines = [
        "| name | timm name | params | MACs | input | weights (default tag) | description |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for name in list(ZOO) if names is None else names:
        entry = ZOO[name]
        p = profile(entry.config)
        c = entry.config
        lines.append(
            f"| `{name}` | `{entry.timm_name}` | {p.params:,} | {p.macs:,} | "
            f"{c.in_chans}x{c.input_size}x{c.input_size} | {weights_cell(entry)} | "
            f"{entry.description} |"
        )
    return "\n".join(lines)


def weights_markdown(names: list[str] | None = None) -> str:
    """Every published weight as a Markdown table: name (the default tag in bold), dataset,
    the top-1/top-5 its source reports (linked to where), params, MACs, licence, source.

    ``docs/zoo.md`` holds this table, and a test keeps it equal to the catalogue.

    Examples:
        >>> import scalenet
        >>> table = scalenet.analysis.tables.weights_markdown(["resnet20_cifar.akamaster_cifar10"])
        >>> print(table.splitlines()[2])
        | **`resnet20_cifar.akamaster_cifar10`** | CIFAR-10 | [91.73](https://github.com/...
    """
    lines = [
        "| weights | dataset | top-1 (reported) | top-5 (reported) | input | params | MACs | "
        "licence | source |",
        "|---|---|---:|---:|---|---:|---:|---|---|",
    ]
    chosen = list_models(pretrained=True) if names is None else names
    for name in chosen:
        weights = get_weights(name)
        default = CATALOG[weights.arch][0] is weights
        shown = f"**`{name}`**" if default else f"`{name}`"
        top1 = f"[{weights.top1}]({weights.reported})" if weights.top1 is not None else "-"
        top5 = f"{weights.top5}" if weights.top5 is not None else "-"
        size = f"{weights.input_size}" + (
            f" (test {weights.test_input_size})" if weights.test_input_size else ""
        )
        figures = profile(name)  # the architecture with the fields the weights need
        lines.append(
            f"| {shown} | {DATASETS[weights.dataset][0]} | {top1} | {top5} | "
            f"{size} | {figures.params:,} | {figures.macs:,} | {weights.license} | "
            f"{weights.source} |"
        )
    return "\n".join(lines)

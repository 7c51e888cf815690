"""``scalenet summary`` (parameters, MACs, memory, per-layer table) and ``scalenet check`` (does an
input size fit)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from typing import TYPE_CHECKING, cast

import click

from .._format import human
from ..config import MAX_INPUT_SIZE
from ..errors import ShapeError
from ..spec.plan import output_stride
from ..spec.sizes import check_input_size, valid_input_sizes

if TYPE_CHECKING:
    from ..analysis.report import LayerRow, Method, Optimizer
from .group import _DEPTH, _INPUT_SIZE, _load, main

_DTYPES = ("float32", "float16", "bfloat16")  # torch dtypes, by name
_UNITS = {"": 1.0, "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
_UNITS |= {"KIB": 1024.0, "MIB": 1024.0**2, "GIB": 1024.0**3, "TIB": 1024.0**4}


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

    from ..analysis.profile import profile

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

"""The plots of examples/train.py and examples/scaling_study.py (matplotlib): curves, learning
rate, confusion, per class, and accuracy against compute.

Each ``*_figure`` function returns the figure (tests read its axes); :func:`save_all` writes
``curves.png``, ``confusion.png`` and ``per_class.png``. Legends sit below the axes, never over
the data; lines never lie on the frame (the y-limits are padded); log axes label plain numbers
(0.2, not 2x10^-1), at least two of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

ANNOTATE_MAX_CLASSES = 20  # counts are written into the cells up to this many classes
PAD = 0.08  # the y-limits extend this share of the data's range beyond it (at least 1 unit)


def best_epoch(history: Sequence[dict[str, Any]]) -> int:
    """The epoch with the highest validation top-1 (the first such), as train.py keeps it."""
    best = max(h["val_top1"] for h in history)
    return next(h["epoch"] for h in history if h["val_top1"] == best)


def pad_ylim(ax: Axes, values: Sequence[float], least: float = 1.0) -> None:
    """Y-limits that leave room around ``values``: PAD of their range, at least ``least``."""
    lo, hi = min(values), max(values)
    pad = max(least, PAD * (hi - lo))
    ax.set_ylim(lo - pad, hi + pad)


def percent(value: float, _: object = None) -> str:
    """A tick label in %; none outside 0-100 (padding beyond 100% is not an accuracy)."""
    return f"{value:g}%" if -1e-9 <= value <= 100 + 1e-9 else ""


def plain_number(value: float, _: object = None) -> str:
    """0.2, 40, 1e+04: the shortest plain form (``:g``)."""
    return f"{value:g}"


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick positions for a log axis from ``lo`` to ``hi``: powers of ten, or 1-2-5, or 1..9
    times them, whichever first gives at least three ticks in the range; where even 1..9 gives
    fewer than two (a range inside one step), evenly spaced round numbers."""
    ticks: list[float] = []
    for subs in ((1,), (1, 2, 5), range(1, 10)):
        ticks = [
            m * 10.0**k
            for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
            for m in subs
            if lo <= m * 10.0**k <= hi
        ]
        if len(ticks) >= 3:
            return ticks
    if len(ticks) >= 2:
        return ticks
    locator = MaxNLocator(nbins=4, steps=[1, 2, 5, 10])
    return [float(t) for t in locator.tick_values(lo, hi) if lo <= t <= hi]


def label_log_axis(ax: Axes, axis: str = "y") -> None:
    """Label a log axis with :func:`log_ticks` of its current limits, as plain numbers."""
    which = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    which.set_major_locator(FixedLocator(log_ticks(lo, hi)))
    which.set_major_formatter(FuncFormatter(plain_number))
    which.set_minor_formatter(NullFormatter())


def legend_below(ax: Axes) -> None:
    """The axes' legend under it, outside the plotting area."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=9, frameon=False)


def curves_figure(
    history: Sequence[dict[str, Any]], lr_epochs: Sequence[float], lrs: Sequence[float]
) -> Figure:
    """Loss (log axis), accuracy in %, and the learning rate of every step, against epochs;
    the best epoch (highest validation top-1) is marked on each."""
    epochs = [h["epoch"] for h in history]
    best = best_epoch(history)
    fig, (loss_ax, acc_ax, lr_ax) = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
    losses, accuracies = [], []
    for split, style in (("train", "o-"), ("val", "s-")):
        losses += [h[f"{split}_loss"] for h in history]
        accuracies += [100 * h[f"{split}_top1"] for h in history]
        loss_ax.plot(epochs, losses[-len(history) :], style, label=split)
        acc_ax.plot(epochs, accuracies[-len(history) :], style, label=f"{split}")
    if "val_balanced_acc" in history[0]:
        balanced = [100 * h["val_balanced_acc"] for h in history]
        accuracies += balanced
        acc_ax.plot(epochs, balanced, "^--", label="val balanced")
    loss_ax.set_yscale("log")
    low, high = min(losses), max(losses)
    loss_ax.set_ylim(low / (high / low) ** PAD / 1.05, high * (high / low) ** PAD * 1.05)
    label_log_axis(loss_ax)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="top-1 accuracy", title="accuracy")
    pad_ylim(acc_ax, accuracies, least=2.0)
    acc_ax.yaxis.set_major_formatter(FuncFormatter(percent))
    lr_ax.plot(lr_epochs, lrs, "-", label="learning rate")
    pad_ylim(lr_ax, lrs, least=0.05 * max(max(lrs), 1e-12))
    lr_ax.set(xlabel="epoch", ylabel="learning rate", title="learning-rate schedule")
    top = 100 * max(h["val_top1"] for h in history)
    for ax in (loss_ax, acc_ax, lr_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
        ax.grid(alpha=0.3)
    acc_ax.plot([best], [top], "*", color="black", markersize=12, label=f"best {top:.2f}%")
    for ax in (loss_ax, acc_ax, lr_ax):
        legend_below(ax)
    return fig


def confusion_figure(confusion: torch.Tensor, classes: Sequence[str]) -> Figure:
    """The confusion matrix twice: counts (written in the cells) and row-normalised (% of each
    true class), rows = true class, columns = predicted class."""
    counts = confusion.double().cpu()
    rows = counts.sum(1, keepdim=True)
    normalised = torch.where(rows > 0, 100 * counts / rows.clamp_min(1), 0.0)
    k = len(classes)
    side = max(5.0, 0.45 * k + 2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1, side), layout="constrained")
    for ax, values, title, fmt in (
        (axes[0], counts, "test confusion matrix (counts)", "{:.0f}"),
        (axes[1], normalised, "row-normalised (% of each true class)", "{:.0f}"),
    ):
        im = ax.imshow(values.numpy(), cmap="Blues")
        ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
        ax.set_xticklabels(classes, rotation=90)
        ax.set_yticklabels(classes)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if k <= ANNOTATE_MAX_CLASSES:
            high = float(values.max()) / 2
            for t in range(k):
                for p in range(k):
                    v = float(values[t, p])
                    ax.text(
                        p, t, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if v > high else "black",
                    )  # fmt: skip
    return fig


def per_class_figure(
    accuracy: Sequence[float], classes: Sequence[str], counts: Sequence[int]
) -> Figure:
    """Test accuracy of each class as a bar chart, in %, with the mean as a line; each class's
    test images (n) under its name."""
    values = [100 * a for a in accuracy]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(classes) + 2), 4.4), layout="constrained")
    bars = ax.bar(range(len(classes)), values)
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    mean = sum(values) / len(values)
    ax.axhline(mean, color="grey", linestyle="--")
    ax.set(
        xticks=range(len(classes)), ylim=(0, 108), ylabel="test accuracy",
        title=f"test accuracy per class\n(dashed: the mean, {mean:.1f}% = balanced accuracy)",
    )  # fmt: skip
    rotate = len(classes) > 10
    joint = " " if rotate else "\n"
    ax.set_xticklabels(
        [f"{c}{joint}(n={n})" for c, n in zip(classes, counts, strict=True)],
        rotation=90 if rotate else 0,
        fontsize=8,
    )
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    return fig


def scaling_figure(results: Sequence[dict[str, Any]]) -> Figure:
    """Test top-1 (%) against MMACs per image (log axis, plain numbers), one point a variant;
    with several seeds, the point is the mean and a bar spans the lowest to the highest."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    tops: list[float] = []
    for r in results:
        macs, top1 = float(r["macs"]) / 1e6, 100 * float(r["top1"])
        low, high = (
            100 * float(r.get("top1_min", r["top1"])),
            100 * float(r.get("top1_max", r["top1"])),
        )
        tops += [low, high]
        ax.errorbar([macs], [top1], yerr=[[top1 - low], [high - top1]], fmt="o", capsize=3)
        ax.annotate(str(r["variant"]), (macs, top1), textcoords="offset points", xytext=(5, 5))
    ax.set_xscale("log")
    macs = [float(r["macs"]) / 1e6 for r in results]
    ax.set_xlim(min(macs) / 1.25, max(macs) * 1.6)  # room for the names on the right
    label_log_axis(ax, "x")
    pad_ylim(ax, tops, least=2.0)
    ax.yaxis.set_major_formatter(FuncFormatter(percent))
    ax.set(
        xlabel="MMACs per image (log scale)", ylabel="test top-1", title="accuracy against compute"
    )
    ax.grid(alpha=0.3)
    return fig


def save_all(
    out: Path,
    history: Sequence[dict[str, Any]],
    lr_epochs: Sequence[float],
    lrs: Sequence[float],
    confusion: torch.Tensor,
    per_class: Sequence[float],
    classes: Sequence[str],
) -> list[Path]:
    """Write the three PNGs into ``out``; returns their paths."""
    figures = {
        "curves.png": curves_figure(history, lr_epochs, lrs),
        "confusion.png": confusion_figure(confusion, classes),
        "per_class.png": per_class_figure(per_class, classes, confusion.sum(1).tolist()),
    }
    paths = []
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        paths.append(out / name)
    return paths

"""The plots of examples/train.py (matplotlib): curves, learning rate, confusion, per class.

Each ``*_figure`` function returns the figure (tests read its axes); :func:`save_all` writes
``curves.png``, ``confusion.png`` and ``per_class.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

ANNOTATE_MAX_CLASSES = 20  # counts are written into the cells up to this many classes


def best_epoch(history: Sequence[dict[str, Any]]) -> int:
    """The epoch with the highest validation top-1 (the first such), as train.py keeps it."""
    best = max(h["val_top1"] for h in history)
    return next(h["epoch"] for h in history if h["val_top1"] == best)


def curves_figure(
    history: Sequence[dict[str, Any]], lr_epochs: Sequence[float], lrs: Sequence[float]
) -> Figure:
    """Loss (log axis), accuracy in %, and the learning rate of every step, against epochs;
    the best epoch (highest validation top-1) is marked on each."""
    epochs = [h["epoch"] for h in history]
    best = best_epoch(history)
    fig, (loss_ax, acc_ax, lr_ax) = plt.subplots(1, 3, figsize=(15, 4.2))
    for split, style in (("train", "o-"), ("val", "s-")):
        loss_ax.plot(epochs, [h[f"{split}_loss"] for h in history], style, label=split)
        acc_ax.plot(epochs, [100 * h[f"{split}_top1"] for h in history], style, label=f"{split}")
    if "val_balanced_acc" in history[0]:
        acc_ax.plot(
            epochs, [100 * h["val_balanced_acc"] for h in history], "^--", label="val balanced"
        )
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="top-1 accuracy", title="accuracy")
    acc_ax.yaxis.set_major_formatter(PercentFormatter(100))
    lr_ax.plot(lr_epochs, lrs, "-")
    lr_ax.set(xlabel="epoch", ylabel="learning rate", title="learning-rate schedule")
    top = 100 * max(h["val_top1"] for h in history)
    for ax in (loss_ax, acc_ax, lr_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
        ax.grid(alpha=0.3)
    acc_ax.plot([best], [top], "*", color="black", markersize=12, label=f"best {top:.2f}%")
    loss_ax.legend()
    acc_ax.legend()
    lr_ax.legend()
    fig.tight_layout()
    return fig


def confusion_figure(confusion: torch.Tensor, classes: Sequence[str]) -> Figure:
    """The confusion matrix twice: counts (written in the cells) and row-normalised (% of each
    true class), rows = true class, columns = predicted class."""
    counts = confusion.double().cpu()
    rows = counts.sum(1, keepdim=True)
    normalised = torch.where(rows > 0, 100 * counts / rows.clamp_min(1), 0.0)
    k = len(classes)
    side = max(5.0, 0.45 * k + 2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1, side))
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
    fig.tight_layout()
    return fig


def per_class_figure(accuracy: Sequence[float], classes: Sequence[str]) -> Figure:
    """Test accuracy of each class as a bar chart, in %, with the mean as a line."""
    values = [100 * a for a in accuracy]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(classes) + 2), 4))
    bars = ax.bar(range(len(classes)), values)
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    mean = sum(values) / len(values)
    ax.axhline(mean, color="grey", linestyle="--")
    ax.set(
        xticks=range(len(classes)), ylim=(0, 108), ylabel="test accuracy",
        title=f"test accuracy per class (dashed: the mean, {mean:.1f}% = balanced accuracy)",
    )  # fmt: skip
    ax.set_xticklabels(classes, rotation=90 if len(classes) > 10 else 0)
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    fig.tight_layout()
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
        "per_class.png": per_class_figure(per_class, classes),
    }
    paths = []
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        paths.append(out / name)
    return paths

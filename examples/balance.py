"""Class imbalance for examples/train.py: balancing weights and the collapse warning."""

from __future__ import annotations

from collections.abc import Sequence

import torch

# Training labels are imbalanced when the largest class has at least this many times the
# images of the smallest.
IMBALANCE_RATIO = 1.5
# A model "collapses" when at least this share of its predictions is one class c and fewer
# than COLLAPSE_OTHERS of the images of the other classes are classified correctly.
COLLAPSE_SHARE = 0.9
COLLAPSE_OTHERS = 0.1


def class_counts(targets: Sequence[int], classes: int) -> torch.Tensor:
    return torch.bincount(torch.as_tensor(list(targets), dtype=torch.int64), minlength=classes)


def loss_weights(targets: Sequence[int], classes: int) -> torch.Tensor:
    """``--balance loss``: class c weighs n / (classes * n_c) in the cross-entropy (scikit-learn's
    ``class_weight="balanced"``), so every class contributes equally; 0 for absent classes."""
    counts = class_counts(targets, classes).double()
    weights = len(targets) / (classes * counts)
    return torch.where(counts > 0, weights, 0.0).float()


def sample_weights(targets: Sequence[int], classes: int) -> torch.Tensor:
    """``--balance sampler``: image i is drawn with probability proportional to 1 / n_{y_i}, so
    every class is drawn equally often in expectation."""
    counts = class_counts(targets, classes).double()
    return 1.0 / counts[torch.as_tensor(list(targets), dtype=torch.int64)]


def imbalance_advice(targets: Sequence[int], classes: int, balance: str = "none") -> str | None:
    """What to try when the predictions collapse: balancing, where the training labels are
    imbalanced (see IMBALANCE_RATIO) and ``balance`` (train.py's --balance) is "none"; else None.

    Examples:
        >>> print(imbalance_advice([0] * 90 + [1] * 10, 2))
        Imbalanced training classes (90 to 10 images): try --balance sampler or --balance loss
        >>> imbalance_advice([0] * 90 + [1] * 10, 2, "sampler") is None
        True
    """
    counts = class_counts(targets, classes)
    present = counts[counts > 0]
    most, least = int(present.max()), int(present.min())
    if balance != "none" or most < IMBALANCE_RATIO * least:
        return None
    return (
        f"Imbalanced training classes ({most} to {least} images): try --balance sampler or "
        "--balance loss"
    )


def collapse_message(confusion: torch.Tensor, classes: Sequence[str]) -> str | None:
    """What the predictions do when they collapse onto one class (see COLLAPSE_SHARE), else
    None; train.py adds what to try (:func:`imbalance_advice`).

    ``confusion[t, p]`` counts images of true class t predicted as p.
    """
    confusion = confusion.double().cpu()
    total = float(confusion.sum())
    if total == 0:
        return None
    predicted, support = confusion.sum(0), confusion.sum(1)
    c = int(predicted.argmax())
    share = float(predicted[c]) / total
    others = total - float(support[c])
    correct_others = float(confusion.diagonal().sum() - confusion[c, c])
    if share < COLLAPSE_SHARE or others == 0 or correct_others / others >= COLLAPSE_OTHERS:
        return None
    accuracy = float(confusion.diagonal().sum()) / total
    majority = int(support.argmax())
    rate = float(support[majority]) / total
    if c == majority and abs(accuracy - rate) < 0.005:
        compare = f"accuracy ({100 * accuracy:.1f}%) equals the majority-class rate"
    else:
        compare = (
            f"accuracy {100 * accuracy:.1f}%, majority-class rate {100 * rate:.1f}%"
            f" (class {classes[majority]!r})"
        )
    return f"predicts class {classes[c]!r} for {100 * share:.0f}% of images; {compare}"

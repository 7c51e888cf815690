"""Class imbalance for examples/train.py: balancing weights and the collapse warning."""

from __future__ import annotations

from collections.abc import Sequence

import torch

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


def collapse_message(confusion: torch.Tensor, classes: Sequence[str]) -> str | None:
    """A warning when the predictions collapse onto one class (see COLLAPSE_SHARE), else None.

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
    return (
        f"predicts class {classes[c]!r} for {100 * share:.0f}% of images; {compare}. "
        "The classes may be imbalanced (try --balance sampler or --balance loss) or the "
        "learning rate too high"
    )

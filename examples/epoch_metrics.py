"""The metrics of examples/train.py, computed by torchmetrics without a host sync every step."""

from __future__ import annotations

from typing import Any

import torch
import torchmetrics


class Metrics:
    """Loss, top-1, top-3, balanced accuracy, macro-F1, per-class accuracy and the confusion
    matrix (torchmetrics), reduced over all ranks. Batches are buffered on the device and handed
    to torchmetrics every FLUSH steps, so the training loop does not wait for the device each
    step (torchmetrics' updates synchronise)."""

    FLUSH = 50

    def __init__(self, classes: int, device: torch.device) -> None:
        kw: dict[str, Any] = {"task": "multiclass", "num_classes": classes}
        self.collection = torchmetrics.MetricCollection(
            {
                "top1": torchmetrics.Accuracy(**kw),
                "top3": torchmetrics.Accuracy(**kw, top_k=min(3, classes)),
                # the mean of the per-class recalls: balanced accuracy
                "balanced_acc": torchmetrics.Recall(**kw, average="macro"),
                "macro_f1": torchmetrics.F1Score(**kw, average="macro"),
            }
        ).to(device)
        self.loss = torchmetrics.MeanMetric().to(device)
        self.per_class = torchmetrics.Accuracy(**kw, average="none").to(device)
        self.confusion = torchmetrics.ConfusionMatrix(**kw).to(device)
        self.buffer: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def reset(self) -> None:
        for m in (self.collection, self.loss, self.per_class, self.confusion):
            m.reset()
        self.buffer = []

    def update(self, logits: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        self.buffer.append((logits.detach().float(), y, loss.detach().float().reshape(1)))
        if len(self.buffer) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        logits = torch.cat([b[0] for b in self.buffer])
        y = torch.cat([b[1] for b in self.buffer])
        losses = torch.cat([b[2] for b in self.buffer])
        counts = torch.tensor([len(b[1]) for b in self.buffer], device=losses.device)
        self.buffer = []
        self.collection.update(logits, y)
        self.loss.update(losses, weight=counts.to(losses.dtype))
        self.per_class.update(logits, y)
        self.confusion.update(logits, y)

    def compute(self) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
        """(scalars, per-class accuracy, confusion matrix [true, predicted])."""
        self.flush()
        scalars = {"loss": float(self.loss.compute())}
        scalars |= {k: float(v) for k, v in self.collection.compute().items()}
        return scalars, self.per_class.compute().cpu(), self.confusion.compute().cpu()

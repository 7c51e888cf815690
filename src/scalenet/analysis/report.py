"""What a network costs, as data: :class:`Profile` (totals, memory estimates, tables) and
its :class:`LayerRow` rows. :func:`scalenet.profile` makes them (analytic from the layer plan,
or measured); the conventions are :mod:`scalenet.analysis.profile`'s.

Examples:
    >>> import scalenet
    >>> p = scalenet.profile("resnet20_cifar")
    >>> p.flops == 2 * p.macs, p.rows[0].name
    (True, 'conv1')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

import torch

from .._format import human
from ..errors import ConfigError

__all__ = ["MB", "LayerRow", "Method", "Optimizer", "Profile"]

Method = Literal["analytic", "fvcore", "torch"]
Optimizer = Literal["sgd", "sgd_nomomentum", "adam", "adamw"]
_OPTIMIZER_STATES = {"sgd": 1, "sgd_nomomentum": 0, "adam": 2, "adamw": 2}
MB = 1024**2


class LayerRow(NamedTuple):
    """One layer of a profile (sizes include the batch); an immutable named tuple."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


@dataclass(frozen=True)
class Profile:
    """What a network costs, for one forward pass of ``batch_size`` images.

    Attributes:
        name: the zoo name or a short description.
        method: ``"analytic"``, ``"fvcore"`` or ``"torch"``.
        input_size, in_chans, batch_size: the input the figures are for.
        params, trainable_params: parameter counts.
        macs: conv + linear multiply-accumulates for the batch.
        other_ops: non-MAC work by kind (see the module docstring), for the batch.
        activations: elements of every layer's output, for the batch.
        saved_elements: elements per image that autograd keeps for the backward pass
            (analytic in every method), by dtype size class: float elements and
            ``index_bytes`` / ``mask_bytes`` of max-pool indices and dropout masks.
        rows: per-layer figures.
    """

    name: str
    method: str
    input_size: int
    in_chans: int
    batch_size: int
    params: int
    trainable_params: int
    macs: int
    other_ops: dict[str, int]
    activations: int
    saved_elements: int
    index_bytes: int
    mask_bytes: int
    rows: tuple[LayerRow, ...] = field(repr=False)

    @property
    def flops(self) -> int:
        """``2 * macs``."""
        return 2 * self.macs

    @property
    def param_bytes(self) -> int:
        """Bytes of the parameters in float32."""
        return 4 * self.params

    @property
    def input_bytes(self) -> int:
        """Bytes of the input batch in float32."""
        return 4 * self.batch_size * self.in_chans * self.input_size**2

    @property
    def forward_backward_bytes(self) -> int:
        """torchsummary's "forward/backward pass size": every output and its gradient, float32."""
        return 2 * 4 * self.activations

    @property
    def total_bytes(self) -> int:
        """torchsummary's "estimated total size": input + forward/backward + params."""
        return self.input_bytes + self.forward_backward_bytes + self.param_bytes

    def saved_bytes(self, batch_size: int | None = None, dtype: torch.dtype = torch.float32) -> int:
        """Bytes autograd saves for backward in a training forward pass."""
        b = self.batch_size if batch_size is None else batch_size
        itemsize = torch.empty((), dtype=dtype).element_size()
        return b * (self.saved_elements * itemsize + self.index_bytes + self.mask_bytes)

    def train_memory(
        self,
        batch_size: int | None = None,
        optimizer: Optimizer = "sgd",
        dtype: torch.dtype = torch.float32,
    ) -> int:
        """Bytes of one training step: weights + gradients + optimizer state + saved activations.

        ``optimizer="sgd"`` means SGD with momentum (one state tensor per parameter),
        ``"sgd_nomomentum"`` none, ``"adam"``/``"adamw"`` two. Allocator slack, the
        framework's workspace and the transient tensors of the backward pass are not included.

        Examples:
            >>> import scalenet
            >>> p = scalenet.profile("resnet20_cifar")
            >>> p.train_memory(128) < p.train_memory(256)
            True
        """
        if optimizer not in _OPTIMIZER_STATES:
            raise ConfigError("optimizer", optimizer, "one of " + ", ".join(_OPTIMIZER_STATES))
        itemsize = torch.empty((), dtype=dtype).element_size()
        weights = self.params * itemsize * (2 + _OPTIMIZER_STATES[optimizer])
        return weights + self.saved_bytes(batch_size, dtype)

    def max_batch_size(
        self,
        memory_bytes: int,
        optimizer: Optimizer = "sgd",
        dtype: torch.dtype = torch.float32,
    ) -> int:
        """The largest batch whose :meth:`train_memory` fits in ``memory_bytes`` (0 if none).

        Examples:
            >>> import scalenet
            >>> p = scalenet.profile("resnet50")
            >>> b = p.max_batch_size(16 * 1024**3)
            >>> p.train_memory(b) <= 16 * 1024**3 < p.train_memory(b + 1)
            True
        """
        fixed = self.train_memory(0, optimizer, dtype)
        per_image = self.saved_bytes(1, dtype)
        return max(0, (memory_bytes - fixed) // per_image) if per_image else 0

    def __str__(self) -> str:
        size = f"{self.input_size}x{self.input_size}"
        batch = f", batch {self.batch_size}" if self.batch_size != 1 else ""
        return (
            f"{self.name}: {human(self.params)} params, {human(self.macs, 'MACs')} at {size}{batch}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Every figure as exact integers (JSON-ready), rows included.

        Examples:
            >>> import scalenet
            >>> scalenet.profile("resnet18").to_dict()["macs"]
            1814073344
        """
        out = asdict(self)
        out["rows"] = [r._asdict() for r in self.rows]
        out |= {
            "flops": self.flops,
            "param_bytes": self.param_bytes,
            "input_bytes": self.input_bytes,
            "forward_backward_bytes": self.forward_backward_bytes,
            "total_bytes": self.total_bytes,
            "saved_bytes": self.saved_bytes(),
            "train_memory_sgd": self.train_memory(),
        }
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def _totals(self, optimizer: Optimizer, dtype: torch.dtype) -> list[tuple[str, str]]:
        other = ", ".join(f"{k} {human(v)}" for k, v in self.other_ops.items() if v)
        dtype_name = str(dtype).removeprefix("torch.")
        return [
            ("Total params", f"{self.params:,}"),
            ("Trainable params", f"{self.trainable_params:,}"),
            ("Non-trainable params", f"{self.params - self.trainable_params:,}"),
            ("MACs (conv + linear)", f"{self.macs:,} ({human(self.macs, 'MACs')})"),
            ("FLOPs (2 x MACs)", human(self.flops, "FLOPs")),
            ("Other ops (not in MACs)", other or "none"),
            ("Input size (MB)", f"{self.input_bytes / MB:.2f}"),
            ("Forward/backward pass size (MB)", f"{self.forward_backward_bytes / MB:.2f}"),
            ("Params size (MB)", f"{self.param_bytes / MB:.2f}"),
            ("Estimated total size, torchsummary's rule (MB)", f"{self.total_bytes / MB:.2f}"),
            (
                f"Training memory, {optimizer}, {dtype_name}, batch {self.batch_size} (MB)",
                f"{self.train_memory(None, optimizer, dtype) / MB:.2f}",
            ),
        ]

    def fit_note(self, optimizer: Optimizer = "sgd", dtype: torch.dtype = torch.float32) -> str:
        """Which memory figure answers "will it fit", and why torchsummary's differs (one line).

        Examples:
            >>> import scalenet
            >>> print(scalenet.profile("resnet18").fit_note())
            Will it fit? Use the training memory (the model behind max_batch_size);
            torchsummary's rule is smaller: it counts the weights once, without gradients or
            optimizer state.
        """
        use = "Will it fit? Use the training memory (the model behind max_batch_size)"
        if self.total_bytes >= self.train_memory(None, optimizer, dtype):
            why = (
                "larger: it counts every layer's output and its gradient in float32, not only "
                "what autograd saves for backward"
            )
        else:
            why = "smaller: it counts the weights once, without gradients or optimizer state"
        return f"{use}; torchsummary's rule is {why}."

    def table(
        self,
        kinds: Iterable[str] | None = None,
        *,
        optimizer: Optimizer = "sgd",
        dtype: torch.dtype = torch.float32,
    ) -> str:
        """A plain-text summary like torchsummary's: layer, output shape, params, MACs; totals.

        ``kinds`` limits the rows (e.g. ``("conv", "linear")``); totals always cover everything.
        The totals give torchsummary's size estimate (for comparison with reports that use it)
        and :meth:`train_memory` for ``optimizer`` and ``dtype``, then :meth:`fit_note`: which
        of the two to use for "will it fit".

        Examples:
            >>> import scalenet
            >>> p = scalenet.profile("resnet50", batch_size=128)
            >>> print("\\n".join(p.table().splitlines()[-6:]))
            Input size (MB): 73.50
            Forward/backward pass size (MB): 36679.48
            Params size (MB): 97.49
            Estimated total size, torchsummary's rule (MB): 36850.47
            Training memory, sgd, float32, batch 128 (MB): 10779.48
            Will it fit? Use the training memory (the model behind max_batch_size);
            torchsummary's rule is larger: it counts every layer's output and its gradient in
            float32, not only what autograd saves for backward.
        """
        keep = set(kinds) if kinds is not None else None
        rows = [r for r in self.rows if keep is None or r.kind in keep]
        header = ("Layer (type)", "Output Shape", "Param #", "MACs")
        body = [
            (f"{r.name} ({r.kind})", str(list(r.output_shape)), f"{r.params:,}", f"{r.macs:,}")
            for r in rows
        ]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
        line = "-" * (sum(widths) + 6)

        def fmt(row: tuple[str, str, str, str]) -> str:
            return "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )

        out = [str(self), line, fmt(header), "=" * len(line), *map(fmt, body), "=" * len(line)]
        out += [f"{k}: {v}" for k, v in self._totals(optimizer, dtype)]
        return "\n".join([*out, self.fit_note(optimizer, dtype)])

    def to_markdown(
        self, *, optimizer: Optimizer = "sgd", dtype: torch.dtype = torch.float32
    ) -> str:
        """The same summary as :meth:`table`: a Markdown table, a totals table, the fit note.

        Examples:
            >>> import scalenet
            >>> md = scalenet.profile("resnet20_cifar").to_markdown(optimizer="adam")
            >>> md.splitlines()[-3]
            '| Training memory, adam, float32, batch 1 (MB) | 5.57 |'
        """
        out = [
            f"**{self}**",
            "",
            "| layer | type | output shape | params | MACs |",
            "|---|---|---|---:|---:|",
        ]
        out += [
            f"| `{r.name}` | {r.kind} | {list(r.output_shape)} | {r.params:,} | {r.macs:,} |"
            for r in self.rows
        ]
        out += ["", "| total | value |", "|---|---:|"]
        out += [f"| {k} | {v} |" for k, v in self._totals(optimizer, dtype)]
        return "\n".join([*out, "", self.fit_note(optimizer, dtype)])

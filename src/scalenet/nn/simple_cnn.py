"""A configurable plain CNN: conv(+BN)+ReLU(+pool) blocks and a classifier of linear layers.

The first linear layer's input size comes from the layer plan, so a user never computes it.

Examples:
    >>> import torch, scalenet
    >>> model = scalenet.SimpleCNN(scalenet.SimpleCNNConfig(channels=(8, 16), input_size=28,
    ...                                                     in_chans=1))
    >>> model.flat_features  # 16 channels x 7 x 7 after two 2x2 pools
    784
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..config import SimpleCNNConfig
from ..spec.plan import plan
from .base import ScaleNetModel
from .blocks import checkpoint_seq

__all__ = ["ConvBlock", "SimpleCNN"]


class ConvBlock(nn.Module):
    """conv, optional BN, ReLU, optional 2x2/2 pool."""

    def __init__(self, cin: int, cout: int, config: SimpleCNNConfig) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            cin, cout, config.kernel_size, padding=config.conv_padding, bias=config.conv_bias
        )
        self.bn: nn.Module = nn.BatchNorm2d(cout) if config.batch_norm else nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.pool: nn.Module
        if config.pool == "max":
            self.pool = nn.MaxPool2d(2, 2)
        elif config.pool == "avg":
            self.pool = nn.AvgPool2d(2, 2)
        else:
            self.pool = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.pool(self.act(self.bn(self.conv(x))))
        return out


class HiddenLayer(nn.Module):
    """dropout, linear, ReLU."""

    def __init__(self, cin: int, cout: int, dropout: float) -> None:
        super().__init__()
        self.drop: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(cin, cout)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.act(self.fc(self.drop(x)))
        return out


class SimpleCNN(ScaleNetModel):
    """A plain CNN that follows its config's layer plan.

    Without ``global_pool`` the classifier flattens the last feature map, so the model accepts
    exactly its ``input_size``; any other size is a :class:`~scalenet.errors.ShapeError` that
    says so (not a matmul error).
    """

    config: SimpleCNNConfig

    def __init__(self, config: SimpleCNNConfig) -> None:
        super().__init__(config)
        flat = next(s for s in plan(config) if s.kind == "flatten")
        cin = config.in_chans
        blocks = []
        reduction = 1
        for i, cout in enumerate(config.channels):
            blocks.append(ConvBlock(cin, cout, config))
            reduction *= 1 if config.pool == "none" else 2
            self.feature_info.append(
                {"num_chs": cout, "reduction": reduction, "module": f"features.{i}"}
            )
            cin = cout
        self.features = nn.Sequential(*blocks)
        self.global_pool: nn.Module = (
            nn.AdaptiveAvgPool2d(1) if config.global_pool else nn.Identity()
        )
        if not config.global_pool:
            self.fixed_input_size = config.input_size
        self.num_features = cin
        #: inputs of the first linear layer (C x H x W of the last map, or C when pooled)
        self.flat_features = flat.out_channels
        width = self.flat_features
        hidden = []
        for h in config.hidden:
            hidden.append(HiddenLayer(width, h, config.dropout))
            width = h
        self.hidden = nn.Sequential(*hidden)
        self.head_hidden_size = width
        self.drop: nn.Module = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(width, config.num_classes) if config.num_classes else nn.Identity()

    def _input_weight(self) -> Tensor:
        # getattr: typed Any for mypy, where TorchScript compiles it like the attribute
        weight: Tensor = getattr(self.features[0], "conv").weight  # noqa: B009
        return weight

    def forward_features(self, x: Tensor) -> Tensor:
        """The conv blocks: the last feature map."""
        if not torch.jit.is_scripting() and self.grad_checkpointing:  # type: ignore[attr-defined]
            return checkpoint_seq(self.features, x)
        out: Tensor = self.features(x)
        return out

    def _intermediates(
        self, x: Tensor, take: list[int], last: int, norm: bool = False
    ) -> tuple[Tensor, list[Tensor]]:
        maps = []
        for level, block in enumerate(list(self.features.children())[: last + 1]):
            x = checkpoint(block, x, use_reentrant=False) if self.grad_checkpointing else block(x)
            if level in take:
                maps.append(x)
        return x, maps

    def _drop_levels_after(self, last: int) -> bool:
        dropped = last < len(self.features) - 1
        self.features = self.features[: last + 1]
        return dropped

    def _drop_head(self) -> None:
        self.hidden = nn.Sequential()  # the hidden layers belong to the head
        super()._drop_head()

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(Global pool,) flatten, hidden layers, dropout and the output layer."""
        if self.global_pool_type == "":
            return x
        x = self.hidden(torch.flatten(self.global_pool(x), 1))
        if pre_logits:
            return x
        out: Tensor = self.fc(self.drop(x))
        return out

    def group_matcher(self, coarse: bool = False) -> dict[str, Any]:
        """timm's parameter groups: the first conv block, then each later block (the
        classifier layers fall in the last group)."""
        return {"stem": r"^features\.0\.", "blocks": r"^features\.(\d+)"}

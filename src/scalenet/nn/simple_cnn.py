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
from ..spec.templates import LayerSpec, conv_block_layers, hidden_layers
from .base import ScaleNetModel
from .blocks import checkpoint_seq
from .layers import layer_module, modules_of

__all__ = ["ConvBlock", "SimpleCNN"]


class ConvBlock(nn.Module):
    """conv, optional BN, ReLU, optional 2x2/2 pool: the layers of
    :func:`scalenet.spec.templates.conv_block_layers` (an ``nn.Identity`` for those the
    config leaves out)."""

    def __init__(self, cin: int, cout: int, config: SimpleCNNConfig) -> None:
        super().__init__()
        layers = modules_of(conv_block_layers(config, cin, cout))
        self.conv = layers["conv"]
        self.bn = layers.get("bn", nn.Identity())
        self.act = layers["act"]
        self.pool = layers.get("pool", nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.pool(self.act(self.bn(self.conv(x))))
        return out


class HiddenLayer(nn.Module):
    """dropout, linear, ReLU: the layers of :func:`scalenet.spec.templates.hidden_layers`."""

    def __init__(self, cin: int, cout: int, dropout: float) -> None:
        super().__init__()
        layers = modules_of(hidden_layers(cin, cout, dropout=dropout > 0), dropout)
        self.drop = layers.get("drop", nn.Identity())
        self.fc = layers["fc"]
        self.act = layers["act"]

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
        specs = plan(config)  # the layers, walked at the input size (the linears' inputs)
        flat = next(s for s in specs if s.kind == "flatten")
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
            layer_module(pool) if (pool := _named(specs, "global_pool")) else nn.Identity()
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
        drop, fc = _named(specs, "drop"), _named(specs, "fc")
        self.drop: nn.Module = layer_module(drop, config.dropout) if drop else nn.Identity()
        self.fc: nn.Module = layer_module(fc) if fc else nn.Identity()

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


def _named(specs: list[LayerSpec], name: str) -> LayerSpec | None:
    return next((s for s in specs if s.name == name), None)

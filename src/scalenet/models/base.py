"""What every scalenet model shares: its config, the checked forward and the classifier API."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.fx
from torch import Tensor, nn

from ..config import ResNetConfig, SimpleCNNConfig
from ..errors import ConfigError
from ..layers import check_input
from ..plan import min_input_size

__all__ = ["ScaleNetModel"]

torch.fx.wrap("check_input")


class ScaleNetModel(nn.Module):
    """Base class of scalenet models: ``forward = forward_head(forward_features(x))``.

    Subclasses set ``fc`` (the classifier, ``nn.Identity`` when ``num_classes == 0``),
    ``num_features`` and ``head_hidden_size``, and implement ``forward_features`` and
    ``forward_head``. The forward pass first checks the input (rank, channels, size) and raises
    :class:`~scalenet.errors.ShapeError` with what the model expects.
    """

    fc: nn.Module
    num_features: int
    head_hidden_size: int
    # The config is plain Python data; TorchScript has no use for it.
    __jit_ignored_attributes__: ClassVar[list[str]] = ["config", "pretrained_cfg"]
    __jit_unused_properties__: ClassVar[list[str]] = ["default_cfg"]

    def __init__(self, config: ResNetConfig | SimpleCNNConfig) -> None:
        super().__init__()
        self.config = config
        self.num_classes = config.num_classes
        self.in_chans = config.in_chans
        self.input_size = config.input_size
        #: smallest H and W a forward pass accepts
        self.min_input_size = min_input_size(config)
        #: the only H and W a forward pass accepts, or 0 when any size >= min_input_size goes
        self.fixed_input_size = 0
        #: timm's pretrained cfg (name, input size, normalisation...); set by the zoo
        self.pretrained_cfg: dict[str, Any] = {}

    @property
    def default_cfg(self) -> dict[str, Any]:
        """Alias of ``pretrained_cfg`` (timm's older name)."""
        return self.pretrained_cfg

    def forward_features(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        """The last feature map, (N, C, H, W)."""
        raise NotImplementedError

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:  # pragma: no cover
        """Pool and classify a feature map; ``pre_logits=True`` stops before ``fc``."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if not torch.jit.is_scripting():  # type: ignore[attr-defined]
            check_input(x, self.in_chans, self.min_input_size, self.fixed_input_size)
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The final classifier layer (timm interface)."""
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs.

        ``num_classes=0`` removes it (the model then returns pre-logits features). Only average
        pooling is implemented, so ``global_pool`` may be ``None`` or ``"avg"``.
        """
        if global_pool not in (None, "avg"):
            raise ConfigError("global_pool", global_pool, "None or 'avg'")
        self.config = self.config.replace(num_classes=num_classes)
        self.num_classes = num_classes
        device = next(self.parameters()).device
        self.fc = (
            nn.Linear(self.head_hidden_size, num_classes, device=device)
            if num_classes > 0
            else nn.Identity()
        )

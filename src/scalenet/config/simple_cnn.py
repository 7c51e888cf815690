"""The simple CNN config: conv(+BN)+ReLU(+pool) blocks and a classifier of linear layers.

Examples:
    >>> from scalenet.config.simple_cnn import SimpleCNNConfig
    >>> SimpleCNNConfig(kernel_size=5).conv_padding
    2
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, get_args

from .. import _hooks
from ..errors import ConfigError

if TYPE_CHECKING:
    from torch import nn
from ..errors import check_bool, check_int
from .base import (
    MAX_CHANNELS,
    MAX_INPUT_SIZE,
    Pool,
    _check_choice,
    _check_int_tuple,
    _check_probability,
    _Config,
)

__all__ = ["SimpleCNNConfig"]


@dataclass(frozen=True)
class SimpleCNNConfig(_Config):
    """A stack of conv(+BN)+ReLU(+pool) blocks followed by a classifier of linear layers.

    The first linear layer's input size is derived from the layer plan, never typed.

    Args:
        channels: output channels of each conv block.
        kernel_size: square kernel of every conv.
        padding: conv padding in pixels, or ``"same"`` (``kernel_size // 2``, odd kernels).
        pool: ``"max"`` or ``"avg"`` 2x2/2 pooling after every block, or ``"none"``.
        batch_norm: BatchNorm after every conv.
        dropout: dropout probability before every linear layer.
        hidden: widths of hidden linear layers (each followed by ReLU) before the output layer.
        num_classes: classifier outputs; 0 leaves the output layer out.
        in_chans: input channels.
        input_size: the declared square input size.
        global_pool: average-pool the last feature map to 1x1 before the classifier, which
            frees the model from its input size; without it the model is tied to ``input_size``.
        conv_bias: give every conv a bias (as the classic simple CNNs do, even before BN).

    Examples:
        >>> from scalenet import SimpleCNNConfig
        >>> sum(p.numel() for p in SimpleCNNConfig(channels=(32, 64, 128)).build().parameters())
        114186
    """

    family: ClassVar[str] = "simple_cnn"
    _tuple_fields: ClassVar[tuple[str, ...]] = ("channels", "hidden")

    channels: tuple[int, ...] = (32, 64, 128)
    kernel_size: int = 3
    padding: int | Literal["same"] = "same"
    pool: Pool = "max"
    batch_norm: bool = True
    dropout: float = 0.0
    hidden: tuple[int, ...] = field(default=())
    num_classes: int = 10
    in_chans: int = 3
    input_size: int = 32
    global_pool: bool = False
    conv_bias: bool = True

    @property
    def first_conv(self) -> str:
        """Module path of the first convolution (timm's ``first_conv``)."""
        return "features.0.conv"

    @property
    def conv_padding(self) -> int:
        """The padding in pixels (``"same"`` resolved)."""
        return self.kernel_size // 2 if self.padding == "same" else int(self.padding)

    def validate(self) -> None:
        """Check every field, then that ``input_size`` survives every block exactly.

        Raises:
            ConfigError: a field value is not allowed.
            ShapeError: the feature map vanishes in some block, or a pool would drop pixels.
        """
        _check_int_tuple("channels", self.channels, 1, MAX_CHANNELS)
        check_int("kernel_size", self.kernel_size, 1, 63)
        if self.padding == "same":
            if self.kernel_size % 2 == 0:
                raise ConfigError(
                    "padding", "same", "an integer when kernel_size is even",
                    f"kernel_size={self.kernel_size} has no centred 'same' padding",
                )  # fmt: skip
        else:
            check_int("padding", self.padding, 0, 63)
        _check_choice("pool", self.pool, get_args(Pool))
        check_bool("batch_norm", self.batch_norm)
        _check_probability("dropout", self.dropout)
        _check_int_tuple("hidden", self.hidden, 1, 1 << 20, min_len=0)
        check_int("num_classes", self.num_classes, 0, 1 << 24)
        check_int("in_chans", self.in_chans, 1, MAX_CHANNELS)
        check_int("input_size", self.input_size, 1, MAX_INPUT_SIZE)
        check_bool("global_pool", self.global_pool)
        check_bool("conv_bias", self.conv_bias)
        _hooks.call("check_input_size", self, self.input_size)

    def build(self) -> nn.Module:
        """Build the :class:`~scalenet.nn.SimpleCNN` this config describes (as
        ``scalenet.SimpleCNN(config)`` does, which type checkers know as a ``SimpleCNN``)."""
        model: nn.Module = _hooks.call("build", self)
        return model

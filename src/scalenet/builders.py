"""Typed builder functions: make a config, validate it, build the model.

Examples:
    >>> import scalenet
    >>> model = scalenet.resnet(depths=(3, 3, 3), width=16, stem="cifar", downsample="pad")
    >>> sum(p.numel() for p in model.parameters())  # ResNet-20, option A
    269722
"""

from __future__ import annotations

from .config import Block, Downsample, Pool, ResNetConfig, SimpleCNNConfig, Stem
from .models.resnet import ResNet
from .models.simple_cnn import SimpleCNN

__all__ = ["resnet", "simple_cnn"]


def resnet(
    depths: tuple[int, ...] = (2, 2, 2, 2),
    width: int = 64,
    stem: Stem = "imagenet",
    block: Block = "basic",
    shortcut: bool = True,
    *,
    downsample: Downsample = "projection",
    num_classes: int | None = None,
    in_chans: int = 3,
    input_size: int | None = None,
    dropout: float = 0.0,
    zero_init_residual: bool = False,
) -> ResNet:
    """Build a ResNet of any layout (see :class:`~scalenet.ResNetConfig` for every field).

    ``num_classes`` and ``input_size`` default by stem: 1000 classes at 224 px for
    ``"imagenet"``, 10 classes at 32 px for ``"cifar"``.

    Raises:
        ConfigError: a field is not allowed (the message names it, the value and what is).
        ShapeError: ``input_size`` is not a multiple of the output stride (the message names
            the nearest valid sizes).

    Examples:
        >>> import scalenet
        >>> model = scalenet.resnet(depths=(2, 3, 2, 2), width=76)
        >>> model.config.input_size, model.fc.in_features
        (224, 608)
    """
    cifar = stem == "cifar"
    config = ResNetConfig(
        depths=tuple(depths),
        width=width,
        stem=stem,
        block=block,
        shortcut=shortcut,
        downsample=downsample,
        num_classes=(10 if cifar else 1000) if num_classes is None else num_classes,
        in_chans=in_chans,
        input_size=(32 if cifar else 224) if input_size is None else input_size,
        dropout=dropout,
        zero_init_residual=zero_init_residual,
    )
    return ResNet(config)


def simple_cnn(
    channels: tuple[int, ...] = (32, 64, 128),
    *,
    kernel_size: int = 3,
    padding: int | str = "same",
    pool: Pool = "max",
    batch_norm: bool = True,
    dropout: float = 0.0,
    hidden: tuple[int, ...] = (),
    num_classes: int = 10,
    in_chans: int = 3,
    input_size: int = 32,
    global_pool: bool = False,
    conv_bias: bool = True,
) -> SimpleCNN:
    """Build a plain CNN (see :class:`~scalenet.SimpleCNNConfig` for every field).

    The classifier's input size is computed from the layer plan.

    Raises:
        ConfigError: a field is not allowed.
        ShapeError: the feature map vanishes in some block, or a pool would drop pixels (the
            message names the block and the valid sizes).

    Examples:
        >>> import scalenet
        >>> model = scalenet.simple_cnn((8, 16, 32, 64, 128, 256), kernel_size=5, padding=0,
        ...                             hidden=(1000, 500, 100), num_classes=2, input_size=444)
        >>> model.hidden[0].fc.in_features  # 3 x 3 x 256, never typed by hand
        2304
    """
    config = SimpleCNNConfig(
        channels=tuple(channels),
        kernel_size=kernel_size,
        padding=padding,  # type: ignore[arg-type]  # validated: an int or "same"
        pool=pool,
        batch_norm=batch_norm,
        dropout=dropout,
        hidden=tuple(hidden),
        num_classes=num_classes,
        in_chans=in_chans,
        input_size=input_size,
        global_pool=global_pool,
        conv_bias=conv_bias,
    )
    return SimpleCNN(config)

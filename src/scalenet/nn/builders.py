"""Typed builder functions: make a config, validate it, build the model.

Examples:
    >>> import scalenet
    >>> model = scalenet.resnet(depth=20, stem="cifar")  # ResNet-20: width 16, option A
    >>> sum(p.numel() for p in model.parameters())
    269722
"""

# No ``from __future__ import annotations``: help() then shows every Literal's values.
from typing import Any, Literal, NamedTuple

from ..config import Block, Downsample, Pool, ResNetConfig, SimpleCNNConfig, Stem
from ..config.base import _check_choice
from ..config.depth import resnet_layout
from ..errors import ConfigError
from .resnet import ResNet
from .simple_cnn import SimpleCNN

__all__ = ["resnet", "simple_cnn", "wrn"]

Variant = Literal["b", "c", "d"]


class StemDefaults(NamedTuple):
    """What an unset argument of :func:`resnet` means, for one stem."""

    depths: tuple[int, ...]
    width: int
    downsample: Downsample
    num_classes: int
    input_size: int


#: The builder's defaults by stem, from each stem's paper: torchvision's ResNet-18 for
#: ``"imagenet"``; the ResNet paper's CIFAR ResNet-20 (width 16, option-A shortcuts) for
#: ``"cifar"``; the ImageNet stem's for ``"deep"`` (which changes the stem only).
STEM_DEFAULTS: dict[str, StemDefaults] = {
    "imagenet": StemDefaults((2, 2, 2, 2), 64, "projection", 1000, 224),
    "cifar": StemDefaults((3, 3, 3), 16, "pad", 10, 32),
    "deep": StemDefaults((2, 2, 2, 2), 64, "projection", 1000, 224),
}

#: The ResNet variants of He et al. 2019 ("Bag of Tricks", https://arxiv.org/abs/1812.01187)
#: by the letter timm appends to their names: (stem, downsample).
VARIANTS: dict[str, tuple[Stem, Downsample]] = {
    "b": ("imagenet", "projection"),
    "c": ("deep", "projection"),
    "d": ("deep", "avgpool"),
}


def _variant(variant: str, stem: str, downsample: str | None) -> tuple[Stem, Downsample]:
    """The stem and shortcut of a Bag-of-Tricks ``variant``, checked against explicit ones."""
    _check_choice("variant", variant, VARIANTS)
    want_stem, want_down = VARIANTS[variant]
    if stem not in ("imagenet", want_stem):
        raise ConfigError(
            "stem", stem, f"{want_stem!r} (or unset) with variant={variant!r}",
            f"variant={variant!r} sets stem={want_stem!r}, downsample={want_down!r}",
        )  # fmt: skip
    if downsample not in (None, want_down):
        raise ConfigError(
            "downsample", downsample, f"{want_down!r} (or unset) with variant={variant!r}",
            f"variant={variant!r} sets stem={want_stem!r}, downsample={want_down!r}",
        )  # fmt: skip
    return want_stem, want_down


def _sequence(value: Any) -> Any:
    """A list, tuple or range as a tuple; anything else as given, for the config to refuse
    by name (``tuple(True)`` would raise Python's TypeError, naming nothing)."""
    return tuple(value) if isinstance(value, list | tuple | range) else value


def resnet(
    depths: tuple[int, ...] | None = None,
    *,
    width: int | None = None,
    stem: Stem = "imagenet",
    block: Block | None = None,
    shortcut: bool = True,
    depth: int | None = None,
    variant: Variant | None = None,
    downsample: Downsample | None = None,
    num_classes: int | None = None,
    in_chans: int = 3,
    input_size: int | None = None,
    dropout: float = 0.0,
    zero_init_residual: bool = False,
    groups: int = 1,
    base_width: int = 64,
    preact: bool = False,
    widen_factor: int = 1,
    block_dropout: float = 0.0,
    drop_path_rate: float = 0.0,
) -> ResNet:
    """Build a ResNet by its depth ("ResNet-56") or by any layout of blocks per stage.

    Unset arguments take the defaults of the chosen stem's paper; explicit values always win.
    Every argument after ``depths`` is keyword-only: ``resnet((2, 2, 2, 2), 64)`` raises
    ``TypeError``; write ``resnet((2, 2, 2, 2), width=64)``.

    | argument      | `stem="imagenet"`          | `stem="cifar"`          |
    |---------------|----------------------------|-------------------------|
    | `depths`      | `(2, 2, 2, 2)` (ResNet-18) | `(3, 3, 3)` (ResNet-20) |
    | `width`       | 64                         | 16                      |
    | `block`       | `"basic"`                  | `"basic"`               |
    | `downsample`  | `"projection"` (option B)  | `"pad"` (option A)      |
    | `num_classes` | 1000                       | 10                      |
    | `input_size`  | 224                        | 32                      |

    ``stem="deep"`` takes the ImageNet stem's defaults: it changes the stem only.

    The variants of He et al. 2019 ("Bag of Tricks for Image Classification with
    Convolutional Neural Networks", https://arxiv.org/abs/1812.01187) go by the letter that
    timm appends to their names (``resnet50c``, ``resnet50d``), as ``variant=``: ``"b"`` is the
    default (the stride on the bottleneck's 3x3 conv, torchvision's "v1.5"), ``"c"`` adds the
    deep stem (``stem="deep"``) and ``"d"`` also the average-pool shortcut
    (``downsample="avgpool"``). A letter rather than a name per tweak because that is how
    the nets are known and named (timm, GluonCV, the paper's figure 2): ``resnet(depth=50,
    variant="d")`` is timm's ``resnet50d``. timm's ``s``/``e``/``t`` letters (a 64-wide or
    tiered deep stem) are not scalenet's deep stem, and are not offered.

    Args:
        depths: blocks per stage, one entry per stage; or give ``depth``.
        width: channels of the first stage, doubled at each later stage.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max pool), ``"cifar"`` (3x3/1 conv) or
            ``"deep"`` (three 3x3 convs, ``width // 2``, ``width // 2``, ``width`` channels,
            the first with stride 2, + 3x3/2 max pool: ResNet-C).
        block: ``"basic"`` or ``"bottleneck"``; with ``depth``, it follows the depth's rule.
        shortcut: ``False`` gives the ResNet paper's plain network (no identity path).
        variant: ``"b"``, ``"c"`` or ``"d"``: the Bag of Tricks variant, which sets ``stem``
            and ``downsample`` (giving either with another value is an error).
        depth: the "N" of "ResNet-N" (weighted layers), instead of ``depths``. ImageNet stem:
            10, 18, 34 (basic) or 14, 26, 50, 101, 152, 200 (bottleneck), as in torchvision
            and timm. CIFAR stem: 6n + 2 with basic blocks (20, 32, 44, 56, 110, 1202...) or
            9n + 2 with ``block="bottleneck"`` (164...), three stages of n blocks.
        downsample: the shortcut where the shape changes: ``"projection"`` (1x1 conv + BN),
            ``"pad"`` (strided identity with zero channels, no parameters) or ``"avgpool"``
            (2x2/2 average pool, then 1x1 conv + BN: ResNet-D).
        num_classes: classifier outputs (0: pooled features out).
        in_chans: input channels.
        input_size: the declared square input size (a multiple of the output stride).
        dropout: dropout probability before the classifier.
        zero_init_residual: zero the last BatchNorm of every residual branch.
        groups: groups of the bottleneck's 3x3 conv, ResNeXt's cardinality (bottlenecks only).
        base_width: the bottleneck's inner channels per group at width 64: inner width
            ``int(planes * base_width / 64) * groups`` (``groups=32, base_width=4``:
            ResNeXt-50 32x4d; ``base_width=128``: wide_resnet50_2).
        preact: pre-activation blocks, BN and ReLU before each conv (ResNet v2, He et al.
            2016), and a final BN-ReLU.
        widen_factor: the WRN's k: every stage ``k`` times wider, the stem not. With the
            CIFAR stem and basic blocks, ``depth`` then counts as the WRN paper's 6n + 4.
        block_dropout: dropout between the two convs of every basic block (WRN's).
        drop_path_rate: stochastic depth, timm's: each residual branch dropped in training
            at a rate rising linearly over the blocks to this one at the last.

    See :class:`~scalenet.ResNetConfig` for every field.

    Raises:
        ConfigError: a field is not allowed (the message names it, the value and what is);
            ``depth`` and ``depths`` together; a ``depth`` that fits no rule (the message
            states the rule and the nearest valid depths).
        ShapeError: ``input_size`` is not a multiple of the output stride (the message names
            the nearest valid sizes).

    Examples:
        >>> import scalenet
        >>> scalenet.resnet(depth=56, stem="cifar").config == scalenet.get_config("resnet56_cifar")
        True
        >>> scalenet.resnet(depth=50).config.depths, scalenet.resnet(depth=50).config.block
        ((3, 4, 6, 3), 'bottleneck')
        >>> model = scalenet.resnet(depths=(2, 3, 2, 2), width=76)
        >>> model.config.input_size, model.fc.in_features
        (224, 608)
        >>> scalenet.resnet(depth=50, groups=32, base_width=4).layer1[0].conv2.groups
        32
        >>> d = scalenet.resnet(depth=50, variant="d")  # timm's resnet50d
        >>> d.config.stem, d.config.downsample, d.config == scalenet.get_config("resnet50d")
        ('deep', 'avgpool', True)
        >>> w = scalenet.resnet(depth=28, stem="cifar", preact=True, widen_factor=10,
        ...                     downsample="projection", block_dropout=0.3)  # WRN-28-10
        >>> w.config.depths, w.config.stage_widths
        ((4, 4, 4), (160, 320, 640))
    """
    if variant is not None:
        stem, downsample = _variant(variant, stem, downsample)
    _check_choice("stem", stem, STEM_DEFAULTS)
    defaults = STEM_DEFAULTS[stem]
    if depth is not None:
        if depths is not None:
            raise ConfigError(
                "depth", depth, "either depth or depths, not both", f"depths={depths!r}"
            )
        wide = isinstance(widen_factor, int) and widen_factor > 1
        depths, block = resnet_layout(depth, stem, block, wide=wide)
    elif isinstance(depths, int) and not isinstance(depths, bool):
        raise ConfigError(
            "depths", depths, "a tuple of blocks per stage", f"for ResNet-{depths}, use depth="
        )
    config = ResNetConfig(
        depths=defaults.depths if depths is None else _sequence(depths),
        width=defaults.width if width is None else width,
        stem=stem,
        block="basic" if block is None else block,
        shortcut=shortcut,
        downsample=defaults.downsample if downsample is None else downsample,
        num_classes=defaults.num_classes if num_classes is None else num_classes,
        in_chans=in_chans,
        input_size=defaults.input_size if input_size is None else input_size,
        dropout=dropout,
        zero_init_residual=zero_init_residual,
        groups=groups,
        base_width=base_width,
        preact=preact,
        widen_factor=widen_factor,
        block_dropout=block_dropout,
        drop_path_rate=drop_path_rate,
    )
    return ResNet(config)


def wrn(
    depth: int = 28,
    widen_factor: int = 10,
    *,
    block_dropout: float = 0.0,
    num_classes: int = 10,
    in_chans: int = 3,
    input_size: int = 32,
) -> ResNet:
    """The wide ResNet WRN-``depth``-``widen_factor`` of Zagoruyko and Komodakis 2016
    ("Wide Residual Networks", https://arxiv.org/abs/1605.07146), for 32x32 images.

    Pre-activation basic blocks in three stages of n blocks, depth = 6n + 4 (the paper's
    count), a 3x3 stem conv of 16 channels and stages of ``16k``, ``32k``, ``64k`` channels,
    1x1 projection shortcuts where the shape changes, and the paper's dropout between each
    block's convs as ``block_dropout`` (0.3 in its CIFAR runs; 0 here, as in pytorchcv's
    models, whose weights load into these). It is :func:`resnet` with ``stem="cifar",
    preact=True, width=16, widen_factor=k, downsample="projection"``.

    Args:
        depth: 6n + 4: 16, 22, 28, 40...
        widen_factor: the widening factor k (1 is the thin pre-activation ResNet).
        block_dropout: dropout probability between the convs of each block.
        num_classes: classifier outputs.
        in_chans: input channels.
        input_size: the declared square input size (a multiple of 4).

    Raises:
        ConfigError: ``depth`` is no 6n + 4 (the message names the nearest that are), or
            another field is not allowed.

    Examples:
        >>> import scalenet
        >>> model = scalenet.wrn(28, 10)  # WRN-28-10
        >>> sum(p.numel() for p in model.parameters())  # pytorchcv's wrn28_10_cifar10
        36479194
        >>> model.config.depth, model.config.depths, model.config == scalenet.get_config(
        ...     "wrn28_10_cifar")
        (28, (4, 4, 4), True)
    """
    depths, _ = resnet_layout(depth, "cifar", "basic", wide=True)
    return ResNet(
        ResNetConfig(
            depths=depths,
            width=16,
            stem="cifar",
            block="basic",
            downsample="projection",
            num_classes=num_classes,
            in_chans=in_chans,
            input_size=input_size,
            preact=True,
            widen_factor=widen_factor,
            block_dropout=block_dropout,
        )
    )


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
        channels=_sequence(channels),
        kernel_size=kernel_size,
        padding=padding,  # type: ignore[arg-type]  # validated: an int or "same"
        pool=pool,
        batch_norm=batch_norm,
        dropout=dropout,
        hidden=_sequence(hidden),
        num_classes=num_classes,
        in_chans=in_chans,
        input_size=input_size,
        global_pool=global_pool,
        conv_bias=conv_bias,
    )
    return SimpleCNN(config)

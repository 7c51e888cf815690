"""The ResNet config: every layout of the family (basic or bottleneck blocks, ImageNet, CIFAR
or deep stem, shortcuts of each kind, pre-activation, wide and grouped), field by field.

Examples:
    >>> from scalenet.config.resnet import ResNetConfig
    >>> ResNetConfig(depths=(3, 4, 6, 3), block="bottleneck").depth
    50
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, get_args

from .. import _hooks
from ..errors import ConfigError

if TYPE_CHECKING:
    from torch import nn
from ..errors import check_bool, check_int
from .base import (
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_INPUT_SIZE,
    Block,
    Downsample,
    Stem,
    _check_choice,
    _check_int_tuple,
    _check_probability,
    _Config,
)

__all__ = ["ResNetConfig", "bottleneck_width"]


def bottleneck_width(planes: int, base_width: int = 64, groups: int = 1) -> int:
    """Channels inside a bottleneck block of ``planes`` (its 3x3 conv): torchvision's
    ``int(planes * (base_width / 64)) * groups`` (ResNeXt's grouped and wide ResNet's widened
    inner convs; ``planes`` itself at the defaults).

    Examples:
        >>> bottleneck_width(64), bottleneck_width(64, base_width=4, groups=32)
        (64, 128)
    """
    return int(planes * (base_width / 64.0)) * groups


@dataclass(frozen=True)
class ResNetConfig(_Config):
    """A residual (or plain) network of any depth and width.

    Args:
        depths: blocks per stage, one entry per stage (4 for ImageNet layouts, 3 for CIFAR).
        width: channels of the first stage; each later stage doubles them. Bottleneck blocks
            output ``4 * width`` channels per stage (torchvision's expansion).
        stem: ``"imagenet"`` (7x7/2 conv, BN, ReLU, 3x3/2 max pool), ``"cifar"``
            (3x3/1 conv, BN, ReLU) or ``"deep"``: the ImageNet stem with its 7x7 conv replaced
            by three 3x3 convs of ``width // 2``, ``width // 2`` and ``width`` channels (the
            first with stride 2; BN and ReLU between them), the ResNet-C tweak of He et al.
            2019, "Bag of Tricks for Image Classification with Convolutional Neural Networks"
            (https://arxiv.org/abs/1812.01187), timm's ``stem_type="deep"`` with
            ``stem_width=32`` at width 64. Its module is ``conv1`` (an ``nn.Sequential``:
            ``conv1.0``, ``conv1.1``, ``conv1.3``, ``conv1.4``, ``conv1.6``), then ``bn1``,
            as in timm, so timm's ``resnet50d`` checkpoints load with no key mapping.
        block: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1, 3x3 with the stride, 1x1).
        shortcut: ``False`` gives the plain network of the ResNet paper: the same layers with no
            identity path (``downsample`` then has no effect).
        downsample: the shortcut where shape changes: ``"projection"`` (1x1 conv + BN, option B),
            ``"pad"`` (strided identity with zero channel padding, option A, no parameters) or
            ``"avgpool"`` (2x2/2 average pool, ``ceil_mode=True``, ``count_include_pad=False``,
            then a stride-1 1x1 conv + BN: the ResNet-D tweak of the Bag of Tricks paper,
            timm's ``avg_down=True``; a stride-1 shortcut has no pool, its ``downsample.0`` is
            an ``nn.Identity`` as in timm, and the conv and BN are ``downsample.1``/``.2``).
        num_classes: classifier outputs; 0 leaves the classifier out (pooled features out).
        in_chans: input channels.
        input_size: the declared square input size; it must be a multiple of the output stride.
        dropout: dropout probability before the classifier.
        zero_init_residual: initialise the last BN of every residual branch to zero.
        groups: the cardinality of the bottleneck's 3x3 conv (ResNeXt, Xie et al. 2017,
            arXiv:1611.05431): ``32`` in ResNeXt-50 32x4d. Bottleneck blocks only.
        base_width: channels per group at the first stage's width 64 (the "4d" of 32x4d);
            the bottleneck's inner width is torchvision's rule
            ``int(planes * (base_width / 64)) * groups``, so ``groups=1, base_width=128`` is
            the wide ResNet of torchvision's ``wide_resnet50_2`` (Zagoruyko and Komodakis
            2016, arXiv:1605.07146). Bottleneck blocks only.
        preact: pre-activation blocks (ResNet v2, He et al. 2016, "Identity Mappings in Deep
            Residual Networks", arXiv:1603.05027): each conv is preceded by its BN and ReLU
            (``bn1``, ``conv1``, ``bn2``, ``conv2``..., as timm's ``PreActBasic`` and
            ``PreActBottleneck``), nothing follows the residual add, the stem is its conv
            alone (and the ImageNet stems' max pool), and a final ``final_bn`` + ``final_relu``
            close the last stage. A projection or average-pool shortcut reads the block's
            pre-activated input and has no BN (``downsample.0`` is the 1x1 conv, after the
            pool when there is one); an identity or zero-pad shortcut reads the block's input.
            timm's ``resnetv2_*`` and pytorchcv's ``preresnet*`` are this network.
        widen_factor: the WRN's widening factor k (Zagoruyko and Komodakis 2016, "Wide
            Residual Networks", arXiv:1605.07146): every stage is ``k`` times wider, the stem
            is not (WRN-28-10: ``width=16, widen_factor=10`` gives 16 stem channels and stages
            of 160, 320, 640). The paper's and pytorchcv's ``k``; not to be confused with
            ``base_width``, which widens a bottleneck's inner convs only.
        block_dropout: dropout probability between the convs of each basic block (after the
            ReLU that precedes the second conv), the WRN paper's dropout; ``dropout`` is the
            classifier's. Basic blocks only.
        drop_path_rate: stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic
            Depth", arXiv:1603.09382): in training, each block's residual branch is dropped
            for a random part of the batch (and the rest scaled up to keep its mean), with a
            rate rising linearly from 0 at the first block to ``drop_path_rate`` at the last,
            timm's rule (``timm.create_model(..., drop_path_rate=...)``, its ``train.py
            --drop-path``). Inert in eval mode; needs shortcuts.

    The spellings ``groups`` and ``base_width`` are ``nn.Conv2d``'s ``groups`` (what the
    field sets) and the ``base_width`` shared by timm's ``ResNet`` and torchvision's
    ``Bottleneck`` (torchvision's ``ResNet`` calls it ``width_per_group``, timm calls the
    groups ``cardinality``). The defaults ``1`` and ``64`` give the plain ResNet, and a
    config saved before these fields existed loads as that.

    Examples:
        >>> from scalenet import ResNetConfig
        >>> ResNetConfig(depths=(2, 2, 2, 2), width=64).build().fc.in_features
        512
        >>> cfg = ResNetConfig(depths=(3, 4, 6, 3), block="bottleneck", groups=32, base_width=4)
        >>> cfg.bottleneck_widths  # ResNeXt-50 32x4d: 128 channels in 32 groups in layer1
        (128, 256, 512, 1024)
    """

    family: ClassVar[str] = "resnet"
    _tuple_fields: ClassVar[tuple[str, ...]] = ("depths",)
    _later_fields: ClassVar[dict[str, object]] = {
        "groups": 1,
        "base_width": 64,
        "preact": False,
        "widen_factor": 1,
        "block_dropout": 0.0,
        "drop_path_rate": 0.0,
    }

    depths: tuple[int, ...] = (2, 2, 2, 2)
    width: int = 64
    stem: Stem = "imagenet"
    block: Block = "basic"
    shortcut: bool = True
    downsample: Downsample = "projection"
    num_classes: int = 1000
    in_chans: int = 3
    input_size: int = 224
    dropout: float = 0.0
    zero_init_residual: bool = False
    groups: int = 1
    base_width: int = 64
    preact: bool = False
    widen_factor: int = 1
    block_dropout: float = 0.0
    drop_path_rate: float = 0.0

    @property
    def first_conv(self) -> str:
        """Module path of the first convolution (timm's ``first_conv``): ``"conv1"``, or
        ``"conv1.0"`` for the deep stem."""
        return "conv1.0" if self.stem == "deep" else "conv1"

    @property
    def stem_widths(self) -> tuple[int, ...]:
        """Output channels of the stem's convolutions: ``(width,)``, or ``(width // 2,
        width // 2, width)`` for the deep stem."""
        if self.stem == "deep":
            return (self.width // 2, self.width // 2, self.width)
        return (self.width,)

    @property
    def depth(self) -> int:
        """Weighted layers, the "N" of "ResNet-N": stem conv, block convs and the classifier.

        The deep stem counts as one layer, as the Bag of Tricks paper names its ResNet-50-D.
        A wide ResNet (``widen_factor > 1``, CIFAR stem, basic blocks) is counted as the WRN
        paper counts it, 6n + 4 for n blocks per stage: its WRN-28-10 has 4 blocks per stage.

        Examples:
            >>> from scalenet import ResNetConfig
            >>> ResNetConfig(depths=(3, 4, 6, 3), block="bottleneck").depth
            50
        """
        convs = 3 if self.block == "bottleneck" else 2  # per block
        if self.is_wrn:
            return convs * sum(self.depths) + 4
        return convs * sum(self.depths) + 2

    @property
    def is_wrn(self) -> bool:
        """A wide ResNet as the WRN paper names them: ``widen_factor > 1``, the CIFAR stem,
        basic blocks (its depth is counted 6n + 4, see :attr:`depth`)."""
        return self.widen_factor > 1 and self.stem == "cifar" and self.block == "basic"

    @property
    def expansion(self) -> int:
        """Output channels of a block per unit of stage width (1 basic, 4 bottleneck)."""
        return 4 if self.block == "bottleneck" else 1

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """The inner width of each stage: ``width * widen_factor * 2**i``."""
        return tuple((self.width * self.widen_factor) << i for i in range(len(self.depths)))

    @property
    def bottleneck_widths(self) -> tuple[int, ...]:
        """Channels inside each stage's bottleneck (its 3x3 conv): torchvision's
        ``int(planes * (base_width / 64)) * groups``; the stage widths for basic blocks."""
        if self.block != "bottleneck":
            return self.stage_widths
        return tuple(
            bottleneck_width(planes, self.base_width, self.groups) for planes in self.stage_widths
        )

    @property
    def num_features(self) -> int:
        """Channels entering the classifier."""
        return self.stage_widths[-1] * self.expansion

    def validate(self) -> None:
        """Check every field, then that ``input_size`` fits the network.

        Raises:
            ConfigError: a field value is not allowed.
            ShapeError: ``input_size`` is not a multiple of the output stride, or too small.
        """
        _check_int_tuple("depths", self.depths, 1, MAX_BLOCKS)
        check_int("width", self.width, 1, MAX_CHANNELS)
        check_int("widen_factor", self.widen_factor, 1, MAX_CHANNELS)
        last = (self.width * self.widen_factor) << (len(self.depths) - 1)
        if last > MAX_CHANNELS:
            k = f" x widen_factor {self.widen_factor}" if self.widen_factor > 1 else ""
            raise ConfigError(
                "width",
                self.width,
                f"at most {MAX_CHANNELS} channels in the last stage",
                f"{len(self.depths)} stages double it{k} to {last}",
            )
        _check_choice("stem", self.stem, get_args(Stem))
        if self.stem == "deep" and self.width < 2:
            raise ConfigError(
                "width", self.width, "at least 2 with stem='deep'",
                "the deep stem's first two convs have width // 2 channels",
            )  # fmt: skip
        _check_choice("block", self.block, get_args(Block))
        check_bool("shortcut", self.shortcut)
        _check_choice("downsample", self.downsample, get_args(Downsample))
        check_int("num_classes", self.num_classes, 0, 1 << 24)
        check_int("in_chans", self.in_chans, 1, MAX_CHANNELS)
        check_int("input_size", self.input_size, 1, MAX_INPUT_SIZE)
        _check_probability("dropout", self.dropout)
        check_bool("zero_init_residual", self.zero_init_residual)
        check_bool("preact", self.preact)
        _check_probability("block_dropout", self.block_dropout)
        if self.block_dropout and self.block != "basic":
            raise ConfigError(
                "block_dropout", self.block_dropout, "0 with block='bottleneck'",
                "the WRN paper's dropout sits between a basic block's two convs",
            )  # fmt: skip
        _check_probability("drop_path_rate", self.drop_path_rate)
        if self.drop_path_rate and not self.shortcut:
            raise ConfigError(
                "drop_path_rate", self.drop_path_rate, "0 with shortcut=False",
                "stochastic depth drops residual branches, and a plain network has none",
            )  # fmt: skip
        self._check_grouping()
        _hooks.call("check_input_size", self, self.input_size)

    def _check_grouping(self) -> None:
        """``groups`` and ``base_width``: bottlenecks only, and every inner width at least 1."""
        check_int("groups", self.groups, 1, MAX_CHANNELS)
        check_int("base_width", self.base_width, 1, MAX_CHANNELS)
        if self.block == "basic":
            # torchvision's BasicBlock raises for these too: it has no grouped conv.
            if self.groups != 1:
                raise ConfigError("groups", self.groups, "1 with block='basic'",
                                  "grouped convs need block='bottleneck'")  # fmt: skip
            if self.base_width != 64:
                raise ConfigError("base_width", self.base_width, "64 with block='basic'",
                                  "wider inner convs need block='bottleneck'")  # fmt: skip
            return
        widths = self.bottleneck_widths
        if widths[0] < 1:
            planes = self.stage_widths[0]
            raise ConfigError(
                "base_width", self.base_width,
                f"at least {-(-64 // planes)} with {planes} channels in the first stage",
                f"int({planes} * {self.base_width} / 64) is 0 channels per group",
            )  # fmt: skip
        if widths[-1] > MAX_CHANNELS:
            raise ConfigError(
                "base_width", self.base_width,
                f"at most {MAX_CHANNELS} bottleneck channels in the last stage",
                f"groups={self.groups} makes it {widths[-1]}",
            )  # fmt: skip

    def build(self) -> nn.Module:
        """Build the :class:`~scalenet.nn.ResNet` this config describes (as
        ``scalenet.ResNet(config)`` does, which type checkers know as a ``ResNet``)."""
        model: nn.Module = _hooks.call("build", self)
        return model

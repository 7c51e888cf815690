"""Typed, frozen, JSON-serialisable model configs: the config is the model.

A config is checked when it is made (``__post_init__`` calls :meth:`validate`), so an invalid
config cannot exist: every field error is a :class:`~scalenet.errors.ConfigError` that names the
field, the value and what is allowed, and an ``input_size`` that does not fit the network is a
:class:`~scalenet.errors.ShapeError` that names the nearest sizes that do.

Examples:
    >>> from scalenet import ResNetConfig
    >>> cfg = ResNetConfig(depths=(3, 3, 3), width=16, stem="cifar", downsample="pad",
    ...                    num_classes=10, input_size=32)
    >>> ResNetConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args

from .. import _hooks
from ..errors import ConfigError, short_repr

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "Block",
    "Downsample",
    "Pool",
    "ResNetConfig",
    "SimpleCNNConfig",
    "Stem",
    "config_from_dict",
]

Stem = Literal["imagenet", "cifar", "deep"]
Block = Literal["basic", "bottleneck"]
Downsample = Literal["projection", "pad", "avgpool"]
Pool = Literal["max", "avg", "none"]

#: Hard limits that keep a typo from asking for a network no machine can hold.
MAX_CHANNELS = 1 << 16
MAX_BLOCKS = 1 << 12
MAX_INPUT_SIZE = 1 << 15
#: Largest model scalenet builds; every construction path checks the analytic count first, so
#: a typo fails before any memory is allocated. Raise it here if you really mean it.
MAX_PARAMS = 2_000_000_000

#: Input normalisation: ImageNet's (torchvision's and timm's default) and CIFAR-10's per-channel
#: statistics of the training set (pixel-wise std, not the often-quoted std of per-image means).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

C = TypeVar("C", bound="_Config")


def _check_int(name: str, value: object, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, value, f"an integer in [{minimum}, {maximum}]")
    if not minimum <= value <= maximum:
        raise ConfigError(name, value, f"an integer in [{minimum}, {maximum}]")


def _check_int_tuple(
    name: str, value: object, minimum: int, maximum: int, *, min_len: int = 1
) -> None:
    what = f"a {'non-empty ' if min_len else ''}tuple of integers in [{minimum}, {maximum}]"
    if not isinstance(value, tuple) or len(value) < min_len:
        raise ConfigError(name, value, what)
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not minimum <= item <= maximum:
            raise ConfigError(name, value, what, f"item {i} is {short_repr(item)}")


def _check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    allowed = tuple(choices)
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(name, value, "one of " + ", ".join(repr(c) for c in allowed))


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(name, value, "True or False")


def _check_probability(name: str, value: object) -> None:
    # Compared as given: float() of a 400-digit integer overflows; nan fails both comparisons.
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0 <= value < 1:  # type: ignore[operator]
        raise ConfigError(name, value, "a number in [0, 1)")


def _as_tuple(value: object) -> object:
    """Lists (as JSON gives them) become tuples; anything else is left for validation."""
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class _Config:
    """Shared machinery: validation on construction, dict/JSON round trip."""

    family: ClassVar[str]
    _tuple_fields: ClassVar[tuple[str, ...]] = ()
    #: Fields added after the first release, with the value that means "as before": left out
    #: of :meth:`to_dict` at that value, so a saved config stays byte-identical and loads in
    #: releases that predate the field.
    _later_fields: ClassVar[dict[str, object]] = {}

    def __post_init__(self) -> None:
        for name in self._tuple_fields:
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        self.validate()

    @property
    def first_conv(self) -> str:  # pragma: no cover - every subclass overrides it
        """Module path of the first convolution (timm's ``first_conv``)."""
        raise NotImplementedError

    def validate(self) -> None:  # pragma: no cover - every subclass overrides it
        """Raise ConfigError/ShapeError if any field is not allowed."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field, plus ``"family"`` (a field added in a later
        release is left out while it has the value that means "as before", such as
        ``ResNetConfig.groups == 1``).

        Examples:
            >>> from scalenet import SimpleCNNConfig
            >>> SimpleCNNConfig().to_dict()["family"]
            'simple_cnn'
        """
        out: dict[str, Any] = {"family": self.family}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self._later_fields and value == self._later_fields[f.name]:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Make a config from :meth:`to_dict` output (or parsed JSON); unknown keys are an error.

        Examples:
            >>> from scalenet import ResNetConfig
            >>> ResNetConfig.from_dict({"depths": [1, 1], "width": 8}).depths
            (1, 1)
        """
        if not isinstance(data, Mapping):
            raise ConfigError("config", data, "a mapping of field names to values")
        values = dict(data)
        family = values.pop("family", cls.family)
        if family != cls.family:
            raise ConfigError("family", family, f"{cls.family!r} for {cls.__name__}")
        cls._check_fields(values)
        return cls(**values)

    @classmethod
    def _check_fields(cls, values: Mapping[str, Any]) -> None:
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                raise ConfigError(
                    str(key), values[key], f"a field of {cls.__name__}: " + ", ".join(names)
                )

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed, validated like any new config.

        Examples:
            >>> from scalenet import ResNetConfig
            >>> ResNetConfig().replace(num_classes=10).num_classes
            10
        """
        self._check_fields(changes)
        return dataclasses.replace(self, **changes)


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
            int(planes * (self.base_width / 64.0)) * self.groups for planes in self.stage_widths
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
        _check_int("width", self.width, 1, MAX_CHANNELS)
        _check_int("widen_factor", self.widen_factor, 1, MAX_CHANNELS)
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
        _check_bool("shortcut", self.shortcut)
        _check_choice("downsample", self.downsample, get_args(Downsample))
        _check_int("num_classes", self.num_classes, 0, 1 << 24)
        _check_int("in_chans", self.in_chans, 1, MAX_CHANNELS)
        _check_int("input_size", self.input_size, 1, MAX_INPUT_SIZE)
        _check_probability("dropout", self.dropout)
        _check_bool("zero_init_residual", self.zero_init_residual)
        _check_bool("preact", self.preact)
        _check_probability("block_dropout", self.block_dropout)
        if self.block_dropout and self.block != "basic":
            raise ConfigError(
                "block_dropout", self.block_dropout, "0 with block='bottleneck'",
                "the WRN paper's dropout sits between a basic block's two convs",
            )  # fmt: skip
        self._check_grouping()
        _hooks.call("check_input_size", self, self.input_size)

    def _check_grouping(self) -> None:
        """``groups`` and ``base_width``: bottlenecks only, and every inner width at least 1."""
        _check_int("groups", self.groups, 1, MAX_CHANNELS)
        _check_int("base_width", self.base_width, 1, MAX_CHANNELS)
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
        _check_int("kernel_size", self.kernel_size, 1, 63)
        if self.padding == "same":
            if self.kernel_size % 2 == 0:
                raise ConfigError(
                    "padding", "same", "an integer when kernel_size is even",
                    f"kernel_size={self.kernel_size} has no centred 'same' padding",
                )  # fmt: skip
        else:
            _check_int("padding", self.padding, 0, 63)
        _check_choice("pool", self.pool, get_args(Pool))
        _check_bool("batch_norm", self.batch_norm)
        _check_probability("dropout", self.dropout)
        _check_int_tuple("hidden", self.hidden, 1, 1 << 20, min_len=0)
        _check_int("num_classes", self.num_classes, 0, 1 << 24)
        _check_int("in_chans", self.in_chans, 1, MAX_CHANNELS)
        _check_int("input_size", self.input_size, 1, MAX_INPUT_SIZE)
        _check_bool("global_pool", self.global_pool)
        _check_bool("conv_bias", self.conv_bias)
        _hooks.call("check_input_size", self, self.input_size)

    def build(self) -> nn.Module:
        """Build the :class:`~scalenet.nn.SimpleCNN` this config describes (as
        ``scalenet.SimpleCNN(config)`` does, which type checkers know as a ``SimpleCNN``)."""
        model: nn.Module = _hooks.call("build", self)
        return model


def config_from_dict(data: Mapping[str, Any]) -> ResNetConfig | SimpleCNNConfig:
    """Make whichever config ``data["family"]`` names (``"resnet"`` or ``"simple_cnn"``).

    Examples:
        >>> from scalenet import ResNetConfig, config_from_dict
        >>> config_from_dict(ResNetConfig().to_dict()) == ResNetConfig()
        True
    """
    if not isinstance(data, Mapping):
        raise ConfigError("config", data, "a mapping of field names to values")
    families: dict[str, type[ResNetConfig] | type[SimpleCNNConfig]] = {
        ResNetConfig.family: ResNetConfig,
        SimpleCNNConfig.family: SimpleCNNConfig,
    }
    family = data.get("family")
    if not isinstance(family, str) or family not in families:  # a list or dict is unhashable
        allowed = "one of " + ", ".join(repr(k) for k in families)
        hint = "every config names its family" if "family" not in data else ""
        raise ConfigError("family", family, allowed, hint)
    return families[str(family)].from_dict(data)

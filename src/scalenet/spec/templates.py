"""What one layer is (:class:`LayerSpec`) and each network as a sequence of size-free layer
templates: the stems, the blocks of every variant (basic, bottleneck, pre-activation, each
shortcut) and the heads, before :func:`scalenet.plan` walks an input size through them. The
models' modules (:mod:`scalenet.nn`) are made from the same templates, one per spec.

Examples:
    >>> import scalenet
    >>> from scalenet.spec.templates import templates
    >>> [t.name for t in templates(scalenet.ResNetConfig(depths=(1, 1)))][:3]
    ['conv1', 'bn1', 'relu']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, NamedTuple

from ..config import Config, ResNetConfig, SimpleCNNConfig
from ..config.resnet import bottleneck_width
from ..errors import check_type

__all__ = [
    "Config", "Kind", "LayerSpec", "basic_layers", "block_layers", "bottleneck_layers",
    "conv_block_layers", "drop_path_rates", "hidden_layers", "resnet_stages", "shortcut_layers",
    "templates",
]  # fmt: skip

Kind = Literal[
    "conv",
    "bn",
    "relu",
    "maxpool",
    "avgpool",
    "pad",
    "add",
    "dropout",
    "drop_path",
    "flatten",
    "linear",
]
#: Kinds that move a window over the map (and so change its size).
_WINDOWED = ("conv", "maxpool", "avgpool")


class LayerSpec(NamedTuple):
    """One operation of a network, as plain data (an immutable named tuple).

    Attributes:
        name: the module's path in the built model (``"layer1.0.conv1"``); operations without
            a module of their own (the residual ``add``) are named after their block.
        kind: ``conv``, ``bn``, ``relu``, ``maxpool``, ``avgpool``, ``pad`` (option-A
            shortcut), ``add``, ``dropout``, ``drop_path`` (stochastic depth on a residual
            branch), ``flatten`` or ``linear``.
        in_channels, out_channels: channels (features for ``linear``) in and out.
        kernel, stride, padding: window geometry (``avgpool`` with ``global_pool`` covers the
            whole map).
        bias: whether the layer has a bias.
        in_size, out_size: spatial (H, W) before and after the layer.
        shortcut: True for layers on a residual block's shortcut branch.
        groups: a conv's groups (ResNeXt's grouped 3x3): each output channel sees
            ``in_channels // groups`` inputs, which divides its params and MACs by ``groups``.
        global_pool: an ``avgpool`` over the whole map (the head's).
        ceil_mode: the window's output size rounds up (PyTorch's ``ceil_mode=True``: the
            average-pool shortcut's 2x2/2 pool gives ``ceil(H / 2)``, as the strided convs of
            the main path do, so the two agree at every size).
    """

    name: str
    kind: Kind
    in_channels: int
    out_channels: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    bias: bool = False
    in_size: tuple[int, int] = (1, 1)
    out_size: tuple[int, int] = (1, 1)
    shortcut: bool = False
    global_pool: bool = False
    groups: int = 1
    ceil_mode: bool = False

    @property
    def params(self) -> int:
        """Learnable parameters of this layer (weights and biases of convs, linears and BN)."""
        if self.kind == "conv":
            weights = self.in_channels // self.groups * self.out_channels * self.kernel**2
            return weights + (self.out_channels if self.bias else 0)
        if self.kind == "bn":
            return 2 * self.out_channels
        if self.kind == "linear":
            return self.in_channels * self.out_channels + (self.out_channels if self.bias else 0)
        return 0

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one image through this layer (convs and linears only)."""
        if self.kind == "conv":
            area = self.out_size[0] * self.out_size[1]
            return area * self.out_channels * (self.in_channels // self.groups) * self.kernel**2
        if self.kind == "linear":
            return self.in_channels * self.out_channels
        return 0


# --- size-free templates: specs whose channels and sizes the walk fills in ----------------------


def shortcut_layers(cfg: ResNetConfig, cin: int, cout: int, stride: int) -> list[LayerSpec]:
    """A block's shortcut where the shape changes (nothing where it does not, or without
    shortcuts), named within the block: ``downsample`` (option A's zero padding) or
    ``downsample.N`` (the modules of an ``nn.Sequential``).

    A pre-activation shortcut's conv reads the BN-ReLU'd input and has no BN of its own; a
    stride-1 average-pool shortcut's ``downsample.0`` is an ``nn.Identity`` (no spec).

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.ResNetConfig(downsample="avgpool")
        >>> [(s.name, s.kind) for s in shortcut_layers(cfg, 64, 128, 2)]
        [('downsample.0', 'avgpool'), ('downsample.1', 'conv'), ('downsample.2', 'bn')]
    """
    if not cfg.shortcut or (stride == 1 and cin == cout):
        return []
    if cfg.downsample == "pad":
        return [LayerSpec("downsample", "pad", cin, cout, stride=stride, shortcut=True)]
    layers = []
    if cfg.downsample == "projection":
        layers.append(LayerSpec("downsample.0", "conv", cin, cout, stride=stride, shortcut=True))
    else:  # avgpool: timm's downsample_avg
        if stride != 1:
            pool = LayerSpec(
                "downsample.0", "avgpool", cin, cin, kernel=2, stride=stride, shortcut=True,
                ceil_mode=True,
            )  # fmt: skip
            layers.append(pool)
        layers.append(LayerSpec("downsample.1", "conv", cin, cout, shortcut=True))
    if not cfg.preact:
        index = len(layers) if cfg.downsample == "projection" else 2
        layers.append(LayerSpec(f"downsample.{index}", "bn", cout, cout, shortcut=True))
    return layers


def basic_layers(
    cin: int, planes: int, stride: int, *, preact: bool, dropout: bool, drop_path: bool = False
) -> list[LayerSpec]:
    """The residual branch of a basic block (two 3x3 convs), named within the block, in the
    order it computes; ``relu`` is one module, used twice in a pre-activation block, and
    ``drop`` (dropout between the convs, the WRN paper's) is there only with ``dropout``;
    with ``drop_path``, stochastic depth on the branch's output (:func:`_drop_path`).

    Examples:
        >>> [s.name for s in basic_layers(16, 16, 1, preact=True, dropout=False)]
        ['bn1', 'relu', 'conv1', 'bn2', 'relu', 'conv2']
    """
    drop = [LayerSpec("drop", "dropout", planes, planes)] if dropout else []
    conv1 = LayerSpec("conv1", "conv", cin, planes, kernel=3, stride=stride, padding=1)
    conv2 = LayerSpec("conv2", "conv", planes, planes, kernel=3, padding=1)
    if preact:  # BN, ReLU, conv per conv
        return [
            LayerSpec("bn1", "bn", cin, cin),
            LayerSpec("relu", "relu", cin, cin),
            conv1,
            LayerSpec("bn2", "bn", planes, planes),
            LayerSpec("relu", "relu", planes, planes),
            *drop,
            conv2,
            *_drop_path(planes, drop_path),
        ]
    return [
        conv1,
        LayerSpec("bn1", "bn", planes, planes),
        LayerSpec("relu", "relu", planes, planes),
        *drop,
        conv2,
        LayerSpec("bn2", "bn", planes, planes),
        *_drop_path(planes, drop_path),
    ]


def _drop_path(channels: int, present: bool) -> list[LayerSpec]:
    """Stochastic depth on a residual branch's output, before the add (where timm's blocks
    apply it): ``drop_path``, with ``present``."""
    return [LayerSpec("drop_path", "drop_path", channels, channels)] if present else []


def bottleneck_layers(
    cin: int,
    planes: int,
    stride: int,
    *,
    preact: bool,
    groups: int,
    base_width: int,
    drop_path: bool = False,
) -> list[LayerSpec]:
    """The residual branch of a bottleneck (1x1, 3x3 with the stride and ``groups``, 1x1 with
    4x expansion; torchvision's inner width: ResNeXt, wide ResNet), named within the block,
    in the order it computes; with ``drop_path``, stochastic depth on its output.

    Examples:
        >>> [s.out_channels for s in bottleneck_layers(256, 128, 2, preact=False, groups=32,
        ...                                            base_width=4) if s.kind == "conv"]
        [256, 256, 512]
    """
    inner = bottleneck_width(planes, base_width, groups)
    cout = planes * 4
    convs = [
        LayerSpec("conv1", "conv", cin, inner),
        LayerSpec("conv2", "conv", inner, inner, kernel=3, stride=stride, padding=1, groups=groups),
        LayerSpec("conv3", "conv", inner, cout),
    ]
    layers: list[LayerSpec] = []
    if preact:  # (BN, ReLU, conv) x 3
        for i, conv in enumerate(convs, start=1):
            layers += [
                LayerSpec(f"bn{i}", "bn", conv.in_channels, conv.in_channels),
                LayerSpec("relu", "relu", conv.in_channels, conv.in_channels),
                conv,
            ]
        return layers + _drop_path(cout, drop_path)
    for i, conv in enumerate(convs, start=1):  # (conv, BN, ReLU) x 3, the last ReLU after the add
        layers += [conv, LayerSpec(f"bn{i}", "bn", conv.out_channels, conv.out_channels)]
        if i < 3:
            layers.append(LayerSpec("relu", "relu", conv.out_channels, conv.out_channels))
    return layers + _drop_path(cout, drop_path)


def block_layers(
    cfg: ResNetConfig, cin: int, planes: int, stride: int, drop_path: bool = False
) -> list[LayerSpec]:
    """One residual block of ``cfg`` as it computes, named within the block: its branch (and
    its ``drop_path``, with ``drop_path``), its shortcut, the residual ``add`` (with a
    shortcut), and the ReLU after it (post-activation blocks). The block modules
    (:mod:`scalenet.nn.blocks`) are built from the same lists."""
    if cfg.block == "basic":
        branch = basic_layers(
            cin, planes, stride, preact=cfg.preact, dropout=cfg.block_dropout > 0,
            drop_path=drop_path,
        )  # fmt: skip
    else:
        branch = bottleneck_layers(
            cin, planes, stride, preact=cfg.preact, groups=cfg.groups, base_width=cfg.base_width,
            drop_path=drop_path,
        )  # fmt: skip
    cout = planes * cfg.expansion
    layers = branch + shortcut_layers(cfg, cin, cout, stride)
    if cfg.shortcut:
        layers.append(LayerSpec("add", "add", cout, cout))
    if not cfg.preact:
        layers.append(LayerSpec("relu", "relu", cout, cout))
    return layers


def resnet_stages(cfg: ResNetConfig) -> list[tuple[int, int, int]]:
    """``(planes, stride, depth)`` of each stage: the layout the plan and the module share."""
    first_stride = 1
    return [
        (planes, first_stride if i == 0 else 2, depth)
        for i, (planes, depth) in enumerate(zip(cfg.stage_widths, cfg.depths, strict=True))
    ]


def drop_path_rates(cfg: ResNetConfig) -> list[float]:
    """The stochastic-depth rate of each block, in order: rising linearly from 0 at the first
    block to ``cfg.drop_path_rate`` at the last (timm's ResNet rule; Huang et al. 2016's
    linear decay of the survival probability).

    Examples:
        >>> from scalenet import ResNetConfig
        >>> drop_path_rates(ResNetConfig(depths=(1, 2, 2), drop_path_rate=0.2))
        [0.0, 0.05, 0.1, 0.15000000000000002, 0.2]
    """
    blocks = sum(cfg.depths)
    return [cfg.drop_path_rate * i / max(blocks - 1, 1) for i in range(blocks)]


def _resnet_templates(cfg: ResNetConfig) -> Iterator[LayerSpec]:
    w = cfg.width
    if cfg.stem == "imagenet":
        yield LayerSpec("conv1", "conv", cfg.in_chans, w, kernel=7, stride=2, padding=3)
    elif cfg.stem == "deep":  # timm's nn.Sequential: conv, bn, relu, conv, bn, relu, conv
        cin = cfg.in_chans
        for i, cout in enumerate(cfg.stem_widths):
            stride = 2 if i == 0 else 1
            yield LayerSpec(f"conv1.{3 * i}", "conv", cin, cout, kernel=3, stride=stride, padding=1)
            if i < 2:
                yield LayerSpec(f"conv1.{3 * i + 1}", "bn", cout, cout)
                yield LayerSpec(f"conv1.{3 * i + 2}", "relu", cout, cout)
            cin = cout
    else:
        yield LayerSpec("conv1", "conv", cfg.in_chans, w, kernel=3, stride=1, padding=1)
    if not cfg.preact:  # a pre-activation stem is its conv: the first block's BN-ReLU follows
        yield LayerSpec("bn1", "bn", w, w)
        yield LayerSpec("relu", "relu", w, w)
    if cfg.stem != "cifar":
        yield LayerSpec("maxpool", "maxpool", w, w, kernel=3, stride=2, padding=1)
    cin = w
    rates = iter(drop_path_rates(cfg))
    for i, (planes, stride, depth) in enumerate(resnet_stages(cfg)):
        for j in range(depth):
            name = f"layer{i + 1}.{j}"
            drop_path = next(rates) > 0
            for spec in block_layers(cfg, cin, planes, stride if j == 0 else 1, drop_path):
                yield spec._replace(name=f"{name}.{spec.name}")
            cin = planes * cfg.expansion
    if cfg.preact:
        yield LayerSpec("final_bn", "bn", cin, cin)
        yield LayerSpec("final_relu", "relu", cin, cin)
    yield LayerSpec("avgpool", "avgpool", cin, cin, global_pool=True)
    yield LayerSpec("flatten", "flatten", cin, cin)
    if cfg.dropout > 0:
        yield LayerSpec("drop", "dropout", cin, cin)
    if cfg.num_classes > 0:
        yield LayerSpec("fc", "linear", cin, cfg.num_classes, bias=True)


def conv_block_layers(cfg: SimpleCNNConfig, cin: int, cout: int) -> list[LayerSpec]:
    """One conv block of a simple CNN, named within the block: conv, BN (``batch_norm``),
    ReLU, 2x2/2 pool (``pool``).

    Examples:
        >>> import scalenet
        >>> [s.name for s in conv_block_layers(scalenet.SimpleCNNConfig(), 3, 32)]
        ['conv', 'bn', 'act', 'pool']
    """
    k, p = cfg.kernel_size, cfg.conv_padding
    layers = [LayerSpec("conv", "conv", cin, cout, kernel=k, padding=p, bias=cfg.conv_bias)]
    if cfg.batch_norm:
        layers.append(LayerSpec("bn", "bn", cout, cout))
    layers.append(LayerSpec("act", "relu", cout, cout))
    if cfg.pool != "none":
        kind: Kind = "maxpool" if cfg.pool == "max" else "avgpool"
        layers.append(LayerSpec("pool", kind, cout, cout, kernel=2, stride=2))
    return layers


def hidden_layers(cin: int, cout: int, *, dropout: bool) -> list[LayerSpec]:
    """One hidden layer of a simple CNN's classifier, named within it: dropout (with
    ``dropout``), linear, ReLU.

    Examples:
        >>> [s.name for s in hidden_layers(512, 128, dropout=True)]
        ['drop', 'fc', 'act']
    """
    drop = [LayerSpec("drop", "dropout", cin, cin)] if dropout else []
    return [
        *drop,
        LayerSpec("fc", "linear", cin, cout, bias=True),
        LayerSpec("act", "relu", cout, cout),
    ]


def _simple_cnn_templates(cfg: SimpleCNNConfig) -> Iterator[LayerSpec]:
    cin = cfg.in_chans
    for i, cout in enumerate(cfg.channels):
        for spec in conv_block_layers(cfg, cin, cout):
            yield spec._replace(name=f"features.{i}.{spec.name}")
        cin = cout
    if cfg.global_pool:
        yield LayerSpec("global_pool", "avgpool", cin, cin, global_pool=True)
    yield LayerSpec("flatten", "flatten", cin, cin)  # out_channels is set from the size by _walk
    for j, width in enumerate(cfg.hidden):  # in_channels 0: the walk sets it
        for spec in hidden_layers(0, width, dropout=cfg.dropout > 0):
            yield spec._replace(name=f"hidden.{j}.{spec.name}")
    if cfg.dropout > 0:
        yield LayerSpec("drop", "dropout", 0, 0)
    if cfg.num_classes > 0:
        yield LayerSpec("fc", "linear", 0, cfg.num_classes, bias=True)


#: What a function of a config takes.
CONFIG_ALLOWED = "a ResNetConfig or SimpleCNNConfig (scalenet.get_config(name) gives a zoo model's)"


def templates(cfg: Config) -> Iterator[LayerSpec]:
    """The network's layers as size-free templates, in the order it computes them (full
    names: ``layer1.0.conv1``), for :func:`scalenet.plan` to walk a size through.

    Raises:
        ConfigTypeError: ``cfg`` is not a config (every function of a config checks here).
    """
    check_type("config", cfg, (ResNetConfig, SimpleCNNConfig), CONFIG_ALLOWED)
    if isinstance(cfg, ResNetConfig):
        return _resnet_templates(cfg)
    return _simple_cnn_templates(cfg)

"""The model zoo: one table of named variants, each a config plus its metadata.

Examples:
    >>> import scalenet
    >>> scalenet.list_models("resnet2*")
    ['resnet26', 'resnet26d', 'resnet200d', 'resnet20_cifar', 'resnet20_cifar_proj']
    >>> scalenet.list_models("resnet20_cifar*", pretrained=True)[0]
    'resnet20_cifar.akamaster_cifar10'
    >>> model = scalenet.create("resnet20_cifar", num_classes=100)
    >>> model.config.num_classes, model.config.downsample
    (100, 'pad')
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config import (
    CIFAR_MEAN,
    CIFAR_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Block,
    ResNetConfig,
    SimpleCNNConfig,
    Stem,
)
from .config.depth import nearest_depths, resnet_layout
from .errors import ConfigError, WeightsError
from .spec.scaling import compound_scale
from .spec.sizes import model_cfg
from .weights.catalog import CATALOG, Weights, get_weights, split_name

if TYPE_CHECKING:
    from .nn.base import ScaleNetModel

__all__ = [
    "ZooEntry",
    "create",
    "get_config",
    "get_entry",
    "list_models",
]


RESNET_PAPER = "https://arxiv.org/abs/1512.03385"
EFFICIENTNET_PAPER = "https://arxiv.org/abs/1905.11946"
RESNEXT_PAPER = "https://arxiv.org/abs/1611.05431"
WIDE_RESNET_PAPER = "https://arxiv.org/abs/1605.07146"
BAG_OF_TRICKS_PAPER = "https://arxiv.org/abs/1812.01187"
PREACT_PAPER = "https://arxiv.org/abs/1603.05027"


@dataclass(frozen=True)
class ZooEntry:
    """A named variant: its config and the metadata timm's pretrained cfg carries.

    Attributes:
        name: the name for :func:`create` (``"resnet50"``).
        config: the architecture.
        description: one line for listings and model cards.
        paper: where the architecture comes from.
        mean, std: input normalisation.
        crop_pct, interpolation: evaluation preprocessing (timm's convention).
        timm_name: the name registered with timm (scalenet-prefixed where the short name would
            shadow one of timm's own models).
        license: licence of the architecture's code (each published weight carries its own).

    Published weights are not the entry's: they are the catalogue's
    (:mod:`scalenet.weights`), by ``name.tag``.
    """

    name: str
    config: ResNetConfig | SimpleCNNConfig
    description: str
    paper: str = RESNET_PAPER
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    timm_name: str = ""
    license: str = "apache-2.0"

    @property
    def first_conv(self) -> str:
        """Module path of the first convolution."""
        return self.config.first_conv

    @property
    def classifier(self) -> str:
        """Module path of the classifier."""
        return "fc"

    @property
    def weights(self) -> tuple[Weights, ...]:
        """The published weights of this architecture (the default tag first)."""
        return CATALOG.get(self.name, ())

    def pretrained_cfg(
        self,
        weights: Weights | None = None,
        config: ResNetConfig | SimpleCNNConfig | None = None,
    ) -> dict[str, Any]:
        """timm's pretrained cfg for this entry (input size, normalisation, layer names...),
        and for one of its published ``weights``: their tag, file, licence, normalisation,
        crop and test size. Sizes are those of ``config`` (default: the entry's, with the
        fields the weights need).

        Examples:
            >>> import scalenet
            >>> cfg = scalenet.get_entry("resnet20_cifar").pretrained_cfg()
            >>> cfg["input_size"], cfg["pool_size"], cfg["classifier"]
            ((3, 32, 32), (8, 8), 'fc')
        """
        if config is None:
            changes = weights.config_changes() if weights is not None else {}
            config = self.config.replace(**changes)
        cfg: dict[str, Any] = {"architecture": self.timm_name}
        if weights is not None:
            file = weights.file
            cfg |= {
                "tag": weights.tag,
                "hf_hub_id": getattr(file, "repo_id", None),
                "url": getattr(file, "url", None),
                "origin_url": weights.origin,
            }
        cfg |= {
            **model_cfg(config),
            "crop_pct": self.crop_pct if weights is None else weights.crop_pct,
            "interpolation": self.interpolation if weights is None else weights.interpolation,
            "mean": self.mean if weights is None else weights.mean,
            "std": self.std if weights is None else weights.std,
            "license": self.license if weights is None else weights.license,
            "paper_ids": self.paper,
            "description": self.description,
        }
        if weights is not None and weights.test_input_size is not None:
            size = weights.test_input_size
            cfg["test_input_size"] = (config.in_chans, size, size)
            cfg["test_crop_pct"] = weights.test_crop_pct or cfg["crop_pct"]
        return cfg

    @property
    def pool_size(self) -> tuple[int, int]:
        """Spatial size of the last feature map at the default input size."""
        size: tuple[int, int] = model_cfg(self.config)["pool_size"]
        return size


def _cifar_resnet(depth: int, shortcut: bool) -> ResNetConfig:
    n = (depth - 2) // 6
    return ResNetConfig(
        depths=(n, n, n), width=16, stem="cifar", shortcut=shortcut, downsample="pad",
        num_classes=10, input_size=32,
    )  # fmt: skip


def _entries() -> list[ZooEntry]:
    tv = {
        "resnet18": ((2, 2, 2, 2), "basic"),
        "resnet26": ((2, 2, 2, 2), "bottleneck"),
        "resnet34": ((3, 4, 6, 3), "basic"),
        "resnet50": ((3, 4, 6, 3), "bottleneck"),
        "resnet101": ((3, 4, 23, 3), "bottleneck"),
        "resnet152": ((3, 8, 36, 3), "bottleneck"),
    }
    entries = [
        ZooEntry(
            name,
            ResNetConfig(depths=depths, block=block),  # type: ignore[arg-type]
            f"ResNet-{name[6:]} (torchvision layout and parameter names), ImageNet stem",
            timm_name=f"scalenet_{name}",
        )
        for name, (depths, block) in tv.items()
    ]
    # ResNeXt (grouped 3x3 convs) and the wide ResNets (bottlenecks twice as wide inside), with
    # torchvision's names; timm has models of these names, so they register scalenet-prefixed.
    grouped = {
        "resnext50_32x4d": ("ResNeXt-50 32x4d", (3, 4, 6, 3), 32, 4, RESNEXT_PAPER),
        "resnext101_32x8d": ("ResNeXt-101 32x8d", (3, 4, 23, 3), 32, 8, RESNEXT_PAPER),
        "resnext101_64x4d": ("ResNeXt-101 64x4d", (3, 4, 23, 3), 64, 4, RESNEXT_PAPER),
        "wide_resnet50_2": ("Wide ResNet-50-2", (3, 4, 6, 3), 1, 128, WIDE_RESNET_PAPER),
        "wide_resnet101_2": ("Wide ResNet-101-2", (3, 4, 23, 3), 1, 128, WIDE_RESNET_PAPER),
    }
    entries += [
        ZooEntry(
            name,
            ResNetConfig(depths=depths, block="bottleneck", groups=groups, base_width=base_width),
            f"{title}: bottleneck {depths}, groups {groups}, base_width {base_width} "
            "(torchvision layout and parameter names), ImageNet stem",
            paper=paper,
            timm_name=f"scalenet_{name}",
        )
        for name, (title, depths, groups, base_width, paper) in grouped.items()
    ]
    # He et al. 2019's ResNet-D (timm's resnet50d...): deep stem, average-pool shortcuts.
    entries += [
        ZooEntry(
            f"resnet{depth}d",
            ResNetConfig(
                depths=depths,
                block=block,
                stem="deep",
                downsample="avgpool",
                input_size=256 if depth > 100 else 224,  # timm's size for the deep ones
            ),
            f"ResNet-{depth}-D: deep 3x3 stem, average-pool shortcuts (timm's layout and "
            "parameter names)",
            paper=BAG_OF_TRICKS_PAPER,
            timm_name=f"scalenet_resnet{depth}d",
        )
        for depth in (18, 26, 34, 50, 101, 152, 200)
        for depths, block in [resnet_layout(depth)]
    ]
    # He et al. 2016's pre-activation ResNets at ImageNet scale, as timm's BatchNorm
    # ``resnetv2_*`` (BN-ReLU before each conv, a bare 1x1 conv shortcut, a closing BN-ReLU),
    # and their ``d`` variants (deep stem, average-pool shortcuts). Their weights are timm's,
    # converted by name; timm has models of these names, so they register scalenet-prefixed.
    entries += [
        ZooEntry(
            f"resnetv2_{depth}{variant}",
            ResNetConfig(
                depths=depths, block=block, preact=True,
                stem="deep" if variant else "imagenet",
                downsample="avgpool" if variant else "projection",
            ),
            f"Pre-activation ResNet-{depth}"
            + ("-D: deep 3x3 stem, average-pool shortcuts" if variant else ": ImageNet stem")
            + ", BN-ReLU before each conv (timm's resnetv2 layout, scalenet's parameter names)",
            paper=PREACT_PAPER,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            timm_name=f"scalenet_resnetv2_{depth}{variant}",
        )
        for depth, variant in ((18, ""), (18, "d"), (34, ""), (34, "d"), (50, ""), (101, ""))
        for depths, block in [resnet_layout(depth)]
    ]  # fmt: skip
    cifar: dict[str, Any] = {"mean": CIFAR_MEAN, "std": CIFAR_STD, "crop_pct": 1.0}
    entries += [
        ZooEntry(
            f"resnet{depth}_cifar",
            _cifar_resnet(depth, shortcut=True),
            f"ResNet-{depth} for CIFAR (6n+2, option-A zero-pad shortcuts)",
            **cifar,
        )
        for depth in (20, 32, 44, 56, 110)
    ]
    # 600 residual blocks: with BN's initial statistics an untrained net would overflow, so
    # its residual branches start at zero (timm's default), which keeps it finite at init.
    entries.append(
        ZooEntry(
            "resnet1202_cifar",
            _cifar_resnet(1202, shortcut=True).replace(zero_init_residual=True),
            "ResNet-1202 for CIFAR (6n+2, option-A zero-pad shortcuts, zero-init residuals)",
            **cifar,
        )
    )
    # Option B: 1x1 projection shortcuts where the shape changes (pytorchcv's and chenyaofo's
    # CIFAR ResNets, whose weights these load); ResNet-1001 is 9n+2, with bottlenecks.
    entries += [
        ZooEntry(
            f"resnet{depth}_cifar_proj",
            _cifar_resnet(depth, shortcut=True).replace(
                downsample="projection", depths=resnet_layout(depth, "cifar")[0],
                block=resnet_layout(depth, "cifar")[1], zero_init_residual=depth > 1000,
            ),
            f"ResNet-{depth} for CIFAR ({'9n+2, bottlenecks' if depth == 1001 else '6n+2'}, "
            "option-B 1x1 projection shortcuts)",
            **cifar,
        )
        for depth in (20, 32, 44, 56, 110, 1001, 1202)
    ]  # fmt: skip
    # Pre-activation ResNets (He et al. 2016) as pytorchcv builds them, whose CIFAR/SVHN
    # weights these load: projection shortcuts; 164, 272, 542 and 1001 have bottlenecks. From
    # 272 layers on, untrained outputs reach 1e22 or overflow unless the residual branches
    # start at zero, as they do here (and for the 272-layer ResNeXts).
    preact: dict[str, tuple[int, Block]] = {
        "preresnet20_cifar": (20, "basic"),
        "preresnet56_cifar": (56, "basic"),
        "preresnet110_cifar": (110, "basic"),
        "preresnet164_cifar": (164, "bottleneck"),
        "preresnet272_cifar": (272, "bottleneck"),
        "preresnet542_cifar": (542, "bottleneck"),
        "preresnet1001_cifar": (1001, "bottleneck"),
        "preresnet1202_cifar": (1202, "basic"),
    }
    entries += [
        ZooEntry(
            name,
            _cifar_resnet(depth, shortcut=True).replace(
                depths=resnet_layout(depth, "cifar", block)[0], block=block, preact=True,
                downsample="projection", zero_init_residual=depth > 200,
            ),
            f"Pre-activation ResNet-{depth} for CIFAR ({rule}, BN-ReLU before each conv, "
            "projection shortcuts)",
            paper=PREACT_PAPER,
            **cifar,
        )
        for name, (depth, block) in preact.items()
        for rule in ["9n+2, bottlenecks" if block == "bottleneck" else "6n+2"]
    ]  # fmt: skip
    # Wide ResNets (Zagoruyko and Komodakis 2016): WRN-d-k, pre-activation basic blocks.
    entries += [
        ZooEntry(
            f"wrn{depth}_{k}_cifar",
            ResNetConfig(
                depths=resnet_layout(depth, "cifar", "basic", wide=True)[0], width=16,
                stem="cifar", downsample="projection", num_classes=10, input_size=32,
                preact=True, widen_factor=k,
            ),
            f"WRN-{depth}-{k} for CIFAR (6n+4, stages 16k/32k/64k, pre-activation)",
            paper=WIDE_RESNET_PAPER,
            **cifar,
        )
        for depth, k in ((16, 10), (28, 10), (40, 8))
    ]  # fmt: skip
    # CIFAR ResNeXts (Xie et al. 2017): 64-wide stem, bottleneck stages of 256/512/1024.
    entries += [
        ZooEntry(
            f"resnext{depth}_{groups}x{base_width}d_cifar",
            ResNetConfig(
                depths=resnet_layout(depth, "cifar", "bottleneck")[0], width=64, stem="cifar",
                block="bottleneck", downsample="projection", num_classes=10, input_size=32,
                groups=groups, base_width=base_width, zero_init_residual=depth > 200,
            ),
            f"ResNeXt-{depth} {groups}x{base_width}d for CIFAR (9n+2, bottlenecks with groups "
            f"{groups}, base_width {base_width}, projection shortcuts)",
            paper=RESNEXT_PAPER,
            **cifar,
        )
        for depth, groups, base_width in ((29, 32, 4), (29, 16, 64), (272, 1, 64), (272, 2, 32))
    ]  # fmt: skip
    entries += [
        ZooEntry(
            f"plain{depth}_cifar",
            _cifar_resnet(depth, shortcut=False),
            f"Plain-{depth} for CIFAR: ResNet-{depth}'s layers without shortcuts",
            **cifar,
        )
        for depth in (20, 32, 44, 56, 110)
    ]
    base = ResNetConfig()
    entries += [
        ZooEntry(
            f"scalenet_w{width}",
            base.replace(width=width),
            f"ResNet-18 layout with first-stage width {width}",
        )
        for width in (48, 64, 80, 96, 128)
    ]
    # Named by their layout: "ResNet-N" means what scalenet.resnet(depth=N) builds (timm's
    # ResNet-26, say, is bottleneck (2, 2, 2, 2)), which these are not.
    entries.append(
        ZooEntry(
            "scalenet_d3333",
            base.replace(depths=(3, 3, 3, 3)),
            "basic (3, 3, 3, 3), width 64, ImageNet stem: resnet18 with one more block per stage",
        )
    )
    for phi in range(5):
        c = compound_scale(base, phi)
        entries.append(
            ZooEntry(
                f"scalenet_b{phi}",
                c,
                f"{c.block} {c.depths}, width {c.width} at {c.input_size} px: resnet18 "
                f"compound-scaled by the EfficientNet rule, phi={phi}",
                paper=EFFICIENTNET_PAPER,
            )
        )
    entries.append(
        ZooEntry(
            "simple_cnn_cifar",
            SimpleCNNConfig(channels=(32, 64, 128), dropout=0.5),
            "3-block CNN (32/64/128, 3x3, BN, 2x2 max pool, dropout, linear): 114,186 params",
            paper="",
            **cifar,
        )
    )
    six_blocks = SimpleCNNConfig(
        channels=(8, 16, 32, 64, 128, 256),
        kernel_size=5,
        padding=0,
        hidden=(1000, 500, 100),
        num_classes=2,
        input_size=444,
    )
    entries.append(
        ZooEntry(
            "simple_cnn6_k5",
            six_blocks,
            "6-block CNN with 5x5 valid convs and 1000/500/100 hidden layers, 2 classes at 444 px",
            paper="",
            crop_pct=1.0,
        )
    )
    return [e if e.timm_name else replace(e, timm_name=e.name) for e in entries]


ZOO: dict[str, ZooEntry] = {e.name: e for e in _entries()}


def _patterns(value: str | Sequence[str] | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    patterns = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(p, str) for p in patterns):
        raise ConfigError(field, value, "a shell-style pattern such as 'resnet*', or a list")
    return patterns


def list_models(
    include: str | Sequence[str] = "*",
    exclude: str | Sequence[str] | None = None,
    pretrained: bool = False,
) -> list[str]:
    """Names of the zoo's models matching shell-style patterns, in table order.

    Args:
        include: a pattern (``"resnet*"``) or a list of them; a name matching any is listed.
        exclude: a pattern or a list of them; a name matching any is left out.
        pretrained: list the published weights instead, as ``arch.tag`` names (the patterns
            then match those: ``"resnet50.*"``, ``"*cifar100"``), each architecture's default
            tag first.

    Examples:
        >>> import scalenet
        >>> scalenet.list_models("plain*", exclude="*110*")
        ['plain20_cifar', 'plain32_cifar', 'plain44_cifar', 'plain56_cifar']
        >>> scalenet.list_models("resnet20_cifar*", pretrained=True)[:2]
        ['resnet20_cifar.akamaster_cifar10', 'resnet20_cifar_proj...']
    """
    wanted, unwanted = _patterns(include, "include"), _patterns(exclude, "exclude")
    names = [w.name for name in ZOO for w in CATALOG.get(name, ())] if pretrained else list(ZOO)
    return [
        n
        for n in names
        if any(fnmatch.fnmatchcase(n, p) for p in wanted)
        and not any(fnmatch.fnmatchcase(n, p) for p in unwanted)
    ]


def get_entry(name: str) -> ZooEntry:
    """The zoo entry called ``name`` (``arch`` or ``arch.tag``); an unknown name suggests the
    closest ones, an unknown tag lists the architecture's tags.

    Examples:
        >>> import scalenet
        >>> scalenet.get_entry("resnet50").timm_name
        'scalenet_resnet50'
        >>> scalenet.get_entry("resnet50.a1_in1k").name
        'resnet50'
    """
    arch, tag = split_name(name) if isinstance(name, str) else (name, None)
    entry = _arch_entry(arch)
    if tag is not None:
        _weights(entry, tag)
    return entry


def _weights(entry: ZooEntry, tag: str | None) -> Weights:
    """The entry's weights called ``tag`` (``None``: its default), or an error naming them."""
    if not entry.weights:
        with_weights = [n for n, e in ZOO.items() if e.weights]
        raise WeightsError(
            f"no published weights for {entry.name!r}; models with weights: "
            f"{', '.join(with_weights)} (scalenet.list_models(pretrained=True) lists every tag)"
        )
    return get_weights(entry.name, tag)


def _arch_entry(name: str) -> ZooEntry:
    if name in ZOO:
        return ZOO[name]
    timm_names = {e.timm_name: e for e in ZOO.values()}
    if name in timm_names:
        return timm_names[name]
    if f"{name}_cifar" in ZOO:  # "resnet20": the CIFAR ResNets carry the stem in their name
        hint = f"did you mean {name + '_cifar'!r}?"
    elif _DEPTH_NAME.fullmatch(name):
        hint = _by_depth(name)
    else:
        close = difflib.get_close_matches(name, list(ZOO), n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError("name", name, "a model in scalenet.list_models()", hint)


#: "resnet26", "resnet21_cifar", "plain74_cifar": names of a depth that is not in the zoo.
_DEPTH_NAME = re.compile(
    r"(resnet|plain|preresnet)(\d{1,6})(_cifar)?|wrn(\d{1,6})_(\d{1,4})(_cifar)?"
)


def _by_depth(name: str) -> str:
    """How to build the ResNet a zoo-style name asks for, or the rule its depth breaks."""
    match = _DEPTH_NAME.fullmatch(name)
    assert match is not None
    if match.group(4):  # wrnD_K: the WRN paper's WRN-D-K
        depth, k = int(match.group(4)), int(match.group(5))
        try:
            resnet_layout(depth, "cifar", "basic", wide=True)
        except ConfigError as err:
            near = " or ".join(
                f"scalenet.wrn({d}, {k})" for d in nearest_depths(depth, "cifar", wide=True)
            )
            return f"there is no WRN-{depth}-{k}: depth must be {err.allowed}; nearest: {near}"
        return f"not in the zoo, but scalenet.wrn({depth}, {k}) builds it"
    kind, depth, cifar = match.group(1), int(match.group(2)), bool(match.group(3))
    extra = {"plain": ", shortcut=False", "preresnet": ", preact=True"}.get(kind, "")
    if kind == "preresnet" and cifar:
        extra += ', downsample="projection"'

    def call(depth: int) -> str:
        args = f"depth={depth}" + (', stem="cifar"' if cifar else "")
        return f"scalenet.resnet({args}{extra})"

    stem: Stem = "cifar" if cifar else "imagenet"
    try:
        resnet_layout(depth, stem)
    except ConfigError as err:
        how = " or ".join(call(d) for d in nearest_depths(depth, stem))
        return f"there is no ResNet-{depth}: depth must be {err.allowed}; nearest: {how}"
    return f"not in the zoo, but {call(depth)} builds it"


def get_config(name: str) -> ResNetConfig | SimpleCNNConfig:
    """The config of the zoo model ``name``; with a tag, the fields its weights need set.

    Examples:
        >>> import scalenet
        >>> scalenet.get_config("resnet56_cifar").depths
        (9, 9, 9)
        >>> scalenet.get_config("resnet56_cifar_proj.pytorchcv_cifar100").num_classes
        100
    """
    entry = get_entry(name)
    tag = split_name(name)[1]
    if tag is None:
        return entry.config
    return entry.config.replace(**_weights(entry, tag).config_changes())


def create(name: str, pretrained: bool = False, **overrides: Any) -> ScaleNetModel:
    """Build the zoo model ``name``, with config fields overridden (and validated).

    ``name`` is an architecture (``"resnet50"``) or an architecture and a weights tag
    (``"resnet50.a1_in1k"``, timm's convention). A tag sets the fields its weights need (the
    classes of their dataset, their training input size) even without ``pretrained``, as
    timm's does; explicit overrides still win, with timm's adaptation of the classifier
    (``num_classes``: a fresh head) and the first conv (``in_chans``), each with a warning.

    Args:
        name: a name from :func:`list_models` (with ``pretrained=True`` for the tags).
        pretrained: load the published weights: the tag's, or the architecture's default
            tag's (the first in ``scalenet.list_models(pretrained=True)``).
        **overrides: config fields to change, e.g. ``num_classes=10``, ``in_chans=1``,
            ``input_size=256``, ``width=80``.

    Raises:
        ConfigError: unknown name or tag (with suggestions), unknown field, or a bad value.
        WeightsError: ``pretrained=True`` for a model without weights; weights neither in the
            cache nor reachable (at once, naming the file and the remedies), a file whose hash
            is not the one its source publishes, or weights that do not fit.

    Examples:
        >>> import scalenet
        >>> scalenet.create("resnet18", num_classes=10, in_chans=1).conv1.in_channels
        1
        >>> scalenet.create("resnet56_cifar_proj.pytorchcv_cifar100").num_classes
        100
    """
    entry = get_entry(name)
    tag = split_name(name)[1]
    weights = _weights(entry, tag) if tag is not None or pretrained else None
    config = entry.config.replace(**weights.config_changes()) if weights else entry.config
    config = config.replace(**overrides) if overrides else config
    if pretrained:
        assert weights is not None
        model = _load(weights, config)
    else:
        from .nn import build

        model = build(config)
    model.pretrained_cfg = entry.pretrained_cfg(weights, config)
    if pretrained and weights is not None:
        _record_digest(model, weights)
    return model


def _record_digest(model: ScaleNetModel, weights: Weights) -> None:
    """Note the loaded weights' digest when the model holds them unchanged (its classes and
    input channels theirs): its model card may then quote their reported accuracy."""
    from .io.weights import weights_digest

    if model.config.num_classes == weights.num_classes and model.config.in_chans == 3:
        model.pretrained_cfg["weights_digest"] = weights_digest(model)


def _load(weights: Weights, config: ResNetConfig | SimpleCNNConfig) -> ScaleNetModel:
    """A model of ``config`` holding ``weights`` (adapted to its classes and input channels)."""
    from torch import nn

    from .hub.published import load_state_dict
    from .io.weights import load_weights
    from .nn.skeleton import skeleton

    state = load_state_dict(weights)
    model = skeleton(config)  # no initialisation for weights about to be replaced
    load_weights(model, state, assign=True)
    if isinstance(model.fc, nn.Linear) and model.fc.weight.is_meta:
        model.reset_classifier(config.num_classes)  # another class count: a fresh head
    return model

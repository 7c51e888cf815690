"""The zoo's table: every named variant, as :data:`ZOO` (name -> :class:`ZooEntry`).

Examples:
    >>> from scalenet.zoo.table import ZOO
    >>> ZOO["resnet50"].config.depths
    (3, 4, 6, 3)
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..config import (
    CIFAR_MEAN,
    CIFAR_STD,
    Block,
    ResNetConfig,
    SimpleCNNConfig,
)
from ..config.depth import resnet_layout
from ..spec.scaling import compound_scale

if TYPE_CHECKING:
    pass
from .entry import (
    BAG_OF_TRICKS_PAPER,
    EFFICIENTNET_PAPER,
    PREACT_PAPER,
    RESNEXT_PAPER,
    WIDE_RESNET_PAPER,
    ZooEntry,
)

__all__ = ["ZOO"]


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
    cifar: dict[str, Any] = {
        "mean": CIFAR_MEAN, "std": CIFAR_STD, "crop_pct": 1.0, "dataset": "cifar10"
    }  # fmt: skip
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
            dataset=None,  # a two-class example of the plan's size rule, for no data set
        )
    )
    return [e if e.timm_name else replace(e, timm_name=e.name) for e in entries]


ZOO: dict[str, ZooEntry] = {e.name: e for e in _entries()}

"""ResNet-N: the depths people name ResNets by, and the layouts they stand for.

The depth of "ResNet-N" counts weighted layers: the stem conv, the block convs and the
classifier (:attr:`scalenet.ResNetConfig.depth`). With the ImageNet stem the names are
torchvision's and timm's; with the CIFAR stem they follow the CIFAR ResNet papers' 6n+2 (basic
blocks) and 9n+2 (bottlenecks) rules.

Examples:
    >>> from scalenet.config.depth import resnet_layout
    >>> resnet_layout(101)
    ((3, 4, 23, 3), 'bottleneck')
"""

from __future__ import annotations

from typing import get_args

from ..errors import ConfigError, check_bool, check_type
from .base import MAX_BLOCKS, Block, Stem, _check_choice

__all__ = ["IMAGENET_LAYOUTS", "nearest_depths", "resnet_layout"]

#: The ImageNet ResNets by depth (weighted layers: the stem conv, the block convs, the
#: classifier): torchvision's 18/34/50/101/152 and timm's 10/14/26/200, as blocks per stage.
IMAGENET_LAYOUTS: dict[str, dict[int, tuple[int, ...]]] = {
    "basic": {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)},
    "bottleneck": {
        14: (1, 1, 1, 1),
        26: (2, 2, 2, 2),
        50: (3, 4, 6, 3),
        101: (3, 4, 23, 3),
        152: (3, 8, 36, 3),
        200: (3, 24, 36, 3),
    },
}
#: Convolutions per block: the CIFAR ResNets have 3 stages of n blocks, so depth = 6n + 2
#: (basic, He et al. 2015) or 9n + 2 (bottleneck, He et al. 2016, ResNet-164 and -1001).
_CONVS = {"basic": 2, "bottleneck": 3}
#: CIFAR depths that are both 6n + 2 and 9n + 2 and that name bottleneck nets where they are
#: published: ResNet-164 (He et al. 2016, "Identity Mappings in Deep Residual Networks"), and
#: the 272- and 542-layer nets of imgclsmob/pytorchcv (``preresnet272bn``, ``resnext272``...).
_BOTTLENECK_DEPTHS = frozenset({164, 272, 542})


def _offset(wide: bool) -> int:
    """Layers outside the blocks: stem conv and classifier (2), or the WRN paper's 4."""
    return 4 if wide else 2


def nearest_depths(
    depth: int, stem: Stem = "imagenet", block: Block | None = None, *, wide: bool = False
) -> tuple[int, ...]:
    """The valid ResNet depths closest to ``depth``: one below and one above (one at an end).

    Examples:
        >>> from scalenet.config.depth import nearest_depths
        >>> nearest_depths(21, "cifar"), nearest_depths(50, "cifar", "bottleneck")
        ((20, 26), (47, 56))
        >>> nearest_depths(20)
        (18, 26)
    """
    if stem == "cifar":
        step = 3 * _CONVS[block or "basic"]
        c = _offset(wide and block in (None, "basic"))
        n = (depth - c) // step
        valid = {step * k + c for k in (1, n - 1, n, n + 1, MAX_BLOCKS) if 1 <= k <= MAX_BLOCKS}
    else:
        valid = {d for kind, t in IMAGENET_LAYOUTS.items() if block in (None, kind) for d in t}
    below = [d for d in sorted(valid) if d < depth][-1:]
    above = [d for d in sorted(valid) if d > depth][:1]
    return tuple(below + above)


def resnet_layout(
    depth: int, stem: Stem = "imagenet", block: Block | None = None, *, wide: bool = False
) -> tuple[tuple[int, ...], Block]:
    """Blocks per stage and block type of the ResNet called "ResNet-``depth``".

    With the ImageNet stem, ``depth`` is one of the torchvision/timm ResNets: 10, 18, 34 with
    basic blocks, 14, 26, 50, 101, 152, 200 with bottlenecks (``block`` follows the depth when
    not given). With the CIFAR stem, ``depth`` is 6n + 2 with basic blocks (ResNet-20, 32, 44,
    56, 110, 1202 of the ResNet paper; the default) or 9n + 2 with bottlenecks (ResNet-164,
    and ResNet-1001, which being no 6n + 2 takes bottlenecks when ``block`` is not given, as
    ResNet-164, -272 and -542 do, the published bottleneck nets), giving three stages of n
    blocks. A wide ResNet (``wide=True``: ``widen_factor > 1``, basic blocks) counts as the
    WRN paper does, 6n + 4: WRN-28-10 has 4 blocks per stage.

    Raises:
        ConfigError: ``depth`` fits no rule; the message states the rule and the nearest valid
            depths.

    Examples:
        >>> from scalenet import resnet_layout
        >>> resnet_layout(50)
        ((3, 4, 6, 3), 'bottleneck')
        >>> resnet_layout(56, stem="cifar")
        ((9, 9, 9), 'basic')
        >>> resnet_layout(1001, stem="cifar")  # 9n+2 only: bottlenecks
        ((111, 111, 111), 'bottleneck')
        >>> resnet_layout(28, stem="cifar", wide=True)  # WRN-28-k
        ((4, 4, 4), 'basic')
        >>> resnet_layout(21, stem="cifar")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: depth=21 is not allowed: 6n+2 for a CIFAR ResNet with
        basic blocks (n blocks in each of 3 stages: 8, 14, 20, 26, ...) (nearest valid
        depths: 20 or 26)
    """
    _check_choice("stem", stem, get_args(Stem))
    if block is not None:
        _check_choice("block", block, get_args(Block))
    check_type("depth", depth, int, "an integer: the number of weighted layers")
    check_bool("wide", wide)
    if stem == "cifar":
        kind: Block = block or "basic"
        bottleneck_name = depth in _BOTTLENECK_DEPTHS or ((depth - 2) % 6 and not (depth - 2) % 9)
        if block is None and not wide and bottleneck_name and depth > 2:
            kind = "bottleneck"  # ResNet-164 and -1001 (9n+2, not 6n+2) are bottleneck nets
        c = _offset(wide and kind == "basic")
        step = 3 * _CONVS[kind]
        n, rest = divmod(depth - c, step)
        if rest == 0 and 1 <= n <= MAX_BLOCKS:
            return (n, n, n), kind
        examples = ", ".join(str(step * k + c) for k in range(1, 5))
        near = " or ".join(map(str, nearest_depths(depth, stem, kind, wide=wide)))
        hint = f"nearest valid depths: {near}"
        other: Block = "bottleneck" if kind == "basic" else "basic"
        if block is not None and not wide and (depth - 2) % (3 * _CONVS[other]) == 0 and depth > 2:
            hint += f"; {depth} is {3 * _CONVS[other]}n+2, the rule for block={other!r}"
        what = "a wide ResNet (WRN-d-k)" if c == 4 else "a CIFAR ResNet"
        raise ConfigError(
            "depth",
            depth,
            f"{step}n+{c} for {what} with {kind} blocks (n blocks in each of 3 stages: "
            f"{examples}, ...)",
            hint,
        )
    tables = {block: IMAGENET_LAYOUTS[block]} if block else IMAGENET_LAYOUTS
    for kind_name, table in tables.items():
        if depth in table:
            return table[depth], kind_name  # type: ignore[return-value]
    known = "; ".join(f"{', '.join(map(str, t))} ({k})" for k, t in tables.items())
    near = " or ".join(map(str, nearest_depths(depth, stem, block)))
    hint = f"nearest valid depths: {near}"
    for kind_name, table in IMAGENET_LAYOUTS.items():
        if depth in table:  # only when the given block excluded it
            hint += f"; ResNet-{depth} has block={kind_name!r}"
    raise ConfigError(
        "depth",
        depth,
        f"an ImageNet ResNet depth: {known}; other layouts take depths=(...)",
        hint,
    )

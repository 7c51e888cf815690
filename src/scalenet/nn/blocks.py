"""The residual blocks (basic and bottleneck, post- and pre-activation) and the stage that
holds them.

The blocks follow torchvision's ``models/resnet.py`` (same attribute names, so checkpoints load
with ``strict=True``) with one addition: ``shortcut=False`` drops the identity path, giving the
plain networks of the ResNet paper. Each block's layers are made from the layer plan's
templates of its branch (:func:`scalenet.spec.templates.basic_layers`,
:func:`~scalenet.spec.templates.bottleneck_layers`): one description of each variant, which
the analytic counts read too; a block's ``forward`` says the order they run in.

Examples:
    >>> import torch
    >>> from scalenet.nn.blocks import BasicBlock
    >>> from scalenet.nn.layers import PadShortcut
    >>> block = BasicBlock(16, 32, stride=2, downsample=PadShortcut(16, 32, stride=2))
    >>> block(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 32, 4, 4])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..spec.templates import LayerSpec, basic_layers, bottleneck_layers
from .layers import modules_of

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "PreActBasicBlock",
    "PreActBottleneck",
    "Stage",
    "checkpoint_seq",
]


class Stage(nn.Sequential):
    """The blocks of one resolution stage (``layer1``, ``layer2``...).

    A model runs its stages by iterating its children and keeping those with an ``is_stage``
    attribute: this works for any number of stages in eager mode, FX, ``torch.compile`` and
    ``torch.jit.script`` (whose ``isinstance`` on modules cannot tell stages of different
    contents apart, while ``hasattr`` is resolved per module).
    """

    def __init__(self, *blocks: nn.Module) -> None:
        super().__init__(*blocks)
        self.is_stage = True


def _add_layers(
    block: nn.Module,
    layers: list[LayerSpec],
    dropout: float = 0.0,
    relu_last: bool = True,
    drop_path: float = 0.0,
) -> None:
    """Give ``block`` the modules of ``layers`` (:func:`~scalenet.nn.layers.modules_of`), in
    their order; ``relu`` is registered last (where torchvision's Bottleneck and timm's
    pre-activation blocks have it) or at its first use (torchvision's BasicBlock). Without
    a dropout or stochastic depth, ``drop`` and ``drop_path`` are ``None`` (no module, so the
    block's modules stay torchvision's; TorchScript sees ``None``)."""
    modules = modules_of(layers, dropout, drop_path)
    if relu_last:
        modules["relu"] = modules.pop("relu")
    for name, module in modules.items():
        block.add_module(name, module)
    for name in ("drop", "drop_path"):
        if name not in modules:
            setattr(block, name, None)


class BasicBlock(nn.Module):
    """Two 3x3 convs (torchvision's ``BasicBlock``); ``residual=False`` drops the identity path.

    ``block_dropout`` puts a dropout between the convs (after the first ReLU), as the WRN
    paper does; it is ``drop``, ``None`` at 0 (no module, so the block's modules stay
    torchvision's).
    """

    if TYPE_CHECKING:  # made from the templates in __init__; TorchScript types them there
        conv1: nn.Conv2d
        bn1: nn.BatchNorm2d
        relu: nn.ReLU
        drop: nn.Dropout | None
        conv2: nn.Conv2d
        bn2: nn.BatchNorm2d
        drop_path: nn.Module | None

    expansion = 1
    #: (conv, BN) pairs that :func:`scalenet.optimize_for_inference` may fold: each BN reads
    #: only its conv's output.
    fold_pairs: tuple[tuple[str, str], ...] = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        block_dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        layers = basic_layers(
            inplanes, planes, stride, preact=False, dropout=block_dropout > 0,
            drop_path=drop_path > 0,
        )  # fmt: skip
        _add_layers(self, layers, block_dropout, relu_last=False, drop_path=drop_path)
        self.downsample = downsample
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.relu(self.bn1(self.conv1(x)))
        if self.drop is not None:
            out = self.drop(out)
        out = self.bn2(self.conv2(out))
        if self.drop_path is not None:
            out = self.drop_path(out)
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    """1x1, 3x3 (with the stride, like torchvision's v1.5), 1x1 with 4x expansion.

    ``groups`` and ``base_width`` are torchvision's: the inner width is
    ``int(planes * (base_width / 64)) * groups`` and the 3x3 conv has ``groups`` groups
    (ResNeXt's ``groups=32, base_width=4``; the wide ResNet's ``base_width=128``).
    """

    if TYPE_CHECKING:  # made from the templates in __init__; TorchScript types them there
        conv1: nn.Conv2d
        bn1: nn.BatchNorm2d
        relu: nn.ReLU
        conv2: nn.Conv2d
        bn2: nn.BatchNorm2d
        conv3: nn.Conv2d
        bn3: nn.BatchNorm2d
        drop_path: nn.Module | None

    expansion = 4
    fold_pairs: tuple[tuple[str, str], ...] = (
        ("conv1", "bn1"),
        ("conv2", "bn2"),
        ("conv3", "bn3"),
    )

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        base_width: int = 64,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        layers = bottleneck_layers(
            inplanes, planes, stride, preact=False, groups=groups, base_width=base_width,
            drop_path=drop_path > 0,
        )  # fmt: skip
        _add_layers(self, layers, drop_path=drop_path)
        self.downsample = downsample
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.drop_path is not None:
            out = self.drop_path(out)
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)
        out = self.relu(out)
        return out


class PreActBasicBlock(nn.Module):
    """The pre-activation basic block (He et al. 2016, arXiv:1603.05027): BN, ReLU, 3x3 conv,
    BN, ReLU, (dropout), 3x3 conv, then the residual add, with nothing after it.

    A ``downsample`` with weights (projection, average pool + conv) reads the pre-activated
    input, as in the paper's and timm's ``PreActBasic``; one without (:class:`PadShortcut`)
    and the identity read the block's input. ``residual=False`` drops the shortcut.
    """

    if TYPE_CHECKING:  # made from the templates in __init__; TorchScript types them there
        bn1: nn.BatchNorm2d
        relu: nn.ReLU
        conv1: nn.Conv2d
        bn2: nn.BatchNorm2d
        drop: nn.Dropout | None
        conv2: nn.Conv2d
        drop_path: nn.Module | None

    expansion = 1
    #: conv1 feeds only bn2; bn1 reads the block's input, which the shortcut reads too.
    fold_pairs: tuple[tuple[str, str], ...] = (("conv1", "bn2"),)

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        block_dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        layers = basic_layers(
            inplanes, planes, stride, preact=True, dropout=block_dropout > 0,
            drop_path=drop_path > 0,
        )  # fmt: skip
        _add_layers(self, layers, block_dropout, drop_path=drop_path)
        self.downsample = downsample
        self.residual = residual
        self.preact_shortcut = downsample is not None and any(True for _ in downsample.parameters())

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu(self.bn1(x))
        out: Tensor = self.conv1(pre)
        out = self.relu(self.bn2(out))
        if self.drop is not None:
            out = self.drop(out)
        out = self.conv2(out)
        if self.drop_path is not None:
            out = self.drop_path(out)
        if self.residual:
            if self.downsample is None:
                out += x
            else:
                out += self.downsample(pre if self.preact_shortcut else x)
        return out


class PreActBottleneck(nn.Module):
    """The pre-activation bottleneck: (BN, ReLU, conv) x 3 -- 1x1, 3x3 with the stride (and
    ``groups``), 1x1 with 4x expansion -- then the residual add (timm's ``PreActBottleneck``,
    pytorchcv's ``PreResBottleneck``). Shortcuts as in :class:`PreActBasicBlock`.
    """

    if TYPE_CHECKING:  # made from the templates in __init__; TorchScript types them there
        bn1: nn.BatchNorm2d
        relu: nn.ReLU
        conv1: nn.Conv2d
        bn2: nn.BatchNorm2d
        conv2: nn.Conv2d
        bn3: nn.BatchNorm2d
        conv3: nn.Conv2d
        drop_path: nn.Module | None

    expansion = 4
    fold_pairs: tuple[tuple[str, str], ...] = (("conv1", "bn2"), ("conv2", "bn3"))

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        base_width: int = 64,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        layers = bottleneck_layers(
            inplanes, planes, stride, preact=True, groups=groups, base_width=base_width,
            drop_path=drop_path > 0,
        )  # fmt: skip
        _add_layers(self, layers, drop_path=drop_path)
        self.downsample = downsample
        self.residual = residual
        self.preact_shortcut = downsample is not None and any(True for _ in downsample.parameters())

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu(self.bn1(x))
        out: Tensor = self.conv1(pre)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        if self.drop_path is not None:
            out = self.drop_path(out)
        if self.residual:
            if self.downsample is None:
                out += x
            else:
                out += self.downsample(pre if self.preact_shortcut else x)
        return out


def checkpoint_seq(blocks: nn.Module, x: Tensor) -> Tensor:
    """Run ``blocks`` one by one, each under activation checkpointing (recomputed in backward)."""
    for block in blocks.children():
        x = checkpoint(block, x, use_reentrant=False)
    return x

"""ResNet of any depth, width, stem and block, built from a :class:`ResNetConfig`.

Parameter names follow torchvision (``conv1``, ``bn1``, ``layer1``... ``downsample.0/1``, ``fc``),
so torchvision and timm ResNet checkpoints load with ``strict=True``; the deep stem and the
average-pool shortcut (``stem="deep"``, ``downsample="avgpool"``) take timm's names
(``conv1.0``... ``conv1.6``, ``downsample.1/2``), so timm's ResNet-D checkpoints do too.

Examples:
    >>> import torch, scalenet
    >>> model = scalenet.ResNet(scalenet.ResNetConfig(depths=(1, 1, 1), width=8, stem="cifar",
    ...                                               num_classes=10, input_size=32))
    >>> model(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import Tensor, nn

from ..config import ResNetConfig
from ..spec.templates import drop_path_rates, resnet_stages, shortcut_layers, templates
from .base import ScaleNetModel
from .blocks import (
    BasicBlock,
    Bottleneck,
    PreActBasicBlock,
    PreActBottleneck,
    Stage,
    checkpoint_seq,
)
from .layers import modules_of

__all__ = ["ResNet"]


class ResNet(ScaleNetModel):
    """A ResNet (or plain network) that follows its config's layer plan.

    Args:
        config: the architecture; ``model.config`` keeps it.
    """

    config: ResNetConfig

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__(config)
        w = config.width
        imagenet = config.stem != "cifar"  # the ImageNet and the deep stem reduce by 4
        # The stem and the head from the plan's templates (the blocks' are in each block); a
        # layer the config has not (a pre-activation net's stem BN-ReLU, the CIFAR stem's
        # pool, the head's dropout) is an nn.Identity. Children in forward order (timm's
        # feature extractor runs them in sequence).
        # Each part is made where it stands: a conv or linear draws its initial weights from
        # the random generator as it is made.
        specs = list(templates(config))
        stem = modules_of(itertools.takewhile(lambda s: not s.name.startswith("layer"), specs))
        self.conv1: nn.Module = stem["conv1"]  # the deep stem's: an nn.Sequential
        self.bn1: nn.Module = stem.get("bn1", nn.Identity())
        self.relu: nn.Module = stem.get("relu", nn.Identity())
        self.maxpool: nn.Module = stem.get("maxpool", nn.Identity())
        reduction = 2 if imagenet else 1
        stem_out = "conv1" if config.preact else "relu"
        self.feature_info = [{"num_chs": w, "reduction": reduction, "module": stem_out}]
        reduction *= 2 if imagenet else 1
        block: type[nn.Module]
        if config.block == "bottleneck":
            block = PreActBottleneck if config.preact else Bottleneck
            # Grouped and wide bottlenecks (ResNeXt, wide ResNet); basic blocks take neither.
            extra: dict[str, Any] = {"groups": config.groups, "base_width": config.base_width}
        else:
            block = PreActBasicBlock if config.preact else BasicBlock
            extra = {"block_dropout": config.block_dropout}
        expansion = config.expansion
        inplanes = w
        rates = iter(drop_path_rates(config))
        for i, (planes, stride, depth) in enumerate(resnet_stages(config)):
            blocks: list[nn.Module] = []
            for j in range(depth):
                s = stride if j == 0 else 1
                blocks.append(
                    block(
                        inplanes,
                        planes,
                        s,
                        self._shortcut(inplanes, planes, s),
                        config.shortcut,
                        **extra,
                        drop_path=next(rates),
                    )
                )
                inplanes = planes * expansion
            self.add_module(f"layer{i + 1}", Stage(*blocks))
            reduction *= stride
            self.feature_info.append(
                {"num_chs": inplanes, "reduction": reduction, "module": f"layer{i + 1}"}
            )
        last = max(i for i, s in enumerate(specs) if s.name.startswith("layer"))
        head = modules_of(specs[last + 1 :], config.dropout)
        # Pre-activation: the last block ends at its add; BN and ReLU close the network.
        self.final_bn: nn.Module | None = head.get("final_bn")
        self.final_relu: nn.Module | None = head.get("final_relu")
        self.avgpool = head["avgpool"]
        self.num_features = self.head_hidden_size = inplanes
        self.drop: nn.Module = head.get("drop", nn.Identity())
        self.fc: nn.Module = head.get("fc", nn.Identity())
        self._init_weights()

    def _shortcut(self, inplanes: int, planes: int, stride: int) -> nn.Module | None:
        """The block's ``downsample``, made from the plan's templates: option A's padding, or
        an ``nn.Sequential`` whose index names the layer (timm's average-pool shortcut at
        stride 1 has no pool: an ``nn.Identity`` keeps its conv at ``downsample.1``)."""
        layers = shortcut_layers(self.config, inplanes, planes * self.config.expansion, stride)
        return modules_of(layers).get("downsample")

    def _init_weights(self) -> None:
        # torchvision's initialisation; the classifier keeps PyTorch's default. On the meta
        # device (a model about to receive loaded weights) there is nothing to initialise.
        if self._input_weight().is_meta:
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.config.zero_init_residual and self.config.shortcut:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)
                elif isinstance(m, PreActBottleneck):  # no BN ends the branch: its conv (timm)
                    nn.init.zeros_(m.conv3.weight)
                elif isinstance(m, PreActBasicBlock):
                    nn.init.zeros_(m.conv2.weight)

    def _input_weight(self) -> Tensor:
        # hasattr, not get_submodule: TorchScript resolves it per module (see Stage).
        if hasattr(self.conv1, "weight"):
            weight: Tensor = self.conv1.weight  # type: ignore[assignment]
        else:  # the deep stem: an nn.Sequential whose first module is the first conv
            weight = self.conv1[0].weight  # type: ignore[index]
        return weight

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and every stage: the last feature map, (N, num_features, H/32, W/32) or so."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.children():
            if hasattr(stage, "is_stage"):  # see Stage: the one test TorchScript gets right
                if not torch.jit.is_scripting() and self.grad_checkpointing:  # type: ignore[attr-defined]
                    x = checkpoint_seq(stage, x)
                else:
                    x = stage(x)
        if self.final_bn is not None and self.final_relu is not None:
            x = self.final_relu(self.final_bn(x))
        return x

    def _intermediates(
        self, x: Tensor, take: list[int], last: int, norm: bool = False
    ) -> tuple[Tensor, list[Tensor]]:
        maps = []
        x = self.relu(self.bn1(self.conv1(x)))
        if 0 in take:
            maps.append(x)
        x = self.maxpool(x)
        stages = self._stages()
        for level, stage in enumerate(stages[:last], start=1):
            x = checkpoint_seq(stage, x) if self.grad_checkpointing else stage(x)
            if level == len(stages) and self.final_bn is not None and self.final_relu is not None:
                # The last stage of a pre-activation net: forward_features' map is after the
                # final BN-ReLU; the level's map is before it unless ``norm`` (timm's rule).
                closed = self.final_relu(self.final_bn(x))
                if level in take:
                    maps.append(closed if norm else x)
                x = closed
            elif level in take:
                maps.append(x)
        return x, maps

    def _drop_levels_after(self, last: int) -> bool:
        stages = [name for name, m in self.named_children() if hasattr(m, "is_stage")]
        for name in stages[last:]:
            setattr(self, name, Stage())  # empty: passes its input through
        if last == 0:
            self.maxpool = nn.Identity()
        if last < len(stages):  # the final BN-ReLU belongs to the last stage's width
            self._drop_norm()
        return last < len(stages)

    def _drop_norm(self) -> None:
        self.final_bn = self.final_relu = None

    def _stages(self) -> list[nn.Module]:
        return [m for m in self.children() if hasattr(m, "is_stage")]

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Global average pool, dropout and the classifier."""
        if self.global_pool_type == "":
            return x
        x = torch.flatten(self.avgpool(x), 1)
        if pre_logits:
            return x
        out: Tensor = self.fc(self.drop(x))
        return out

    def group_matcher(self, coarse: bool = False) -> dict[str, Any]:
        """timm's parameter groups: the stem, then each stage (coarse) or each block."""
        blocks = r"^layer(\d+)" if coarse else r"^layer(\d+)\.(\d+)"
        if self.final_bn is None:
            return {"stem": r"^conv1|bn1|maxpool", "blocks": blocks}
        # A pre-activation net's closing BN goes in a group of its own, last (timm's ResNetV2).
        return {
            "stem": r"^conv1|bn1|maxpool",
            "blocks": [(blocks, None), (r"^final_bn", (99999,))],
        }

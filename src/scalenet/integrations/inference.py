"""An inference fast path: BatchNorm folded into the convolutions, channels_last memory.

Examples:
    >>> import torch, scalenet
    >>> model = scalenet.create("resnet20_cifar").eval()
    >>> fast = scalenet.optimize_for_inference(model)
    >>> x = torch.randn(2, 3, 32, 32)
    >>> torch.allclose(fast(x), model(x), atol=1e-5)
    True
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..errors import check_bool
from ..nn.base import ScaleNetModel, check_model

__all__ = ["optimize_for_inference"]

#: (conv, bn) attribute pairs in scalenet's stems and simple CNN blocks; residual blocks name
#: theirs in ``fold_pairs`` (a pre-activation block's BN precedes its conv, and cannot fold).
_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv", "bn"))


def _fold(conv: nn.Module, bn: nn.Module) -> nn.Module | None:
    if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
        return fuse_conv_bn_eval(conv, bn)
    return None


def optimize_for_inference(model: ScaleNetModel, *, channels_last: bool = True) -> ScaleNetModel:
    """A copy of ``model`` for inference: eval mode, every BatchNorm folded into the conv before
    it (``y = conv(x) * s + t`` becomes one conv with scaled weights and a bias), and weights
    in channels_last layout (faster convolutions on CPUs and GPUs). Inputs may stay NCHW.

    Folded: every conv-BN pair of the blocks, stems (the deep stem's three too) and shortcuts
    (projection and average-pool). A pre-activation block's first BN reads the block's
    input, not a conv's output, and stays; its later BNs fold into the conv before them.

    The copy gives the eager model's outputs within float rounding (tested to 1e-5). It is for
    inference only: training it would train the folded weights.
    """
    check_model("model", model)
    check_bool("channels_last", channels_last)
    fast = copy.deepcopy(model).eval()
    with torch.no_grad():
        for module in list(fast.modules()):
            if isinstance(module, nn.Sequential):  # shortcuts and the deep stem
                for i in range(len(module) - 1):
                    fused = _fold(module[i], module[i + 1])
                    if fused is not None:
                        module[i], module[i + 1] = fused, nn.Identity()
                continue
            for conv_name, bn_name in getattr(module, "fold_pairs", _PAIRS):
                conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
                if isinstance(conv, nn.Sequential) and len(conv):  # the deep stem, then bn1
                    fused = _fold(conv[-1], bn) if bn is not None else None
                    if fused is not None:
                        conv[-1] = fused
                        setattr(module, bn_name, nn.Identity())
                    continue
                fused = _fold(conv, bn) if conv is not None and bn is not None else None
                if fused is not None:
                    setattr(module, conv_name, fused)
                    setattr(module, bn_name, nn.Identity())
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return fast

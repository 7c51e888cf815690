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

from .models.base import ScaleNetModel

__all__ = ["optimize_for_inference"]

#: (conv, bn) attribute pairs in scalenet's blocks, stems and shortcuts.
_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv", "bn"))


def optimize_for_inference(model: ScaleNetModel, *, channels_last: bool = True) -> ScaleNetModel:
    """A copy of ``model`` for inference: eval mode, every BatchNorm folded into the conv before
    it (``y = conv(x) * s + t`` becomes one conv with scaled weights and a bias), and weights
    in channels_last layout (faster convolutions on CPUs and GPUs). Inputs may stay NCHW.

    The copy gives the eager model's outputs within float rounding (tested to 1e-5). It is for
    inference only: training it would train the folded weights.
    """
    fast = copy.deepcopy(model).eval()
    with torch.no_grad():
        for module in list(fast.modules()):
            if isinstance(module, nn.Sequential) and len(module) == 2:  # projection shortcut
                conv, bn = module[0], module[1]
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    module[0], module[1] = fuse_conv_bn_eval(conv, bn), nn.Identity()
                continue
            for conv_name, bn_name in _PAIRS:
                pair = getattr(module, conv_name, None), getattr(module, bn_name, None)
                if isinstance(pair[0], nn.Conv2d) and isinstance(pair[1], nn.BatchNorm2d):
                    setattr(module, conv_name, fuse_conv_bn_eval(pair[0], pair[1]))
                    setattr(module, bn_name, nn.Identity())
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return fast

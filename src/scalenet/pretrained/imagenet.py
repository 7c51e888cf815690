"""ImageNet-1k weights from timm's Hub repositories, for the torchvision-layout ResNets.

Every ``timm/resnetN.<tag>`` whose architecture is the plain torchvision ResNet that
scalenet builds (ImageNet stem, no deep stem, no average-pool downsampling). Their files are
safetensors with torchvision's parameter names: they load with no key mapping.

Facts and their sources: input/test sizes, crops, interpolation, normalisation and licences
are timm's pretrained cfgs (``timm.models.resnet.default_cfgs``, timm 1.0); the accuracies are
timm's results tables (``results/results-imagenet.csv`` in huggingface/pytorch-image-models),
labelled as reported.
"""

from __future__ import annotations

from ..config import IMAGENET_MEAN, IMAGENET_STD
from .catalog import HubFile, Weights

__all__ = ["IMAGENET_WEIGHTS"]

TIMM_RESULTS = (
    "https://github.com/huggingface/pytorch-image-models/blob/main/results/results-imagenet.csv"
)
TORCHVISION = "https://github.com/pytorch/vision"

#: arch -> (params, MACs at 224, float32 bytes of its state dict)
_SIZES = {
    "resnet18": (11_689_512, 1_814_073_344, 46_796_448),
    "resnet34": (21_797_672, 3_663_761_408, 87_258_784),
    "resnet50": (25_557_032, 4_089_184_256, 102_440_608),
    "resnet101": (44_549_160, 7_801_405_440, 178_618_016),
    "resnet152": (60_192_808, 11_513_626_624, 241_376_928),
}

#: (arch, tag, license, top1, top5): placeholder until the table is filled in.
_TV = {
    "resnet18": (69.758, 89.078),
    "resnet34": (73.314, 91.420),
    "resnet50": (76.130, 92.862),
    "resnet101": (77.374, 93.546),
    "resnet152": (78.312, 94.046),
}


def _timm(arch: str, tag: str, **fields: object) -> Weights:
    params, macs, size = _SIZES[arch]
    defaults: dict[str, object] = {
        "layout": "timm",
        "dataset": "imagenet-1k",
        "num_classes": 1000,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "input_size": 224,
        "reported": TIMM_RESULTS,
        "params": params,
        "macs": macs,
        "file_size": size,
    }
    return Weights(
        arch=arch,
        tag=tag,
        file=HubFile(f"timm/{arch}.{tag}"),
        **(defaults | fields),  # type: ignore[arg-type]
    )


IMAGENET_WEIGHTS: tuple[Weights, ...] = tuple(
    _timm(
        arch,
        "tv_in1k",
        license="bsd-3-clause",
        top1=top1,
        top5=top5,
        origin=TORCHVISION,
        reported="https://pytorch.org/vision/stable/models.html",
    )
    for arch, (top1, top5) in _TV.items()
)

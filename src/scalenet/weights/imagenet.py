"""ImageNet-1k weights from timm's Hub repositories, for the torchvision-layout ResNets and the
ResNet-Ds.

Every ``timm/resnetN.<tag>`` (N = 18, 26, 34, 50, 101, 152) whose architecture is the plain
torchvision ResNet that scalenet builds (ImageNet stem, no deep stem, no average-pool
downsampling): 47 tags. Left out: ``resnet50.bamboo`` (no classifier, ``num_classes=0``, and
no licence in timm's cfg). And every tag of timm's torchvision-layout ResNeXts and wide ResNets
(``resnext50_32x4d``, ``resnext101_32x8d``, ``resnext101_64x4d``, ``wide_resnet50_2``,
``wide_resnet101_2``; grouped or wide bottlenecks, same stem and shortcuts): 23 tags; and every
``timm/resnetNd.<tag>`` (N = 18, 26, 34, 50, 101, 152, 200: deep stem and average-pool
shortcuts, He et al. 2019): 15 tags; all with 1000 classes and a licence, none left out. Their
files are safetensors with torchvision's (timm's, for the deep stem and the average-pool
shortcut) parameter names: they load with no key mapping.

And every ``timm/resnetv2_N[d].<tag>`` whose net is the pre-activation ResNet (He et al. 2016)
with BatchNorm that ``scalenet.resnet(depth=N, preact=True[, variant="d"])`` builds (N = 18,
34, 50, 101): 7 tags. Their files have timm's ``ResNetV2`` names (``stem.conv``,
``stages.0.blocks.0.norm1``..., ``head.fc`` as a 1x1 conv), converted on load by the
``timm_resnetv2`` and ``timm_resnetv2d`` layouts (:mod:`.layouts`). Left out, as nets scalenet
does not build: the ``resnetv2_*_bit`` tags (Big Transfer: GroupNorm and weight-standardised
convs), ``resnetv2_50d_gn`` (GroupNorm) and ``resnetv2_50d_evos`` (EvoNorm).

Facts and their sources:

- file, licence, input and test sizes, crops, interpolation, normalisation and origin: timm's
  pretrained cfgs (``timm.models.get_pretrained_cfg("resnet50.a1_in1k")``, timm 1.0.31); a test
  holds every record against the installed timm's, and fails on a tag it lacks.
- top-1/top-5: timm's results table ``results/results-imagenet.csv`` (huggingface/
  pytorch-image-models, commit aa4b585), the row at the record's ``input_size`` (whose crop
  is the record's ``crop_pct``). Where the table also has a row at ``test_input_size``, its
  figures are in ``notes``. The torchvision tags use timm's figures too (torchvision's own
  differ by up to 0.03 points), so that every row comes from one table.
- nothing derivable: parameters and MACs follow from the config (a test holds scalenet's
  count against timm's model of the same name, and its state dict's names and shapes,
  through the layout, against timm's).

The default tag of each architecture comes first (``tv_in1k``, torchvision's original weights
and what ``pretrained=True`` has always loaded for the ResNets, and the ResNeXts' and wide
ResNets' default too; ``bt_in1k`` for resnet26, its only tag; timm's default tag for the
ResNet-Ds, ``ra2_in1k``, or ``bt_in1k`` for resnet26d, its only tag; timm's default tag for
the pre-activation nets), the rest by reported top-1, best first.
"""

from __future__ import annotations

from typing import Any

from ..config import IMAGENET_MEAN, IMAGENET_STD
from .records import HubFile, Layout, Weights

__all__ = ["IMAGENET_WEIGHTS"]

TIMM_RESULTS = (
    "https://github.com/huggingface/pytorch-image-models/blob/main/results/results-imagenet.csv"
)
TIMM = "https://github.com/huggingface/pytorch-image-models"
TORCHVISION = "https://github.com/pytorch/vision"
GLUON = "https://cv.gluon.ai/model_zoo/classification.html"
FACEBOOK_SSL = "https://github.com/facebookresearch/semi-supervised-ImageNet1K-models"
FACEBOOK_WSL = "https://github.com/facebookresearch/WSL-Images"

# What a recipe's tags share (timm's cfgs); the Weights defaults are 224 px, crop 0.875,
# bilinear, no test size.
_APACHE = {"license": "apache-2.0", "interpolation": "bicubic", "origin": TIMM}
_TV = {"license": "bsd-3-clause", "interpolation": "bilinear", "origin": TORCHVISION}
# torchvision's V2 recipe and timm's resnet50 a1h train at 176 px, which is not a multiple of
# the output stride 32: scalenet's config declares their test size, 224 (a ResNet takes any
# size at forward).
_TV2 = _TV | {"input_size": 176, "test_input_size": 224, "test_crop_pct": 0.965}
# timm's "ResNet strikes back" recipes (arXiv:2110.00476):
_RSB = _APACHE | {"crop_pct": 0.95, "test_input_size": 288, "test_crop_pct": 1.0}
_RSB_A3 = _RSB | {"input_size": 160, "test_input_size": 224, "test_crop_pct": 0.95}
_RSB_176 = _RSB | {"input_size": 176, "test_input_size": 224, "crop_pct": 0.9}
_BT = _APACHE | {"test_input_size": 288, "test_crop_pct": 0.95}
_FB = {"license": "cc-by-nc-4.0", "origin": FACEBOOK_SSL}
_FB_WSL = {"license": "cc-by-nc-4.0", "origin": FACEBOOK_WSL}
# timm's RandAugment recipe of the ResNet-Ds: at 256 px (test 320) for the deeper ones.
_RA2_256 = _APACHE | {"input_size": 256, "crop_pct": 0.95, "test_input_size": 320}
_RA2_256 |= {"test_crop_pct": 1.0}
_HALF = {"mean": (0.5,) * 3, "std": (0.5,) * 3}
_RA4 = _RSB | {"crop_pct": 0.9} | _HALF
# The pre-activation nets' tags (timm's cfgs name no origin: their model cards stand in).
_V2 = {
    **dict.fromkeys(
        [f"resnetv2_{n}.ra4_e3600_r224_in1k" for n in ("18", "18d", "34", "34d")], _RA4
    ),
    "resnetv2_34d.ra4_e3600_r384_in1k": _APACHE
    | {"input_size": 384, "crop_pct": 1.0, "test_input_size": 448}
    | _HALF,
    **dict.fromkeys(["resnetv2_50.a1h_in1k", "resnetv2_101.a1h_in1k"], _RSB | _HALF),
}

#: tag (or arch.tag where one arch differs) -> the fields its recipe sets
_RECIPES: dict[str, dict[str, Any]] = {
    "tv_in1k": _TV,
    "tv2_in1k": _TV2,
    **dict.fromkeys(
        ["a1_in1k", "a2_in1k", "a1h_in1k", "b1k_in1k", "b2k_in1k", "c1_in1k", "c2_in1k", "d_in1k"],
        _RSB,
    ),
    "a3_in1k": _RSB_A3,
    "resnet50.a1h_in1k": _RSB_176,
    "ra4_e3600_r224_in1k": _RA4,
    "resnet50d.ra4_e3600_r224_in1k": _RSB | _HALF,
    **dict.fromkeys(["bt_in1k", "ra_in1k", "ram_in1k", "racm_in1k", "ra2_in1k"], _BT),
    **dict.fromkeys(
        ["resnet101d.ra2_in1k", "resnet152d.ra2_in1k", "resnet200d.ra2_in1k"], _RA2_256
    ),
    "gluon_in1k": _APACHE | {"origin": GLUON},
    # timm's cfg names no origin: its model card is the best pointer.
    "am_in1k": _APACHE | {"origin": "https://huggingface.co/timm/resnet50.am_in1k"},
    "fb_ssl_yfcc100m_ft_in1k": _FB,
    "fb_swsl_ig1b_ft_in1k": _FB,
    "fb_wsl_ig1b_ft_in1k": _FB_WSL,
    **{
        name: fields | {"origin": f"https://huggingface.co/timm/{name}"}
        for name, fields in _V2.items()
    },
}

#: arch -> how its files name their tensors (the rest: torchvision's, timm's "timm" layout).
_LAYOUTS: dict[str, Layout] = {
    "resnetv2_18": "timm_resnetv2", "resnetv2_34": "timm_resnetv2",
    "resnetv2_50": "timm_resnetv2", "resnetv2_101": "timm_resnetv2",
    "resnetv2_18d": "timm_resnetv2d", "resnetv2_34d": "timm_resnetv2d",
}  # fmt: skip


def _timm(
    arch: str,
    tag: str,
    top1: float,
    top5: float,
    test_top1: float | None = None,
    test_top5: float | None = None,
) -> Weights:
    """One record: the recipe's fields and the reported figures."""
    name = f"{arch}.{tag}"
    fields = {"input_size": 224} | (_RECIPES[name] if name in _RECIPES else _RECIPES[tag])
    notes = []
    if test_top1 is not None:
        # timm's cfg may leave the test crop out: it is then crop_pct.
        crop = fields["test_crop_pct"] if "test_crop_pct" in fields else fields["crop_pct"]
        notes.append(
            f"timm reports top-1 {test_top1:.3f}, top-5 {test_top5:.3f} at "
            f"{fields['test_input_size']} px (crop {crop})"
        )
    size: int = fields["input_size"]
    if size % 32:
        fields["config_input_size"] = size = fields["test_input_size"]
        notes.append(f"trained at {fields['input_size']} px; the model is built at {size} px")
    if fields["license"] == "cc-by-nc-4.0":
        notes.append("non-commercial licence")
    record: dict[str, Any] = {
        "layout": _LAYOUTS.get(arch, "timm"),
        "dataset": "imagenet-1k",
        "num_classes": 1000,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "reported": TIMM_RESULTS,
        "notes": "; ".join(notes),
    }
    return Weights(
        arch=arch,
        tag=tag,
        file=HubFile(f"timm/{arch}.{tag}"),
        top1=top1,
        top5=top5,
        **(record | fields),
    )


# (arch, tag, top-1, top-5[, top-1, top-5 at test_input_size]): results-imagenet.csv, in %.
# resnet50.bamboo is left out: timm's cfg has no classifier (num_classes=0) and no licence.
_ROWS: tuple[tuple[str, str, float, float] | tuple[str, str, float, float, float, float], ...] = (
    ("resnet18", "tv_in1k", 69.752, 89.082),
    ("resnet18", "fb_swsl_ig1b_ft_in1k", 73.286, 91.754),
    ("resnet18", "fb_ssl_yfcc100m_ft_in1k", 72.636, 91.416),
    ("resnet18", "a1_in1k", 71.504, 90.086, 73.164, 91.054),
    ("resnet18", "gluon_in1k", 70.844, 89.750),
    ("resnet18", "a2_in1k", 70.634, 89.486, 72.364, 90.620),
    ("resnet18", "a3_in1k", 65.670, 86.268, 68.250, 88.172),
    ("resnet26", "bt_in1k", 75.298, 92.578, 76.384, 93.178),
    ("resnet34", "tv_in1k", 73.298, 91.422),
    ("resnet34", "ra4_e3600_r224_in1k", 77.492, 93.498, 78.972, 94.454),
    ("resnet34", "a1_in1k", 76.420, 92.896, 77.930, 93.758),
    ("resnet34", "a2_in1k", 75.520, 92.454, 77.150, 93.288),
    ("resnet34", "bt_in1k", 75.176, 92.166, 76.506, 93.342),
    ("resnet34", "gluon_in1k", 74.574, 91.988),
    ("resnet34", "a3_in1k", 70.580, 89.540, 72.996, 91.116),
    ("resnet50", "tv_in1k", 76.156, 92.866),
    ("resnet50", "fb_swsl_ig1b_ft_in1k", 81.146, 95.980),
    ("resnet50", "a1_in1k", 80.382, 94.598, 81.240, 95.112),
    ("resnet50", "d_in1k", 79.904, 94.666, 81.012, 95.456),
    ("resnet50", "c2_in1k", 79.868, 94.862, 80.862, 95.530),
    ("resnet50", "a2_in1k", 79.828, 94.560, 80.774, 94.978),
    ("resnet50", "c1_in1k", 79.766, 94.954, 80.928, 95.554),
    ("resnet50", "b1k_in1k", 79.564, 94.622, 80.708, 95.430),
    ("resnet50", "tv2_in1k", 79.434, 94.640, 80.846, 95.430),
    ("resnet50", "b2k_in1k", 79.388, 94.580, 80.466, 95.306),
    ("resnet50", "a1h_in1k", 79.264, 94.498, 80.654, 95.312),
    ("resnet50", "fb_ssl_yfcc100m_ft_in1k", 79.252, 94.826),
    ("resnet50", "ram_in1k", 79.034, 94.386, 79.982, 95.038),
    ("resnet50", "am_in1k", 79.004, 94.392),
    ("resnet50", "ra_in1k", 78.820, 94.314, 79.864, 94.970),
    ("resnet50", "bt_in1k", 78.444, 94.274, 79.652, 94.908),
    ("resnet50", "gluon_in1k", 77.580, 93.704),
    ("resnet50", "a3_in1k", 75.994, 92.494, 78.052, 93.780),
    ("resnet101", "tv_in1k", 77.404, 93.552),
    ("resnet101", "a1h_in1k", 81.950, 95.760, 82.796, 96.324),
    ("resnet101", "a1_in1k", 81.494, 95.164, 82.326, 95.630),
    ("resnet101", "a2_in1k", 81.344, 95.198, 82.218, 95.740),
    ("resnet101", "tv2_in1k", 79.908, 94.606, 81.906, 95.768),
    ("resnet101", "gluon_in1k", 79.306, 94.538),
    ("resnet101", "a3_in1k", 77.928, 93.686, 79.836, 94.608),
    ("resnet152", "tv_in1k", 78.330, 94.046),
    ("resnet152", "a1h_in1k", 82.818, 96.124, 83.494, 96.522),
    ("resnet152", "a1_in1k", 81.998, 95.294, 82.742, 95.734),
    ("resnet152", "a2_in1k", 81.764, 95.270, 82.614, 95.748),
    ("resnet152", "tv2_in1k", 80.222, 94.650, 82.294, 96.000),
    ("resnet152", "gluon_in1k", 79.712, 94.720),
    ("resnet152", "a3_in1k", 78.896, 94.140, 80.548, 95.004),
    ("resnext50_32x4d", "tv_in1k", 77.632, 93.674),
    ("resnext50_32x4d", "fb_swsl_ig1b_ft_in1k", 82.162, 96.224),
    ("resnext50_32x4d", "a1h_in1k", 81.140, 95.320, 82.016, 95.934),
    ("resnext50_32x4d", "a1_in1k", 80.526, 94.458, 81.480, 95.152),
    ("resnext50_32x4d", "a2_in1k", 80.444, 94.630, 81.304, 95.114),
    ("resnext50_32x4d", "fb_ssl_yfcc100m_ft_in1k", 80.316, 95.386),
    ("resnext50_32x4d", "ra_in1k", 79.800, 94.608, 80.720, 95.344),
    ("resnext50_32x4d", "tv2_in1k", 79.384, 94.302, 81.190, 95.344),
    ("resnext50_32x4d", "gluon_in1k", 79.354, 94.424),
    ("resnext50_32x4d", "a3_in1k", 77.732, 93.314, 79.258, 94.308),
    ("resnext101_32x8d", "tv_in1k", 79.308, 94.530),
    ("resnext101_32x8d", "fb_swsl_ig1b_ft_in1k", 84.276, 97.188),
    ("resnext101_32x8d", "fb_wsl_ig1b_ft_in1k", 82.720, 96.624),
    ("resnext101_32x8d", "tv2_in1k", 81.990, 95.716, 82.832, 96.234),
    ("resnext101_32x8d", "fb_ssl_yfcc100m_ft_in1k", 81.620, 96.036),
    ("resnext101_64x4d", "tv_in1k", 82.978, 96.252),
    ("resnext101_64x4d", "c1_in1k", 82.446, 95.920, 83.158, 96.370),
    ("resnext101_64x4d", "gluon_in1k", 80.640, 95.000),
    ("wide_resnet50_2", "tv_in1k", 78.486, 94.084),
    ("wide_resnet50_2", "racm_in1k", 81.466, 95.544, 82.260, 96.062),
    ("wide_resnet50_2", "tv2_in1k", 80.442, 95.076, 81.612, 95.766),
    ("wide_resnet101_2", "tv_in1k", 78.862, 94.312),
    ("wide_resnet101_2", "tv2_in1k", 80.494, 94.978, 82.514, 96.012),
    ("resnet18d", "ra2_in1k", 72.296, 90.682, 73.790, 91.834),
    ("resnet18d", "ra4_e3600_r224_in1k", 74.356, 91.826, 76.012, 92.784),
    ("resnet26d", "bt_in1k", 76.698, 93.156, 77.422, 93.634),
    ("resnet34d", "ra2_in1k", 77.108, 93.372, 78.440, 94.348),
    ("resnet50d", "ra2_in1k", 80.546, 95.160, 81.354, 95.742),
    ("resnet50d", "ra4_e3600_r224_in1k", 80.956, 95.380, 81.840, 95.926),
    ("resnet50d", "a1_in1k", 80.730, 94.678, 81.466, 95.218),
    ("resnet50d", "a2_in1k", 80.268, 94.642, 81.164, 95.100),
    ("resnet50d", "gluon_in1k", 79.080, 94.458),
    ("resnet50d", "a3_in1k", 77.222, 93.256, 78.742, 94.236),
    ("resnet101d", "ra2_in1k", 82.254, 96.070, 83.020, 96.456),
    ("resnet101d", "gluon_in1k", 80.466, 95.034),
    ("resnet152d", "ra2_in1k", 83.160, 96.370, 83.684, 96.750),
    ("resnet152d", "gluon_in1k", 80.476, 95.194),
    ("resnet200d", "ra2_in1k", 83.250, 96.552, 83.976, 96.820),
    ("resnetv2_18", "ra4_e3600_r224_in1k", 73.572, 91.356, 75.364, 92.692),
    ("resnetv2_18d", "ra4_e3600_r224_in1k", 74.422, 91.928, 76.058, 93.010),
    ("resnetv2_34", "ra4_e3600_r224_in1k", 77.626, 93.518, 79.070, 94.560),
    ("resnetv2_34d", "ra4_e3600_r224_in1k", 78.270, 93.950, 79.614, 94.760),
    ("resnetv2_34d", "ra4_e3600_r384_in1k", 79.792, 94.902, 80.430, 95.282),
    ("resnetv2_50", "a1h_in1k", 80.410, 95.082, 81.406, 95.712),
    ("resnetv2_101", "a1h_in1k", 82.042, 95.866, 83.002, 96.444),
)

IMAGENET_WEIGHTS: tuple[Weights, ...] = tuple(_timm(*row) for row in _ROWS)

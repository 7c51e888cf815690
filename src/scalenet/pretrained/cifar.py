"""CIFAR-10, CIFAR-100 and SVHN weights from pytorchcv, chenyaofo and akamaster.

Three sources, each file checked against the hash its source publishes:

- **pytorchcv** (imgclsmob, MIT): ResNet-20/56/110/1001/1202 with projection shortcuts
  (option B: the ``_proj`` architectures; 1001 has bottlenecks) on CIFAR-10, CIFAR-100 and
  SVHN. Trained with Gluon by imgclsmob and converted; released as ``.pth.zip`` archives.
  Facts: pytorchcv 0.0.74's ``pytorchcv/models/common/model_metainfos.csv`` (name, params,
  top-1 error in hundredths of a percent, SHA-1 of the ``.pth`` inside the zip, release tag)
  and ``model_store.get_model_file`` (the URL rule and that the SHA-1 is of the extracted
  ``.pth``). Normalisation: imgclsmob's evaluation transforms
  (``pytorch/datasets/cifar10_cls_dataset.py``, ``cifar10_val_transform``; the CIFAR-100
  and SVHN metainfos inherit it), CIFAR-10's mean/std for all three data sets.
- **chenyaofo** (pytorch-cifar-models, BSD-3-Clause): ResNet-20/32/44/56, projection
  shortcuts, on CIFAR-10 and CIFAR-100. Keys are torchvision's (its ``resnet.py`` is
  torchvision's with three stages). Facts: its README's model-zoo tables (top-1/top-5) and
  ``pytorch_cifar_models/resnet.py`` (URLs); the file names' 8 hex digits are a SHA-256
  prefix by torch.hub's convention. Normalisation: the training logs' data config
  (``logs`` branch, ``logs/<dataset>/resnetN/default.log``).
- **akamaster** (pytorch_resnet_cifar10, BSD-2-Clause): ResNet-20/32/44/56/110/1202 with
  zero-padding shortcuts (option A, the paper's), on CIFAR-10: the ``resnetN_cifar``
  architectures. Files are ``{"state_dict": <DataParallel state>, "best_prec1": ...}``
  (``trainer.py``). Facts: its README table (test error; top-1 = 100 - error), the
  ``pretrained_models/`` files (their SHA-256 computed for 20/32/44/56; the file names carry
  its prefix, "SHA256 hashes has been added" in the commit that named them), and
  ``trainer.py``'s normalisation (ImageNet's mean/std).

``params``/``macs``/``file_size`` are scalenet's figures for the architecture with the
record's classes (a test recomputes them, and checks pytorchcv's own parameter counts).

Order: within an architecture, the default (first) record is the one trained on CIFAR-10
(the architectures' default classes) with the highest reported top-1.
"""

from __future__ import annotations

from ..config import IMAGENET_MEAN, IMAGENET_STD
from .catalog import Dataset, UrlFile, Weights

__all__ = ["CIFAR_WEIGHTS"]

#: (arch, classes) -> (params, MACs at 32x32, float32 bytes of its state dict), scalenet's.
_SIZES: dict[tuple[str, int], tuple[int, int, int]] = {
    ("resnet20_cifar", 10): (269_722, 40_551_040, 1_084_392),
    ("resnet32_cifar", 10): (464_154, 68_862_592, 1_865_704),
    ("resnet44_cifar", 10): (658_586, 97_174_144, 2_647_016),
    ("resnet56_cifar", 10): (853_018, 125_485_696, 3_428_328),
    ("resnet110_cifar", 10): (1_727_962, 252_887_680, 6_944_232),
    ("resnet1202_cifar", 10): (19_421_274, 2_829_238_912, 78_043_624),
    ("resnet20_cifar_proj", 10): (272_474, 40_813_184, 1_096_168),
    ("resnet20_cifar_proj", 100): (278_324, 40_818_944, 1_119_568),
    ("resnet32_cifar_proj", 10): (466_906, 69_124_736, 1_877_480),
    ("resnet32_cifar_proj", 100): (472_756, 69_130_496, 1_900_880),
    ("resnet44_cifar_proj", 10): (661_338, 97_436_288, 2_658_792),
    ("resnet44_cifar_proj", 100): (667_188, 97_442_048, 2_682_192),
    ("resnet56_cifar_proj", 10): (855_770, 125_747_840, 3_440_104),
    ("resnet56_cifar_proj", 100): (861_620, 125_753_600, 3_463_504),
    ("resnet110_cifar_proj", 10): (1_730_714, 253_149_824, 6_956_008),
    ("resnet110_cifar_proj", 100): (1_736_564, 253_155_584, 6_979_408),
    ("resnet1001_cifar_proj", 10): (10_328_602, 1_490_995_712, 41_914_856),
    ("resnet1001_cifar_proj", 100): (10_351_732, 1_491_018_752, 42_007_376),
    ("resnet1202_cifar_proj", 10): (19_424_026, 2_829_501_056, 78_055_400),
    ("resnet1202_cifar_proj", 100): (19_429_876, 2_829_506_816, 78_078_800),
}

_CLASSES: dict[Dataset, int] = {"cifar10": 10, "cifar100": 100, "svhn": 10}


def _record(arch: str, tag: str, dataset: Dataset, **fields: object) -> Weights:
    classes = _CLASSES[dataset]
    params, macs, size = _SIZES[(arch, classes)]
    defaults: dict[str, object] = {
        "num_classes": classes,
        "input_size": 32,
        "crop_pct": 1.0,
        "params": params,
        "macs": macs,
        "file_size": size,
    }
    return Weights(arch=arch, tag=tag, dataset=dataset, **(defaults | fields))  # type: ignore[arg-type]


# -- pytorchcv (imgclsmob) --------------------------------------------------------------------

IMGCLSMOB = "https://github.com/osmr/imgclsmob"
_PYTORCHCV_REPORTED = f"{IMGCLSMOB}/blob/master/gluon/README.md"
#: imgclsmob's ``cifar10_val_transform`` (CIFAR-100 and SVHN use it too).
_PYTORCHCV_MEAN = (0.4914, 0.4822, 0.4465)
_PYTORCHCV_STD = (0.2023, 0.1994, 0.2010)

#: pytorchcv 0.0.74 ``model_metainfos.csv``: name -> (error, SHA-1 of the .pth, release tag).
#: (Its params column equals scalenet's count for every row; a test checks both.)
_PYTORCHCV: dict[str, tuple[str, str, str]] = {
    "resnet20_cifar10": ("0597", "9b0024ac4c2f374cde2c5052e0d0344a75871cdb", "v0.0.163"),
    "resnet20_cifar100": ("2964", "a5322afed92fa96cb7b3453106f73cf38e316151", "v0.0.180"),
    "resnet20_svhn": ("0343", "8232e6e4c2c9fac1200386b68311c3bd56f483f5", "v0.0.265"),
    "resnet56_cifar10": ("0452", "628c42a26fe347b84060136212e018df2bb35e0f", "v0.0.163"),
    "resnet56_cifar100": ("2488", "d65f53b10ad5d124698e728432844c65261c3107", "v0.0.181"),
    "resnet56_svhn": ("0275", "6e08ed929b8f0ee649f75464f06b557089023290", "v0.0.265"),
    "resnet110_cifar10": ("0369", "4d6ca1fc02eaeed724f4f596011e391528536049", "v0.0.163"),
    "resnet110_cifar100": ("2280", "d8d397a767db6d22af040223ec8ae342a088c3e5", "v0.0.190"),
    "resnet110_svhn": ("0245", "c971f0a38943d8a75386a60c835cc0843c2f6c1c", "v0.0.265"),
    "resnet1001_cifar10": ("0328", "77a179e240808b7aa3534230d39b845a62413ca2", "v0.0.201"),
    "resnet1001_cifar100": ("1979", "2728b558748f9c3e70db179afb6c62358020858b", "v0.0.254"),
    "resnet1001_svhn": ("0241", "9e3d4bb55961db4c0f46a961b5323a4e03aea602", "v0.0.408"),
    "resnet1202_cifar10": ("0353", "1d5a21290117903fb5fd6ba59f3f7e7da7c08836", "v0.0.214"),
    "resnet1202_cifar100": ("2156", "86ecd091e5ac9677bf4518c644d08eb3e1d1708a", "v0.0.410"),
}


def pytorchcv_file(name: str, error: str, sha1: str, tag: str) -> UrlFile:
    """pytorchcv's release archive of ``name`` (``model_store.get_model_file``'s rule)."""
    member = f"{name}-{error}-{sha1[:8]}.pth"
    url = f"{IMGCLSMOB}/releases/download/{tag}/{member}.zip"
    return UrlFile(url, sha1, algorithm="sha1", member=member)


def _pytorchcv(name: str) -> Weights:
    error, sha1, release = _PYTORCHCV[name]
    depth, dataset = name.removeprefix("resnet").split("_")
    return _record(
        f"resnet{depth}_cifar_proj",
        f"pytorchcv_{dataset}",
        dataset,  # type: ignore[arg-type]
        file=pytorchcv_file(name, error, sha1, release),
        layout="pytorchcv",
        license="mit",
        top1=round(100 - int(error) / 100, 2),
        top5=None,
        reported=_PYTORCHCV_REPORTED,
        origin=f"{IMGCLSMOB}/releases/tag/{release}",
        mean=_PYTORCHCV_MEAN,
        std=_PYTORCHCV_STD,
        notes="Trained with Gluon (MXNet) by imgclsmob and converted to PyTorch (pytorchcv).",
    )


# -- chenyaofo/pytorch-cifar-models -----------------------------------------------------------

CHENYAOFO = "https://github.com/chenyaofo/pytorch-cifar-models"
#: The ``data`` config in the training logs (``logs`` branch), per data set.
_CHENYAOFO_NORM = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.201)),
    "cifar100": ((0.507, 0.4865, 0.4409), (0.2673, 0.2564, 0.2761)),
}
#: README model-zoo tables: (dataset, depth) -> (file hash suffix, top-1, top-5).
_CHENYAOFO: dict[tuple[str, int], tuple[str, float, float]] = {
    ("cifar10", 20): ("4118986f", 92.60, 99.81),
    ("cifar10", 32): ("ef93fc4d", 93.53, 99.77),
    ("cifar10", 44): ("2a3cabcb", 94.01, 99.77),
    ("cifar10", 56): ("187c023a", 94.37, 99.83),
    ("cifar100", 20): ("23dac2f1", 68.83, 91.01),
    ("cifar100", 32): ("84213ce6", 70.16, 90.89),
    ("cifar100", 44): ("ffe32858", 71.63, 91.58),
    ("cifar100", 56): ("f2eff4c8", 72.63, 91.94),
}


def _chenyaofo(dataset: str, depth: int) -> Weights:
    digest, top1, top5 = _CHENYAOFO[(dataset, depth)]
    mean, std = _CHENYAOFO_NORM[dataset]
    url = f"{CHENYAOFO}/releases/download/resnet/{dataset}_resnet{depth}-{digest}.pt"
    return _record(
        f"resnet{depth}_cifar_proj",
        f"chenyaofo_{dataset}",
        dataset,  # type: ignore[arg-type]
        file=UrlFile(url, digest),
        layout="timm",
        license="bsd-3-clause",
        top1=top1,
        top5=top5,
        reported=f"{CHENYAOFO}#model-zoo",
        origin=CHENYAOFO,
        mean=mean,
        std=std,
        notes=(
            "Top-1/top-5: the best test-set epoch of one run (the training logs). The hash is "
            "the 8-digit suffix of the file name, a SHA-256 prefix by torch.hub's convention."
        ),
    )


# -- akamaster/pytorch_resnet_cifar10 ---------------------------------------------------------

AKAMASTER = "https://github.com/akamaster/pytorch_resnet_cifar10"
#: depth -> (SHA-256 of the file, README test error %, the file's ``best_prec1``).
#: 20/32/44/56: hashes computed from the files (commit d5489e8); their names carry the first
#: 8 digits. 110/1202: the files were not available to hash; the name's 8 digits only.
_AKAMASTER: dict[int, tuple[str, float, float | None]] = {
    20: ("12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8", 8.27, 91.78),
    32: ("d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850", 7.37, 92.78),
    44: ("014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4", 6.90, 93.14),
    56: ("4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", 6.61, 93.62),
    110: ("1d1ed7c2", 6.32, None),
    1202: ("f3b1deed", 6.18, None),
}


def _akamaster(depth: int) -> Weights:
    digest, error, best = _AKAMASTER[depth]
    url = f"{AKAMASTER}/raw/master/pretrained_models/resnet{depth}-{digest[:8]}.th"
    notes = "Trained on all 50k training images (no validation split)"
    if best is not None:
        notes += f"; the checkpoint's best_prec1 (best test accuracy in training) is {best}"
    else:
        notes += "; the hash is the file name's 8 digits, a SHA-256 prefix as for the others"
    return _record(
        f"resnet{depth}_cifar",
        "akamaster_cifar10",
        "cifar10",
        file=UrlFile(url, digest),
        layout="akamaster",
        license="bsd-2-clause",
        top1=round(100 - error, 2),
        top5=None,
        reported=f"{AKAMASTER}#readme",
        origin=AKAMASTER,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        notes=notes + ".",
    )


def _default_first(records: list[Weights]) -> tuple[Weights, ...]:
    """Grouped by architecture (option A, then B; by depth); in each, CIFAR-10 records first
    (highest top-1 first), then CIFAR-100, then SVHN."""
    order = {"cifar10": 0, "cifar100": 1, "svhn": 2}

    def key(w: Weights) -> tuple[bool, int, int, float, str]:
        depth = int(w.arch.removeprefix("resnet").split("_")[0])
        return w.arch.endswith("_proj"), depth, order[w.dataset], -(w.top1 or 0.0), w.tag

    return tuple(sorted(records, key=key))


CIFAR_WEIGHTS: tuple[Weights, ...] = _default_first(
    [_akamaster(depth) for depth in _AKAMASTER]
    + [_pytorchcv(name) for name in _PYTORCHCV]
    + [_chenyaofo(dataset, depth) for dataset, depth in _CHENYAOFO]
)

"""CIFAR-10, CIFAR-100 and SVHN weights from pytorchcv, chenyaofo and akamaster.

Three sources, each file checked against the hash its source publishes:

- **pytorchcv** (imgclsmob, MIT): ResNet-20/56/110/1001/1202 with projection shortcuts
  (option B: the ``_proj`` architectures; 1001 has bottlenecks), the pre-activation
  ResNet-20/56/110/164/272/542/1001/1202 (``preresnetN_cifar``; pytorchcv's ``164bn``,
  ``272bn`` and ``542bn``), WRN-16-10/28-10/40-8 and ResNeXt-29 (32x4d, 16x64d) and -272
  (1x64d, 2x32d) on CIFAR-10, CIFAR-100 and SVHN (every row of its table with a file).
  Trained with Gluon by imgclsmob and converted; released as ``.pth.zip`` archives.
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
  its prefix, "SHA256 hashes has been added" in the commit that named them; 110 and 1202
  checked by the git blob ids the repository's tree lists), and
  ``trainer.py``'s normalisation (ImageNet's mean/std).

pytorchcv's parameter counts equal scalenet's for the architecture with the record's classes
(a test checks every row).

Order: within an architecture, the default (first) record is the one trained on CIFAR-10
(the architectures' default classes) with the highest reported top-1.
"""

from __future__ import annotations

import re

from ..config import IMAGENET_MEAN, IMAGENET_STD
from .records import Dataset, UrlFile, Weights

__all__ = ["CIFAR_WEIGHTS"]

_CLASSES: dict[Dataset, int] = {"cifar10": 10, "cifar100": 100, "svhn": 10}


def _record(arch: str, tag: str, dataset: Dataset, **fields: object) -> Weights:
    defaults: dict[str, object] = {
        "num_classes": _CLASSES[dataset],
        "input_size": 32,
        "crop_pct": 1.0,
    }
    return Weights(arch=arch, tag=tag, dataset=dataset, **(defaults | fields))  # type: ignore[arg-type]


# -- pytorchcv (imgclsmob) --------------------------------------------------------------------

IMGCLSMOB = "https://github.com/osmr/imgclsmob"
_PYTORCHCV_REPORTED = f"{IMGCLSMOB}/blob/master/gluon/README.md"
#: imgclsmob's ``cifar10_val_transform`` (CIFAR-100 and SVHN use it too).
_PYTORCHCV_MEAN = (0.4914, 0.4822, 0.4465)
_PYTORCHCV_STD = (0.2023, 0.1994, 0.2010)

#: pytorchcv 0.0.74 ``model_metainfos.csv``: name -> (error, SHA-1 of the .pth, release tag).
#: (Its params column equals scalenet's count for every row; a test checks.)
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
    # Pre-activation ResNets, WRNs and ResNeXts (the rows with a file; preresnet1001_svhn,
    # preresnet1202_cifar100 and preresnet1202_svhn have none).
    "preresnet20_cifar10": ("0651", "76cec68d11de5b25be2ea5935681645b76195f1d", "v0.0.164"),
    "preresnet20_cifar100": ("3022", "3dbfa6a2b850572bccb28cc2477a0e46c24abcb8", "v0.0.187"),
    "preresnet20_svhn": ("0322", "c3c00fed49c1d6d9deda6436d041c5788d549299", "v0.0.269"),
    "preresnet56_cifar10": ("0449", "e9124fcf167d8ca50addef00c3afa4da9f828f29", "v0.0.164"),
    "preresnet56_cifar100": ("2505", "ca90a2be6002cd378769b9d4e7c497dd883d31d9", "v0.0.188"),
    "preresnet56_svhn": ("0280", "b51b41476710c0e2c941356ffe992ff883a3ee87", "v0.0.269"),
    "preresnet110_cifar10": ("0386", "cc08946a2126a1224d1d2560a47cf766a763c52c", "v0.0.164"),
    "preresnet110_cifar100": ("2267", "3954e91581b7f3e5f689385d15f618fe16e995af", "v0.0.191"),
    "preresnet110_svhn": ("0279", "aa49e0a3c4a918e227ca2d5a5608704f026134c3", "v0.0.269"),
    "preresnet164bn_cifar10": ("0364", "429012d412e82df7961fa071f97c938530e1b005", "v0.0.196"),
    "preresnet164bn_cifar100": ("2018", "a8e67ca6e14f88b009d618b0e9b554312d862174", "v0.0.192"),
    "preresnet164bn_svhn": ("0258", "94d42de440d5f057a38f4c8cdbdb24acfee3981c", "v0.0.269"),
    "preresnet272bn_cifar10": ("0325", "1a6a016eb4e4a5549c1fcb89ed5af4c1e5715b72", "v0.0.389"),
    "preresnet272bn_cifar100": ("1963", "6fe0d2e24a60d12ab6b3d0e46065e2f14a46bc0b", "v0.0.389"),
    "preresnet272bn_svhn": ("0234", "c04ef5c20a53f76824339fe75185d181be4bce61", "v0.0.389"),
    "preresnet542bn_cifar10": ("0314", "66fd6f2033dff08428e586bcce3e5151ed4274f9", "v0.0.391"),
    "preresnet542bn_cifar100": ("1871", "07f1fb258207d295789981519e8dab892fc08f8d", "v0.0.391"),
    "preresnet542bn_svhn": ("0236", "6bdf92368873ce1288526dc405f15e689a1d3117", "v0.0.391"),
    "preresnet1001_cifar10": ("0265", "9fedfe5fd643e7355f1062a6db68da310c8962be", "v0.0.209"),
    "preresnet1001_cifar100": ("1841", "88f14ed9df1573e98b0ec2a07009a15066855fda", "v0.0.283"),
    "preresnet1202_cifar10": ("0339", "6fc686b02191226f39e25a76fc5da26857f7acd9", "v0.0.246"),
    "resnext29_32x4d_cifar10": ("0315", "30413525cd4466dbef759294eda9b702bc39648f", "v0.0.169"),
    "resnext29_32x4d_cifar100": ("1950", "13ba13d92f6751022549a3b370ae86d3b13ae2d1", "v0.0.200"),
    "resnext29_32x4d_svhn": ("0280", "e85c5217944cdfafb0a538dd7cc817cffaada7c4", "v0.0.275"),
    "resnext29_16x64d_cifar10": ("0241", "4133d3d04f9b10b132dcb959601d36f10123f8c2", "v0.0.176"),
    "resnext29_16x64d_cifar100": ("1693", "05e9a7f113099a98b219cad622ecfad5517a3b54", "v0.0.322"),
    "resnext29_16x64d_svhn": ("0268", "74332b714cd278bfca3f09dafe2a9d117510e9a4", "v0.0.358"),
    "resnext272_1x64d_cifar10": ("0255", "070ccc35c2841b7715b9eb271197c9bb316f3093", "v0.0.372"),
    "resnext272_1x64d_cifar100": ("1911", "114eb0f8a0d471487e819b8fd156c1286ef91b7a", "v0.0.372"),
    "resnext272_1x64d_svhn": ("0235", "ab0448469bbd7d476f8bed1bf86403304b028e7c", "v0.0.372"),
    "resnext272_2x32d_cifar10": ("0274", "d2ace03c413be7e42c839c84db8dd0ebb5d69512", "v0.0.375"),
    "resnext272_2x32d_cifar100": ("1834", "0b30c4701a719995412882409339f3553a54c9d1", "v0.0.375"),
    "resnext272_2x32d_svhn": ("0244", "39b8a33612d335a0193b867b38c0b09d168de6c3", "v0.0.375"),
    "wrn16_10_cifar10": ("0293", "ce810d8a17a2deb73eddb5bec8709f93278bc53e", "v0.0.166"),
    "wrn16_10_cifar100": ("1895", "bef9809c845deb1b2bb0c9aaaa7c58bd97740504", "v0.0.204"),
    "wrn16_10_svhn": ("0278", "5ab2a4edd5398a03d2e28db1b075bf0313ae5828", "v0.0.271"),
    "wrn28_10_cifar10": ("0239", "fe97dcd6d0dd8dda8e9e38e6cfa320cffb9955ce", "v0.0.166"),
    "wrn28_10_cifar100": ("1788", "8c3fe8185d3af9cc3813fe376cab895f6780ac18", "v0.0.320"),
    "wrn28_10_svhn": ("0271", "d62b6bbaef7228706a67c2c8416681f97c6d4688", "v0.0.276"),
    "wrn40_8_cifar10": ("0237", "8dc84ec730f35c4b8968a022bc045c0665410840", "v0.0.166"),
    "wrn40_8_cifar100": ("1803", "0d18bfbff85951d88a881dc6a15ad46f56ea8c28", "v0.0.321"),
    "wrn40_8_svhn": ("0254", "dee59602c10e5d56bd9c168e8e8400792b9a8b08", "v0.0.277"),
}


def pytorchcv_file(name: str, error: str, sha1: str, tag: str) -> UrlFile:
    """pytorchcv's release archive of ``name`` (``model_store.get_model_file``'s rule)."""
    member = f"{name}-{error}-{sha1[:8]}.pth"
    url = f"{IMGCLSMOB}/releases/download/{tag}/{member}.zip"
    return UrlFile(url, sha1, algorithm="sha1", member=member)


#: pytorchcv's model names that are not scalenet's ``<name>_cifar``.
_PYTORCHCV_ARCH = {
    "preresnet164bn": "preresnet164_cifar",
    "preresnet272bn": "preresnet272_cifar",
    "preresnet542bn": "preresnet542_cifar",
}


def _pytorchcv_arch(model: str) -> str:
    """scalenet's architecture for pytorchcv's ``model`` (its name less the data set)."""
    if model in _PYTORCHCV_ARCH:
        return _PYTORCHCV_ARCH[model]
    if model.startswith("resnet") and model[6:].isdigit():
        return f"{model}_cifar_proj"  # pytorchcv's CIFAR ResNets have projection shortcuts
    return f"{model}_cifar"


def _pytorchcv(name: str) -> Weights:
    error, sha1, release = _PYTORCHCV[name]
    model, dataset = name.rsplit("_", 1)
    return _record(
        _pytorchcv_arch(model),
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
#: 8 digits.
_AKAMASTER: dict[int, tuple[str, float, float | None]] = {
    20: ("12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8", 8.27, 91.78),
    32: ("d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850", 7.37, 92.78),
    44: ("014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4", 6.90, 93.14),
    56: ("4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", 6.61, 93.62),
    110: ("1d1ed7c2", 6.32, None),
    1202: ("f3b1deed", 6.18, None),
}
#: 110/1202: files that were not to be had here to hash (the largest, absent from the copy
#: of the repository read), so their SHA-256 is the name's 8 digits only; the repository's
#: tree at d5489e8 lists each file's git blob id (``git ls-tree -r d5489e8
#: pretrained_models``: a full SHA-1 of the file, which the download is checked against).
_AKAMASTER_BLOBS = {
    110: "45daff3ec1b813c24feb5e17d2208a79066e42d2",
    1202: "bdb9ff6fbe6b0b4f63f0af9713589e89c453c1cf",
}


def _akamaster(depth: int) -> Weights:
    digest, error, best = _AKAMASTER[depth]
    url = f"{AKAMASTER}/raw/master/pretrained_models/resnet{depth}-{digest[:8]}.th"
    notes = "Trained on all 50k training images (no validation split)"
    if best is not None:
        notes += f"; the checkpoint's best_prec1 (best test accuracy in training) is {best}"
    if depth in _AKAMASTER_BLOBS:
        file = UrlFile(url, _AKAMASTER_BLOBS[depth], algorithm="git-blob")
        notes += (
            "; checked against the repository's git blob id of the file (its SHA-256 is "
            f"known by the name's 8 digits only, {digest})"
        )
    else:
        file = UrlFile(url, digest)
    return _record(
        f"resnet{depth}_cifar",
        "akamaster_cifar10",
        "cifar10",
        file=file,
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
    """Grouped by architecture (ResNets with option A, then B, pre-activation ResNets, WRNs,
    ResNeXts; by depth); in each, CIFAR-10 records first (highest top-1 first), then
    CIFAR-100, then SVHN."""
    order = {"cifar10": 0, "cifar100": 1, "svhn": 2}
    families = ("resnet", "preresnet", "wrn", "resnext")

    def key(w: Weights) -> tuple[int, bool, int, str, int, float, str]:
        match = re.match(r"([a-z]+)(\d+)", w.arch)
        assert match is not None, w.arch
        family, depth = families.index(match[1]), int(match[2])
        proj = w.arch.endswith("_proj")
        return family, proj, depth, w.arch, order[w.dataset], -(w.top1 or 0.0), w.tag

    return tuple(sorted(records, key=key))


CIFAR_WEIGHTS: tuple[Weights, ...] = _default_first(
    [_akamaster(depth) for depth in _AKAMASTER]
    + [_pytorchcv(name) for name in _PYTORCHCV]
    + [_chenyaofo(dataset, depth) for dataset, depth in _CHENYAOFO]
)

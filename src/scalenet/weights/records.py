"""The records of the catalogue: what one published weight file is (:class:`Weights`), where
it lives (:class:`HubFile`, :class:`UrlFile`) and how its keys are named (:data:`Layout`).
Data types only; the tables (:mod:`.imagenet`, :mod:`.cifar`) are rows of them and
:mod:`.catalog` looks them up.

Examples:
    >>> HubFile("timm/resnet18.a1_in1k").filename
    'model.safetensors'
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Literal

__all__ = ["DATASETS", "Dataset", "HubFile", "Layout", "UrlFile", "Weights", "short_url"]

#: How a source names its keys: ``"timm"`` torchvision's names (timm's and scalenet's own);
#: ``"pytorchcv"`` imgclsmob's ``features.stage1.unit1.body.conv1.conv``...; ``"akamaster"``
#: a DataParallel ``{"state_dict": {"module.conv1.weight"...}}`` with ``linear`` as the head;
#: ``"timm_resnetv2"`` timm's pre-activation ``ResNetV2`` (``stem.conv``, ``stages.0.blocks.0.
#: norm1``..., ``norm``, ``head.fc``), ``"timm_resnetv2d"`` the same with average-pool
#: shortcuts (its ``d`` variants: the shortcut conv follows the pool).
Layout = Literal["timm", "pytorchcv", "akamaster", "timm_resnetv2", "timm_resnetv2d"]

Dataset = Literal["imagenet-1k", "cifar10", "cifar100", "svhn"]

#: Each data set's name as shown, and the split its sources report accuracy on.
DATASETS: dict[str, tuple[str, str]] = {
    "imagenet-1k": ("ImageNet-1k", "validation"),
    "cifar10": ("CIFAR-10", "test"),
    "cifar100": ("CIFAR-100", "test"),
    "svhn": ("SVHN", "test"),
}


@dataclass(frozen=True)
class HubFile:
    """A file of a Hugging Face Hub repository (checked by the Hub's own hashes)."""

    repo_id: str
    filename: str = "model.safetensors"
    revision: str | None = None

    def __str__(self) -> str:
        return f"hf://{self.repo_id}/{self.filename}"


@dataclass(frozen=True)
class UrlFile:
    """A file at an HTTPS URL, checked before use against the hash its source publishes.

    Attributes:
        url: where the source serves it.
        digest: the hash (hex; a prefix of at least 8 digits where that is all the source
            publishes, as torch.hub-style file names do: :attr:`prefix_only`).
        algorithm: ``"sha256"``, ``"sha1"``, or ``"git-blob"``: git's id of the file (the
            SHA-1 of ``blob <size>``, a NUL byte and the file's bytes; ``git hash-object``),
            which a repository's tree lists for each file it holds.
        member: ``None``: ``digest`` is the downloaded file's hash. A name: the download is a
            zip archive (pytorchcv's ``.pth.zip``) and ``digest`` is the hash of its weights
            file of that name, which is what is kept.

    Examples:
        >>> f = UrlFile("https://example.com/r20-4118986f.pt", "4118986f")
        >>> f.prefix_only, f.hash_note()
        (True, 'SHA-256 prefix 4118986f: the 8 digits its source publishes')
    """

    url: str
    digest: str
    algorithm: Literal["sha256", "sha1", "git-blob"] = "sha256"
    member: str | None = None

    def __str__(self) -> str:
        return self.url

    @property
    def prefix_only(self) -> bool:
        """Whether :attr:`digest` is a prefix of the hash (all its source publishes): a file
        that matches it is checked to that many bits only (32 for 8 digits)."""
        return len(self.digest) < _HEX_DIGITS.get(self.algorithm, 0)

    def hash_note(self) -> str:
        """The hash a download is checked against, in words (model cards, listings)."""
        name = _HASH_NAMES.get(self.algorithm, self.algorithm)
        if self.prefix_only:
            digits = len(self.digest)
            return f"{name} prefix {self.digest}: the {digits} digits its source publishes"
        return f"{name} {self.digest}"


#: Hex digits of each algorithm's full hash.
_HEX_DIGITS = {"sha256": 64, "sha1": 40, "git-blob": 40}
_HASH_NAMES = {"sha256": "SHA-256", "sha1": "SHA-1", "git-blob": "git blob"}


@dataclass(frozen=True)
class Weights:
    """One published set of weights for a zoo architecture: ``arch.tag``.

    What the source publishes, and nothing derivable: the model's parameters, MACs and size
    follow from the architecture's config with :meth:`config_changes`
    (``scalenet.profile("arch.tag")``).

    Attributes:
        arch: the zoo name of the architecture (``"resnet50"``).
        tag: the weights' tag (``"a1_in1k"``): source or recipe, then dataset, as timm's.
        file: where the file is.
        layout: how the file names its tensors (converted to scalenet's on load).
        dataset: what the weights were trained (or fine-tuned) on.
        num_classes: the classifier's size.
        license: the weights' licence (SPDX-style id, as the Hub's model cards).
        top1, top5: the accuracy the source reports, in percent, at ``input_size`` and
            ``crop_pct`` (``None``: not reported; figures at the test size go in ``notes``).
        reported: where those figures are published.
        origin: where the weights come from (training code, paper or release page).
        mean, std: input normalisation the weights expect.
        input_size: the training (and default) input size.
        test_input_size: a larger evaluation size the source reports figures at, if any.
        crop_pct, test_crop_pct: centre-crop fraction at ``input_size`` / ``test_input_size``.
        interpolation: resize interpolation for evaluation.
        config_input_size: the input size the model's config declares, where ``input_size``
            is not one scalenet accepts (a ResNet's must be a multiple of its output stride
            32; timm's 176-px recipes declare their test size); ``None``: ``input_size``.
        notes: anything else a user should know.
    """

    arch: str
    tag: str
    file: HubFile | UrlFile
    layout: Layout
    dataset: Dataset
    num_classes: int
    license: str
    top1: float | None
    top5: float | None
    reported: str
    origin: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int
    test_input_size: int | None = None
    crop_pct: float = 0.875
    test_crop_pct: float | None = None
    interpolation: str = "bilinear"
    config_input_size: int | None = None
    notes: str = ""

    @property
    def name(self) -> str:
        """``arch.tag``."""
        return f"{self.arch}.{self.tag}"

    @property
    def source(self) -> str:
        """Where the file is, short: ``hf:timm/resnet50.a1_in1k``, or ``github.com/o/repo``.

        Examples:
            >>> from scalenet.weights import get_weights
            >>> get_weights("resnet20_cifar").source
            'github.com/akamaster/pytorch_resnet_cifar10'
        """
        if isinstance(self.file, HubFile):
            return f"hf:{self.file.repo_id}"
        return short_url(self.file.url)

    def config_changes(self) -> dict[str, int]:
        """The config fields these weights need (applied before any explicit override)."""
        size = self.config_input_size if self.config_input_size is not None else self.input_size
        return {"num_classes": self.num_classes, "input_size": size}


def short_url(url: str) -> str:
    """An URL's host and first two path parts: ``github.com/owner/repo``, who publishes it.

    Examples:
        >>> short_url("https://github.com/osmr/imgclsmob/releases/download/v0.0.163/x.zip")
        'github.com/osmr/imgclsmob'
    """
    parts = urllib.parse.urlsplit(url)
    return "/".join([parts.netloc, *parts.path.strip("/").split("/")[:2]]).rstrip("/")

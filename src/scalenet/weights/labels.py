"""The class names of the data sets scalenet's weights are trained on, as their releases name
them, and the check of class names a user gives.

A model carries its class names in its pretrained cfg as timm does: ``label_names``, one unique
name per class in the classifier's order, and for ImageNet-1k ``label_descriptions`` (synset to
words). ``save_pretrained`` writes both to ``config.json`` at the top level, where timm and
transformers read them (transformers' pipelines answer with these names).

Sources:

- CIFAR-10 and CIFAR-100: the ``label_names`` of ``batches.meta`` and the ``fine_label_names``
  of ``meta`` in the Python versions of the release (https://www.cs.toronto.edu/~kriz/cifar.html),
  in label order.
- SVHN: the digits; the release's format 2 labels digit 0 as 10, which torchvision's ``SVHN``
  (and every published SVHN model) maps to class 0.
- ImageNet-1k: the 1,000 WordNet IDs of the ILSVRC 2012 release in class order, with their
  words, as timm packages them (``timm/data/_info``, read from the installed timm).

Examples:
    >>> label_names("cifar10")[:3]
    ('airplane', 'automobile', 'bird')
    >>> len(label_names("imagenet-1k")), label_names("imagenet-1k")[0]
    (1000, 'n01440764')
    >>> label_descriptions("imagenet-1k")["n01440764"]
    'tench, Tinca tinca'
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .records import Dataset

__all__ = ["check_label_names", "label_descriptions", "label_names", "labels_cfg"]

_CIFAR10 = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

_CIFAR100 = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip

_SVHN = tuple(str(digit) for digit in range(10))


@functools.cache
def _imagenet() -> tuple[tuple[str, ...], dict[str, str]]:
    """ImageNet-1k's synsets in class order and their words, from timm's package data (found
    without importing timm, which would import torch)."""
    spec = importlib.util.find_spec("timm")
    assert spec is not None, "timm is a dependency"
    assert spec.submodule_search_locations, "timm is a package"
    info = Path(next(iter(spec.submodule_search_locations))) / "data" / "_info"
    synsets = tuple((info / "imagenet_synsets.txt").read_text(encoding="utf-8").split())
    words = {}
    for line in (info / "imagenet_synset_to_lemma.txt").read_text(encoding="utf-8").splitlines():
        synset, _, lemma = line.partition("\t")
        words[synset] = lemma.strip()
    return synsets, {synset: words[synset] for synset in synsets}


def label_names(dataset: Dataset) -> tuple[str, ...]:
    """The class names of ``dataset`` in label order (see the module's sources).

    Examples:
        >>> label_names("svhn")[0], len(label_names("cifar100"))
        ('0', 100)
    """
    if dataset == "imagenet-1k":
        return _imagenet()[0]
    return {"cifar10": _CIFAR10, "cifar100": _CIFAR100, "svhn": _SVHN}[dataset]


def label_descriptions(dataset: Dataset) -> dict[str, str] | None:
    """Words for each class name where the names are identifiers (ImageNet-1k's synsets), else
    ``None``.

    Examples:
        >>> label_descriptions("cifar10") is None
        True
    """
    return dict(_imagenet()[1]) if dataset == "imagenet-1k" else None


def check_label_names(names: Sequence[str], num_classes: int, where: str) -> list[str]:
    """``names`` as a list, if it is one unique, non-empty string per class; else a
    :class:`~scalenet.ConfigError` naming ``where`` (the argument) and what is wrong.

    Examples:
        >>> check_label_names(("cat", "dog"), 2, "label_names")
        ['cat', 'dog']
        >>> check_label_names(["cat", "cat"], 2, "label_names")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: label_names=['cat', 'cat'] is not allowed: one unique ...
    """
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise ConfigError(
            where, names, f"a list of {num_classes} class names, one per class in label order"
        )
    listed = list(names)
    if len(listed) != num_classes:
        raise ConfigError(
            where, _short(listed), f"{num_classes} names, one per class (got {len(listed)})"
        )
    seen: set[str] = set()
    for name in listed:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(where, _short(listed), f"non-empty strings (got {name!r})")
        if name in seen:
            raise ConfigError(
                where, _short(listed), f"one unique name per class ({name!r} is given twice)"
            )
        seen.add(name)
    return listed


def _short(names: list[Any]) -> list[Any] | str:
    """``names`` for an error message: all of them when there are few."""
    return names if len(names) <= 12 else f"[{', '.join(map(repr, names[:5]))}, ...]"


def labels_cfg(dataset: Dataset | None, num_classes: int) -> dict[str, Any]:
    """The pretrained cfg keys naming the classes of a classifier of ``num_classes`` trained
    on ``dataset``: none when there is no data set or the counts differ (a new head).

    Examples:
        >>> labels_cfg("cifar10", 10)["label_names"][-1]
        'truck'
        >>> labels_cfg("cifar10", 5)
        {}
    """
    if dataset is None or len(label_names(dataset)) != num_classes:
        return {}
    cfg: dict[str, Any] = {"label_names": list(label_names(dataset))}
    descriptions = label_descriptions(dataset)
    if descriptions is not None:
        cfg["label_descriptions"] = descriptions
    return cfg

"""The catalogue of published weights: one record per ``arch.tag``, data only.

A record says where a file is (a Hub repository, or a URL with the hash its source
publishes), how its keys are named (``layout``), what the weights need (classes,
normalisation, input and test sizes, crop), and what their source reports (top-1/top-5, with
where), under which licence. What follows from the architecture (parameters, MACs) is not
recorded: ``scalenet.profile("arch.tag")`` computes it.

Examples:
    >>> from scalenet.weights import get_weights
    >>> w = get_weights("resnet50.tv_in1k")
    >>> w.dataset, w.license, w.top1
    ('imagenet-1k', 'bsd-3-clause', 76.156)
"""

from __future__ import annotations

import fnmatch

from ..errors import ConfigError, check_type
from .cifar import CIFAR_WEIGHTS
from .imagenet import IMAGENET_WEIGHTS
from .records import DATASETS, Dataset, HubFile, Layout, UrlFile, Weights, short_url

__all__ = [
    "CATALOG",
    "DATASETS",
    "Dataset",
    "HubFile",
    "Layout",
    "UrlFile",
    "Weights",
    "default_tag",
    "get_weights",
    "list_weights",
    "short_url",
    "split_name",
    "tags_of",
]


def _collect() -> dict[str, tuple[Weights, ...]]:
    """Every architecture's weights, its default tag first."""
    table: dict[str, list[Weights]] = {}
    for weights in (*IMAGENET_WEIGHTS, *CIFAR_WEIGHTS):
        table.setdefault(weights.arch, []).append(weights)
    return {arch: tuple(ws) for arch, ws in table.items()}


#: arch -> its weights; the first is the default tag (``pretrained=True`` with no tag).
CATALOG: dict[str, tuple[Weights, ...]] = _collect()


def split_name(name: str) -> tuple[str, str | None]:
    """``"resnet50.a1_in1k"`` -> ``("resnet50", "a1_in1k")``; no tag -> ``(name, None)``.

    Examples:
        >>> split_name("resnet56_cifar.akamaster_cifar10")
        ('resnet56_cifar', 'akamaster_cifar10')
        >>> split_name("resnet18")
        ('resnet18', None)
    """
    check_type("name", name, str, "a model name such as 'resnet20_cifar' (scalenet.list_models())")
    arch, dot, tag = name.partition(".")
    return arch, (tag if dot else None)


def tags_of(arch: str) -> tuple[str, ...]:
    """The tags published for ``arch`` (its default first); ``()`` when there are none.

    Examples:
        >>> tags_of("resnet18")[0]
        'tv_in1k'
    """
    check_type("arch", arch, str, "an architecture's name such as 'resnet18'")
    return tuple(w.tag for w in CATALOG.get(arch, ()))


def default_tag(arch: str) -> str | None:
    """The tag ``pretrained=True`` loads when the name carries none (``None``: no weights)."""
    check_type("arch", arch, str, "an architecture's name such as 'resnet18'")
    weights = CATALOG.get(arch)
    return weights[0].tag if weights else None


def get_weights(name: str, tag: str | None = None) -> Weights:
    """The record of ``arch.tag`` (or ``arch`` and ``tag``; no tag: the default one).

    Raises:
        ConfigError: the architecture has no published weights, or not that tag (naming the
            tags it has).

    Examples:
        >>> get_weights("resnet18").tag
        'tv_in1k'
        >>> get_weights("resnet18.nope")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: tag='nope' is not allowed: ...
    """
    arch, named = split_name(name)
    check_type("tag", tag, (str, type(None)), "a tag such as 'a1_in1k', or None")
    tag = tag if tag is not None else named
    weights = CATALOG.get(arch)
    if not weights:
        with_weights = ", ".join(CATALOG)
        raise ConfigError(
            "pretrained", True, f"an architecture with published weights ({with_weights})",
            f"{arch!r} has none",
        )  # fmt: skip
    if tag is None:
        return weights[0]
    for w in weights:
        if w.tag == tag:
            return w
    raise ConfigError("tag", tag, f"a tag of {arch}: {', '.join(w.tag for w in weights)}")


def list_weights(include: str = "*") -> list[str]:
    """Every ``arch.tag`` matching a shell-style pattern, in catalogue order."""
    check_type("include", include, str, "a shell-style pattern such as 'resnet*'")
    return [w.name for ws in CATALOG.values() for w in ws if fnmatch.fnmatchcase(w.name, include)]

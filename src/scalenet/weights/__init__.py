"""Published weights for the zoo's architectures, by ``arch.tag`` name (timm's convention).

- :mod:`.records`: what a record holds (source, licence, dataset, reported accuracy...);
- :mod:`.catalog`: the records by ``arch.tag``;
- :mod:`.layouts`: converters from each source's key names to scalenet's;
- :mod:`.imagenet`, :mod:`.cifar`: the tables, one per family of sources;

Examples:
    >>> import scalenet
    >>> scalenet.weights.get_weights("resnet18").name
    'resnet18.tv_in1k'
"""

from __future__ import annotations

from .catalog import (
    CATALOG,
    HubFile,
    UrlFile,
    Weights,
    default_tag,
    get_weights,
    list_weights,
    split_name,
    tags_of,
)

__all__ = [
    "CATALOG",
    "HubFile",
    "UrlFile",
    "Weights",
    "default_tag",
    "get_weights",
    "list_weights",
    "split_name",
    "tags_of",
]

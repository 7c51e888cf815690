"""The model zoo: one table of named variants, each a config plus its metadata.

Examples:
    >>> import scalenet
    >>> scalenet.list_models("resnet2*")
    ['resnet26', 'resnet26d', 'resnet200d', 'resnet20_cifar', 'resnet20_cifar_proj']
    >>> scalenet.list_models("resnet20_cifar*", pretrained=True)[0]
    'resnet20_cifar.akamaster_cifar10'
    >>> model = scalenet.create("resnet20_cifar", num_classes=100)
    >>> model.config.num_classes, model.config.downsample
    (100, 'pad')
"""

from __future__ import annotations

from .entry import ZooEntry
from .lookup import create, get_config, get_entry, list_models
from .table import ZOO

__all__ = [
    "ZOO",
    "ZooEntry",
    "create",
    "get_config",
    "get_entry",
    "list_models",
]

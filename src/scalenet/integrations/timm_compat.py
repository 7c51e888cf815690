"""Registers every zoo entry, and one generic architecture, with timm.

After this module's import (``import scalenet`` arranges it, and so does the autoload hook
when timm is imported), ``timm.create_model`` builds scalenet models by their timm names
(``scalenet_resnet50``, ``resnet20_cifar``, ``scalenet_w80``...), with timm's usual keyword
arguments (``num_classes``, ``in_chans``, ``drop_rate``, ``global_pool``, ``features_only``,
``out_indices``...) and any config field (``width=96``, ``depths=(3, 3, 3)``...).
``scalenet_custom`` takes every config field, so a Hub ``config.json`` whose ``model_args``
hold a full config can describe any scalenet model.

Every process that imports timm with scalenet installed pays for this module, so it builds
nothing: no config, layer plan or module, and no torch code of scalenet's. What timm's
registry holds (the names, their descriptions and one pretrained cfg per ``name.tag``) is data
computed from the zoo and the weights catalogue (:mod:`scalenet.integrations.timm_registry`). An
entrypoint imports :mod:`scalenet.integrations.timm_build`, which builds the model, when it is first
called.

Examples:
    >>> import timm, scalenet
    >>> model = timm.create_model("resnet20_cifar", num_classes=5, in_chans=1)
    >>> model.config.num_classes, model.config.in_chans
    (5, 1)
    >>> custom = timm.create_model("scalenet_custom", family="resnet", depths=(1, 1),
    ...                            width=8, stem="cifar", input_size=16)
    >>> custom.config.depths
    (1, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from timm.models import generate_default_cfgs, register_model

from .timm_registry import read_registry

if TYPE_CHECKING:
    from ..nn.base import ScaleNetModel

__all__ = ["REGISTERED", "default_cfgs", "register_all"]

_REGISTRY = read_registry()

#: timm's default cfgs, keyed by the registered names with their tags (read by
#: ``register_model``): ``timm.list_pretrained("resnet20_cifar*")`` lists the tags.
default_cfgs = generate_default_cfgs(
    {name: cfg for model in _REGISTRY.values() for name, cfg in model["cfgs"].items()}
)


def _entrypoint(name: str, doc: str) -> Callable[..., ScaleNetModel]:
    def entrypoint(pretrained: bool = False, **kwargs: Any) -> ScaleNetModel:
        from .timm_build import build  # the builder (torch modules): on the first model

        return build(name, pretrained, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__module__ = __name__
    entrypoint.__doc__ = doc
    return entrypoint


def register_all() -> list[str]:
    """Register every zoo entry and ``scalenet_custom`` with timm; returns the names.

    Runs once, when this module is imported; calling it again re-registers the same entries.
    """
    for name, model in _REGISTRY.items():
        register_model(_entrypoint(name, model["description"]))
    return list(_REGISTRY)


REGISTERED = register_all()

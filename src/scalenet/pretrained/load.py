"""A catalogue record's weights as a state dict in scalenet's names.

Hub files come through :func:`scalenet._fetch.download` (huggingface_hub's cache, failing
fast offline); URL files through :mod:`.download` (checked against their published hash).
Either way the keys are converted from the source's layout (:mod:`.layouts`).
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from .. import _fetch, weight_files
from . import download
from .catalog import HubFile, Weights
from .layouts import convert

__all__ = ["load_state_dict"]


def load_state_dict(weights: Weights, *, cache_dir: str | Path | None = None) -> dict[str, Tensor]:
    """The tensors of ``weights``, downloaded (or cached) and checked, in scalenet's names.

    Args:
        weights: a catalogue record (:func:`scalenet.pretrained.get_weights`).
        cache_dir: huggingface_hub's cache to use (default: ``HF_HUB_CACHE``); URL files are
            kept in its ``scalenet-urls/`` folder.

    Raises:
        WeightsError: the file cannot be had or is not what its record says (see
            :func:`.download.fetch` and :func:`scalenet._fetch.download`), or its keys are
            not the layout's.

    Examples:
        (Not run: it needs the network.) ::

            w = scalenet.pretrained.get_weights("resnet20_cifar.akamaster_cifar10")
            model = scalenet.create("resnet20_cifar")
            model.load_state_dict(load_state_dict(w))
    """
    file = weights.file
    if isinstance(file, HubFile):
        model = f"scalenet.create({weights.name!r})"
        local = f"scalenet.load_weights({model}, 'path/to/{file.filename}')"
        path = _fetch.download(
            file.repo_id, file.filename, file.revision, cache_dir=cache_dir,
            local_copy=f"or load a copy: {local}",
        )  # fmt: skip
        loaded: object = weight_files.read_state_dict(path)
    else:
        loaded = download.read(file, cache_dir=cache_dir)
    return convert(weights.layout, loaded, source=f"{weights.name} ({file})")

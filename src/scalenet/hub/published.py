"""A catalogue record's weights as a state dict in scalenet's names.

Hub files come through :func:`scalenet.hub.fetch.download` (huggingface_hub's cache, failing
fast offline); URL files through :func:`scalenet.hub.urls.read` (kept in that cache's
``scalenet-urls/`` folder, checked against their published hash).
Either way the keys are converted from the source's layout (:mod:`.layouts`).
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ..io import state_dict as weight_files
from ..weights.layouts import convert
from ..weights.records import HubFile, Layout, Weights
from . import fetch, urls

__all__ = ["load_state_dict", "local_copy"]


def local_copy(layout: Layout, call: str, path: str) -> str:
    """An error's remedy: load a local copy by ``call`` (``{}`` standing for the state dict
    or file), the file at ``path`` read into scalenet's names if its ``layout`` needs it.

    Examples:
        >>> local_copy("timm", "load({})", "w.safetensors")
        "or load a copy: load('w.safetensors')"
        >>> print(local_copy("timm_resnetv2", "load({})", "w.safetensors"))
        or load a copy: load(convert('timm_resnetv2', read_state_dict('w.safetensors'))), after ...
    """
    if layout == "timm":
        return f"or load a copy: {call.format(repr(path))}"
    state = f"convert({layout!r}, read_state_dict({path!r}))"
    return (
        f"or load a copy: {call.format(state)}, after from scalenet.weights.layouts import "
        "convert; from scalenet.io.state_dict import read_state_dict"
    )


def load_state_dict(weights: Weights, *, cache_dir: str | Path | None = None) -> dict[str, Tensor]:
    """The tensors of ``weights``, downloaded (or cached) and checked, in scalenet's names.

    Args:
        weights: a catalogue record (:func:`scalenet.weights.get_weights`).
        cache_dir: huggingface_hub's cache to use (default: ``HF_HUB_CACHE``); URL files are
            kept in its ``scalenet-urls/`` folder.

    Raises:
        WeightsError: the file cannot be had or is not what its record says (see
            :func:`scalenet.hub.urls.fetch` and :func:`scalenet.hub.fetch.download`), or its
            keys are not the layout's.

    Examples:
        (Not run: it needs the network.) ::

            w = scalenet.weights.get_weights("resnet20_cifar.akamaster_cifar10")
            model = scalenet.create("resnet20_cifar")
            model.load_state_dict(load_state_dict(w))
    """
    file = weights.file
    if isinstance(file, HubFile):
        call = f"scalenet.load_weights(scalenet.create({weights.name!r}), {{}})"
        path = fetch.download(
            file.repo_id, file.filename, file.revision, cache_dir=cache_dir,
            local_copy=local_copy(weights.layout, call, f"path/to/{file.filename}"),
        )  # fmt: skip
        loaded: object = weight_files.read_state_dict(path)
    else:
        loaded = urls.read(file, cache_dir=cache_dir)
    return convert(weights.layout, loaded, source=f"{weights.name} ({file})")

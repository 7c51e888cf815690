"""A catalogue record's weights as a state dict in scalenet's names.

Hub files come through :func:`scalenet.hub.fetch.download` (huggingface_hub's cache, failing
fast offline); URL files through :func:`scalenet.hub.urls.read` (kept in that cache's
``scalenet-urls/`` folder, checked against their published hash).
Either way the keys are converted from the source's layout (:mod:`.layouts`).
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ..config import Config
from ..errors import WeightsError
from ..io import state_dict as weight_files
from ..spec.plan import count_state
from ..weights.layouts import convert
from ..weights.records import HubFile, UrlFile, Weights
from . import fetch, urls

__all__ = ["load_state_dict", "local_copy", "max_file_bytes"]

#: Room for a file's container (pickle records, zip directory, a checkpoint's extra entries).
_CONTAINER_BYTES = 1 << 20


def max_file_bytes(config: Config) -> int:
    """The most bytes a published file of weights for ``config`` can hold: twice its state
    in float32 (:func:`scalenet.spec.plan.count_state`: parameters and BatchNorm statistics),
    and 1 MiB for the container. A download, or an archive's member, that holds more is
    refused as it arrives. (akamaster's ResNet-20 file: 1,099,231 bytes, its float32 state
    1,084,468.)

    Examples:
        >>> import scalenet
        >>> max_file_bytes(scalenet.get_config("resnet20_cifar"))
        3217512
    """
    return 2 * 4 * count_state(config) + _CONTAINER_BYTES


def local_copy(name: str, path: str) -> str:
    """An error's remedy: load the published weights ``name`` (``arch.tag``) from a copy of
    their file at ``path``, checked and converted as a download is.

    Examples:
        >>> print(local_copy("resnet18.a1_in1k", "w.safetensors"))
        or load a copy you have: scalenet.create('resnet18.a1_in1k', pretrained=True,
        pretrained_cfg_overlay=dict(file='w.safetensors'))
    """
    return (
        f"or load a copy you have: scalenet.create({name!r}, pretrained=True, "
        f"pretrained_cfg_overlay=dict(file={path!r}))"
    )


def load_state_dict(
    weights: Weights,
    *,
    cache_dir: str | Path | None = None,
    file: str | Path | None = None,
    config: Config | None = None,
) -> dict[str, Tensor]:
    """The tensors of ``weights``, downloaded (or cached) and checked, in scalenet's names.

    Args:
        weights: a catalogue record (:func:`scalenet.weights.get_weights`).
        cache_dir: huggingface_hub's cache to use (default: ``HF_HUB_CACHE``); URL files are
            kept in its ``scalenet-urls/`` folder.
        file: a copy of the weights' file you already have, read instead of the download (a
            URL file is checked against the hash its source publishes; the catalogue holds
            none for Hub files, whose keys are checked as they are converted).
        config: the architecture of the weights (the zoo's config of ``weights.arch`` with
            :meth:`~scalenet.weights.records.Weights.config_changes`): a file from a URL that
            holds more than :func:`max_file_bytes` of it is refused as it arrives. Without
            it, :data:`scalenet.hub.urls.MAX_BYTES` bounds the file.

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
    record = weights.file
    name = Path(getattr(record, "filename", "") or str(record).rsplit("/", 1)[-1]).name
    remedy = local_copy(weights.name, f"path/to/{name}")
    loaded: object
    limit = max_file_bytes(config) if config is not None else urls.MAX_BYTES
    if file is not None and isinstance(record, HubFile):
        where = Path(file).expanduser()
        if not where.is_file():
            raise WeightsError(f"{where}: no such file (meant as a copy of {record})")
        loaded = weight_files.read_state_dict(where)
    elif file is not None:
        assert isinstance(record, UrlFile)
        loaded = urls.read_local(record, file, limit=limit)
    elif isinstance(record, HubFile):
        path = fetch.download(
            record.repo_id, record.filename, record.revision, cache_dir=cache_dir,
            local_copy=remedy,
        )  # fmt: skip
        loaded = weight_files.read_state_dict(path)
    else:
        try:
            loaded = urls.read(record, cache_dir=cache_dir, limit=limit)
        except WeightsError as err:
            raise WeightsError(f"{err}; {remedy}") from None
    source = f"{weights.name} ({file if file is not None else record})"
    return convert(weights.layout, loaded, source=source)

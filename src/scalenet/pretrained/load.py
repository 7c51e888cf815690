"""A published weights file, fetched and converted to scalenet's names (Hub files for now)."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ..errors import WeightsError
from .catalog import HubFile, Weights

__all__ = ["load_state_dict"]


def load_state_dict(weights: Weights, *, cache_dir: str | Path | None = None) -> dict[str, Tensor]:
    """The state dict of ``weights``, with scalenet's key names."""
    from .._fetch import download
    from ..weight_files import read_state_dict

    file = weights.file
    if not isinstance(file, HubFile):
        raise WeightsError(f"{weights.name}: files from {file} cannot be read yet")
    local = f"scalenet.load_weights(scalenet.create({weights.name!r}), 'path/to/{file.filename}')"
    path = download(
        file.repo_id, file.filename, file.revision, cache_dir=cache_dir,
        local_copy=f"or load a copy: {local}",
    )  # fmt: skip
    return read_state_dict(path)

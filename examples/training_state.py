"""Resumable training state without pickle: tensors in safetensors, everything else in JSON.

The model itself is saved with ``save_pretrained``; this module stores what ``--resume`` needs
beside it: optimizer and scheduler state, the epoch, the best accuracy so far, and every random
number generator's state, so that a resumed run continues exactly where the killed one stopped.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch

TENSORS = "training_state.safetensors"
META = "training_state.json"


def _split(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested structure by a reference, collecting the tensors."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {
            "__dict__": [[_split(k, f"{prefix}.k{i}", tensors), _split(v, f"{prefix}.{i}", tensors)]
                         for i, (k, v) in enumerate(obj.items())]
        }  # fmt: skip
    if isinstance(obj, (list, tuple)):
        items = [_split(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    return obj


def _join(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {_join(k, tensors): _join(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_join(v, tensors) for v in obj["__tuple__"])
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    return obj


def save_state(directory: Path, **state: Any) -> None:
    """Write ``state`` (optimizer/scheduler state dicts, numbers...) plus all RNG states."""
    state["rng"] = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": np.random.get_state(),
    }
    tensors: dict[str, torch.Tensor] = {}
    meta = _split(_to_plain(state), "s", tensors)
    directory.mkdir(parents=True, exist_ok=True)
    tmp_tensors, tmp_meta = directory / f".{TENSORS}.tmp", directory / f".{META}.tmp"
    safetensors.torch.save_file(tensors, str(tmp_tensors))
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_tensors, directory / TENSORS)
    os.replace(tmp_meta, directory / META)


def _to_plain(obj: Any) -> Any:
    """numpy arrays and scalars become lists and numbers (JSON), tensors stay tensors."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_plain(v) for v in obj)
    return obj


def _from_plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.array(obj["__ndarray__"], dtype=obj["dtype"])
        return {k: _from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_from_plain(v) for v in obj)
    return obj


def load_state(directory: Path) -> dict[str, Any]:
    """Read what :func:`save_state` wrote and restore every RNG; returns the rest."""
    tensors = safetensors.torch.load_file(str(directory / TENSORS))
    state: dict[str, Any] = _from_plain(_join(json.loads((directory / META).read_text()), tensors))
    rng = state.pop("rng")
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    python = rng["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    numpy = rng["numpy"]
    np.random.set_state((numpy[0], numpy[1], *numpy[2:]))
    return state


def exists(directory: Path) -> bool:
    """Whether a resumable state is stored in ``directory``."""
    return (directory / TENSORS).is_file() and (directory / META).is_file()

"""Resumable training state without pickle: tensors in safetensors, everything else in JSON.

What ``--resume`` needs beside the weights: optimizer and scheduler state, the epoch, the best
accuracy so far, and every random number generator's state, so that a resumed run continues
exactly where the stopped one did. :func:`pack_state` makes it one safetensors blob (the JSON
in its metadata), which train.py commits together with the weights:
``save_pretrained(model, "last", companions={STATE_NAME: pack_state(...)})`` and
``scalenet.hub.load.read_checkpoint("last")`` give weights and state of one save, or an error.
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import safetensors
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


#: The companion name train.py stores the state under (not ``.safetensors``: no tool should
#: take it for weights).
STATE_NAME = "training_state.state"
_KEY = "training_state"


def pack_state(**state: Any) -> bytes:
    """``state`` (optimizer/scheduler state dicts, numbers...) plus all RNG states, as bytes."""
    state["rng"] = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": np.random.get_state(),
    }
    tensors: dict[str, torch.Tensor] = {}
    meta = _split(_to_plain(state), "s", tensors)
    return safetensors.torch.save(tensors, metadata={_KEY: json.dumps(meta)})


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


def unpack_state(data: bytes) -> dict[str, Any]:
    """Read what :func:`pack_state` made and restore every RNG; returns the rest.

    Raises:
        ValueError: ``data`` is not such a state.
    """
    try:
        length = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8 : 8 + length])["__metadata__"][_KEY]
        tensors = safetensors.torch.load(data)
        state: dict[str, Any] = _from_plain(_join(json.loads(meta), tensors))
        rng = state.pop("rng")
        python, numpy = rng["python"], rng["numpy"]
        torch.set_rng_state(rng["torch"])
        random.setstate((python[0], tuple(python[1]), python[2]))
        np.random.set_state((numpy[0], numpy[1], *numpy[2:]))
    except (KeyError, TypeError, IndexError, RuntimeError, ValueError) as err:
        raise ValueError(f"not a training state ({type(err).__name__}: {err})") from None
    except safetensors.SafetensorError as err:
        raise ValueError(f"not a training state ({err})") from None
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return state

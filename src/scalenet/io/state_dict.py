"""Weights files to state dicts: safetensors, read from one opening of the file, and pickle
checkpoints, read only with ``torch.load(weights_only=True)``, which refuses to run code.

:mod:`scalenet.io.weights` puts what these return into a model.

Examples:
    >>> import tempfile, torch
    >>> from scalenet.io.safetensors import save_file
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_file({"module.w": torch.ones(2)}, tmp + "/x.safetensors")
    ...     read_state_dict(tmp + "/x.safetensors")  # DDP's prefix removed
    {'w': tensor([1., 1.])}
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

import safetensors
import torch
from torch import Tensor

from ..errors import WeightsError, first_line
from . import safetensors as _safetensors
from .atomic import open_once

__all__ = ["SafetensorsFile", "read_state_dict", "strip_module_prefix"]

_PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".ckpt")


def read_state_dict(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """Read a ``.safetensors`` file, or a pickle checkpoint with ``torch.load(weights_only=True)``.

    A safetensors file is read into fresh memory of its own, each tensor 64-byte aligned, and
    checked against the CRC-32 that scalenet records (see ``scalenet.io.safetensors``).

    Training checkpoints that wrap the weights (``{"state_dict": ...}``, ``{"model": ...}``) and
    DistributedDataParallel's ``module.`` prefix are unwrapped.

    Raises:
        WeightsError: the file is missing, truncated or corrupt, not a weights file, or a pickle
            that needs anything beyond tensors and plain containers.
    """
    path = Path(path)
    try:
        found = path.is_file()
    except OSError as err:  # a name too long, no permission on a folder of the path...
        raise WeightsError(f"no weights file at {path}: {err.strerror}") from None
    if not found:
        raise WeightsError(f"no weights file at {path}")
    if path.suffix == ".safetensors":
        with SafetensorsFile(path) as file:
            return file.tensors(device)
    elif path.suffix in _PICKLE_SUFFIXES:
        try:
            loaded = torch.load(path, map_location=device, weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            raise WeightsError(
                f"{path} was refused by torch.load(weights_only=True) (it holds more than "
                f"tensors, or is damaged): {first_line(err)}"
            ) from None
        state = _unwrap(loaded, path)
    else:
        raise WeightsError(
            f"{path}: unknown weights format {path.suffix!r}; expected .safetensors or, read "
            f"with weights_only=True, one of {', '.join(_PICKLE_SUFFIXES)}. A published "
            "weight's file as its source publishes it (akamaster's .th, pytorchcv's .pth) "
            "loads, checked and converted, with scalenet.create('arch.tag', pretrained=True, "
            "pretrained_cfg_overlay=dict(file=path)) or `scalenet convert arch.tag DIR --file "
            "path`"
        )
    try:
        _check_tensors(state)
    except WeightsError as err:
        raise WeightsError(f"{path}: {err}") from None
    return strip_module_prefix(state)


class SafetensorsFile:
    """A safetensors file opened once: its metadata and tensors are read from that opening.

    A save that renames another file over the path meanwhile cannot mix two files' metadata
    and tensors: both come from the file that was opened (on Linux; elsewhere the path is
    reopened). A context manager; errors are :class:`WeightsError` naming the path.

    Examples:
        >>> import tempfile, torch
        >>> from scalenet.io.safetensors import save_file
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     save_file({"w": torch.ones(2)}, tmp + "/x.safetensors", metadata={"a": "b"})
        ...     with SafetensorsFile(tmp + "/x.safetensors") as file:
        ...         file.metadata["a"], file.tensors()["w"].tolist()
        ('b', [1.0, 1.0])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._fd, self._via = open_once(self.path)
        except FileNotFoundError:
            raise WeightsError(f"no weights file at {self.path}") from None
        except OSError as err:
            raise WeightsError(f"cannot read {self.path}: {err.strerror or err}") from None
        #: The opened file's ``os.stat_result``.
        self.stat = os.fstat(self._fd)
        self._metadata: dict[str, str] | None = None

    def _invalid(self, err: Exception) -> WeightsError:
        message = str(err).replace(self._via, str(self.path))
        return WeightsError(f"{self.path} is not a valid safetensors file: {message}")

    @property
    def metadata(self) -> dict[str, str]:
        """The header's ``__metadata__`` (``{}`` when it has none)."""
        if self._metadata is None:
            try:
                self._metadata = _safetensors.read_metadata(self._via)
            except (safetensors.SafetensorError, OSError, ValueError) as err:
                raise self._invalid(err) from None
        return self._metadata

    def tensors(self, device: str | torch.device = "cpu") -> dict[str, Tensor]:
        """The tensors (checked: string names, dense; DDP's ``module.`` prefix removed)."""
        try:
            state = _safetensors.load_file(self._via, device=device)
        except (safetensors.SafetensorError, OSError, ValueError, RuntimeError) as err:
            raise self._invalid(err) from None
        try:
            _check_tensors(state)
        except WeightsError as err:
            raise WeightsError(f"{self.path}: {err}") from None
        return strip_module_prefix(state)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SafetensorsFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _is_state(value: object) -> TypeGuard[Mapping[str, Tensor]]:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(v, Tensor) for v in value.values())
    )


def _unwrap(loaded: object, path: Path) -> dict[str, Tensor]:
    if isinstance(loaded, Mapping):
        for key in ("state_dict", "model", "model_state_dict", "state_dict_ema"):
            inner = loaded.get(key)
            if _is_state(inner):
                return dict(inner)
        if _is_state(loaded):
            return dict(loaded)
    raise WeightsError(f"{path} holds no state_dict (a mapping of parameter names to tensors)")


def _check_tensors(state: Mapping[Any, Any]) -> None:
    """Names are strings and values dense tensors with data (not sparse, not meta)."""
    for key, value in state.items():
        if not isinstance(key, str):
            raise WeightsError(f"the state_dict has a key {key!r}: parameter names are strings")
        if not isinstance(value, Tensor):
            raise WeightsError(f"{key} is a {type(value).__name__}, not a tensor")
        if value.layout != torch.strided or value.is_meta:
            what = "a meta tensor (no data)" if value.is_meta else f"{value.layout} (not dense)"
            raise WeightsError(f"{key} is {what}; weights must be dense tensors")


def strip_module_prefix(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``state`` less ``DataParallel``'s ``module.`` prefix, when every key has it.

    Examples:
        >>> list(strip_module_prefix({"module.fc.weight": 0, "module.fc.bias": 1}))
        ['fc.weight', 'fc.bias']
    """
    keys = list(state)
    if keys and all(k.startswith("module.") for k in keys):
        return {k.removeprefix("module."): v for k, v in state.items()}
    return dict(state)

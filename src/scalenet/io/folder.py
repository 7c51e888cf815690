"""A saved model folder: the names of its files, the metadata keys of its weights file, and
reading it back (its config.json, its weights with their companions).

A folder that :func:`scalenet.save_pretrained` writes holds :data:`WEIGHTS_NAME` (the commit
point), :data:`CONFIG_NAME` and :data:`CARD_NAME`; :mod:`scalenet.hub.save` writes them;
:func:`scalenet.from_pretrained`, the Hub download and the timm integration read them, through
:func:`read_config` and :func:`read_checkpoint` here for a local folder.

Examples:
    >>> from scalenet.io.folder import CONFIG_NAME, WEIGHTS_NAME
    >>> CONFIG_NAME, WEIGHTS_NAME
    ('config.json', 'model.safetensors')
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config, config_from_dict
from ..errors import ConfigError, WeightsError, check_path
from .atomic import companion_name, read_regular

if TYPE_CHECKING:
    import torch

__all__ = [
    "CARD_NAME",
    "COMPANIONS_KEY",
    "CONFIG_KEY",
    "CONFIG_NAME",
    "CUSTOM",
    "DIGEST_KEY",
    "MAX_CONFIG_BYTES",
    "PREVIOUS_KEY",
    "WEIGHTS_NAME",
    "config_digest",
    "parse_config",
    "read_checkpoint",
    "read_config",
    "read_config_bytes",
    "saved_fields",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
CUSTOM = "scalenet_custom"  # the generic timm architecture (see timm_compat)

#: The weights file's metadata entry holding the digest of its config.json
#: (:func:`config_digest`).
DIGEST_KEY = "scalenet_config_sha256"
#: The weights file's metadata entry holding the full text of its config.json.
CONFIG_KEY = "scalenet_config"
#: The weights file's metadata entry holding the digest of the config.json that the folder held
#: before the save ("" if none): a config.json left by a save killed between its two renames
#: is recognised as such.
PREVIOUS_KEY = "scalenet_previous_config_sha256"
#: The weights file's metadata entry naming the companion files committed with it (a JSON
#: object, name -> file name; each file name embeds the SHA-256 of its content).
COMPANIONS_KEY = "scalenet_companions"
#: A config.json larger than this is refused unread (a saved one is about 2 KB).
MAX_CONFIG_BYTES = 1 << 20


def config_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 of a parsed config.json, in a canonical form (key order and spacing do not count).

    :func:`save_pretrained` stores it in the weights file's metadata, and
    :func:`scalenet.from_pretrained` checks it: weights are never loaded under a config.json
    that was saved with other weights, edited or damaged.

    Examples:
        >>> config_digest({"a": 1, "b": [2]}) == config_digest({"b": [2], "a": 1})
        True
    """
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_config(path: str | Path) -> tuple[Config, dict[str, Any]]:
    """The config in a JSON file, and the file's whole content.

    Reads a saved model's ``config.json`` (the config under ``"model_args"``) as well as a
    bare config (``config.to_dict()``, with ``"family"``).

    Raises:
        ConfigError: the file cannot be read, is larger than :data:`MAX_CONFIG_BYTES`, is not
            UTF-8 JSON (or is nested too deep, or holds an integer of thousands of digits), or
            does not hold a valid config.

    Examples:
        >>> import json, tempfile, scalenet
        >>> with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        ...     _ = file.write(json.dumps(scalenet.get_config("resnet20_cifar").to_dict()))
        ...     file.flush()
        ...     read_config(file.name)[0] == scalenet.get_config("resnet20_cifar")
        True
    """
    path = Path(path)
    raw = read_config_bytes(path)
    if raw is None:
        raise ConfigError(CONFIG_NAME, str(path), "a readable file (No such file or directory)")
    return parse_config(raw, str(path))


def read_config_bytes(path: Path) -> bytes | None:
    """The first :data:`MAX_CONFIG_BYTES` + 1 bytes of a config file, ``None`` if it does not
    exist. Opened without blocking and checked to be a regular file before reading: a FIFO (or
    a device) named as a config would otherwise hang, or never end.

    Raises:
        ConfigError: the path is not a regular file, or cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(CONFIG_NAME, str(path), f"a readable file ({err.strerror})") from None
    try:
        with open(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError(CONFIG_NAME, str(path), "a regular file (not a FIFO or device)")
            return file.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError(CONFIG_NAME, str(path), f"a readable file ({err.strerror})") from None


def saved_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The config fields of a parsed config.json: its ``model_args``, with the class count
    from the top-level ``num_classes`` where timm keeps it (files of scalenet 0.1 also held
    it in ``model_args``); a bare config (``config.to_dict()``) as it is.

    Examples:
        >>> saved_fields({"num_classes": 10, "model_args": {"family": "simple_cnn"}})
        {'family': 'simple_cnn', 'num_classes': 10}
    """
    if "model_args" not in data:
        return dict(data)
    fields = dict(data["model_args"])
    if "num_classes" in data:
        fields.setdefault("num_classes", data["num_classes"])
    return fields


def parse_config(raw: bytes, where: str) -> tuple[Config, dict[str, Any]]:
    """:func:`read_config` of a file's content; ``where`` names it in errors.

    Examples:
        >>> parse_config(b'{"family": "simple_cnn"}', "x.json")[0].family
        'simple_cnn'
    """
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(CONFIG_NAME, where, f"a file of at most {MAX_CONFIG_BYTES:,} bytes")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ConfigError(
            CONFIG_NAME, where, f"UTF-8 text, as JSON files are (byte {err.start} is not)"
        ) from None
    except RecursionError:
        raise ConfigError(CONFIG_NAME, where, "JSON nested less than 1,000 levels deep") from None
    except ValueError as err:  # JSONDecodeError, and integers of over 4,300 digits
        raise ConfigError(CONFIG_NAME, where, f"valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(CONFIG_NAME, type(data).__name__, f"a JSON object (in {where})")
    args = data.get("model_args", data)
    if not isinstance(args, dict) or "family" not in args:
        raise ConfigError(
            CONFIG_NAME,
            where,
            "a scalenet config: a saved model's config.json (the config under 'model_args'), "
            "or config.to_dict() (with 'family')",
        )
    try:
        return config_from_dict(saved_fields(data)), data
    except RecursionError:  # deep nesting inside a field, reported on validation
        raise ConfigError(CONFIG_NAME, where, "a config of plain values") from None


def read_checkpoint(
    directory: str | os.PathLike[str],
) -> tuple[dict[str, torch.Tensor], dict[str, bytes]]:
    """The weights of a folder :func:`save_pretrained` wrote, and the companions saved with them.

    Both come from one commit: the weights file is opened once, and each companion file it
    names (``companions=`` of :func:`save_pretrained`) is checked against the SHA-256 it
    records, so weights and companions of two different saves never pair up.

    Raises:
        WeightsError: no weights file, a damaged one, or a companion that is missing, or whose
            content is not the one the weights record (edited, truncated, from another save).

    Examples:
        >>> import tempfile, scalenet
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = scalenet.create("resnet20_cifar").save_pretrained(
        ...         tmp, companions={"state.json": b"{}"})
        ...     weights, companions = read_checkpoint(tmp)
        >>> len(weights), companions
        (116, {'state.json': b'{}'})
    """
    from .state_dict import SafetensorsFile  # torch and safetensors: not for reading a config

    folder = Path(check_path("directory", directory)).expanduser()
    try:
        if not folder.is_dir():
            raise WeightsError(f"no folder {folder}")
    except OSError as err:
        raise WeightsError(f"cannot read {folder}: {err.strerror or err}") from None
    with SafetensorsFile(folder / WEIGHTS_NAME) as file:
        state = file.tensors()
        try:
            named = json.loads(file.metadata.get(COMPANIONS_KEY, "{}"))
            assert isinstance(named, dict)
            named = {str(k): str(v) for k, v in named.items()}
        except (ValueError, AssertionError):
            raise WeightsError(
                f"{file.path} is damaged: its {COMPANIONS_KEY} is not a JSON object"
            ) from None
    companions: dict[str, bytes] = {}
    for name, stored in named.items():
        path = folder / stored
        try:
            data = read_regular(path) if Path(stored).name == stored else b""
        except OSError as err:
            raise WeightsError(
                f"{path}, saved with {folder / WEIGHTS_NAME}, cannot be read "
                f"({err.strerror or err}): the checkpoint is incomplete"
            ) from None
        if companion_name(name, data) != stored:
            raise WeightsError(
                f"{path} is not the file {folder / WEIGHTS_NAME} was saved with (its SHA-256 "
                "differs: it was edited, truncated or replaced)"
            )
        companions[name] = data
    return state, companions

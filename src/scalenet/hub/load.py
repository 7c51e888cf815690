"""Saving, loading and sharing models: safetensors + config.json + model card, on disk or the Hub.

One repository layout serves scalenet and timm alike:

- ``model.safetensors``: the state_dict;
- ``config.json``: timm's keys (``architecture`` = ``scalenet_custom``, ``num_classes``,
  ``num_features``, ``pretrained_cfg``) with ``model_args`` holding the full scalenet config;
- ``README.md``: a model card (YAML front matter, architecture, params and MACs, and the metrics
  and training recipe when given).

After ``import scalenet``, ``timm.create_model("hf-hub:org/repo", pretrained=True)`` and
``timm.create_model("local-dir:DIR", pretrained=True)`` build the same model with the same
weights as :func:`from_pretrained`.

Examples:
    >>> import tempfile, torch, scalenet
    >>> model = scalenet.create("resnet20_cifar").eval()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = model.save_pretrained(tmp + "/resnet20")
    ...     again = scalenet.from_pretrained(tmp + "/resnet20").eval()
    >>> x = torch.randn(1, 3, 32, 32)
    >>> torch.equal(model(x), again(x))
    True
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch

from ..config import Config
from ..errors import ConfigError, WeightsError
from ..io.folder import config_digest, parse_config, read_checkpoint, read_config_bytes
from ..io.state_dict import SafetensorsFile
from ..io.weights import adaptable_in_chans, assign_exact, conform, load_weights, set_in_chans
from ..nn.base import ScaleNetModel, check_device, check_param_count
from ..nn.skeleton import skeleton
from ..spec.sizes import model_cfg
from .fetch import Token, _download, check_repo_id, check_revision, download, hub_options
from .save import (
    CONFIG_KEY,
    CONFIG_NAME,
    CUSTOM,
    DIGEST_KEY,
    PREVIOUS_KEY,
    WEIGHTS_NAME,
    _previous_digest,
    class_labels,
    hub_config,
    push_to_hub,
    save_pretrained,
)

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "check_repo_id",
    "check_revision",
    "download",
    "from_pretrained",
    "hub_config",
    "push_to_hub",
    "read_checkpoint",
    "save_pretrained",
]

#: The dtypes a model loads in, by name (``dtype="bfloat16"`` works as ``torch.bfloat16``).
DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}


def _locate(source: str | os.PathLike[str]) -> Path | str:
    """A local folder (a Path), or a Hub repository id (a str); checked before any I/O."""
    if not isinstance(source, (str, os.PathLike)):
        raise WeightsError(
            f"from_pretrained takes a folder or a Hub repository id, got {type(source).__name__}"
        )
    text = os.fspath(source)
    if not text.strip():
        raise WeightsError("from_pretrained got an empty path: give a folder or 'org/name'")
    local = Path(text).expanduser()
    try:
        is_dir, exists = local.is_dir(), local.exists()
    except OSError as err:  # e.g. ENAMETOOLONG
        shown = text if len(text) <= 120 else text[:60] + "..." + text[-50:]
        raise WeightsError(f"cannot read {shown}: {err.strerror or err}") from None
    if is_dir:
        return local
    if exists:
        raise WeightsError(
            f"{local} is a file: give the folder that holds {CONFIG_NAME} and {WEIGHTS_NAME}"
        )
    looks_like_repo = (
        isinstance(source, str) and text.count("/") == 1 and not text.startswith((".", "~"))
    )
    if not looks_like_repo:
        raise WeightsError(f"no folder {local} (nor is {text!r} a Hub repository id 'org/name')")
    check_repo_id(text)
    return text


def _dtype(dtype: torch.dtype | str | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    chosen = DTYPES.get(dtype.removeprefix("torch.")) if isinstance(dtype, str) else dtype
    if chosen not in DTYPES.values():
        raise ConfigError("dtype", dtype, "one of " + ", ".join(DTYPES) + " (or the torch.dtype)")
    assert isinstance(chosen, torch.dtype)
    return chosen


class _Changed(Exception):
    """config.json is neither the one the weights were saved with nor the one they replaced."""


def _edited(where: str) -> str:
    return (
        f"{where}: {CONFIG_NAME} is not the one {WEIGHTS_NAME} was saved with (it was edited or "
        "damaged, or the two files come from different saves); save the model again, or load "
        "the weights with scalenet.load_weights"
    )


def _read_shown_config(path: Path) -> bytes | None:
    """config.json's bytes (``None`` if there is none), read once; a regular file only."""
    return read_config_bytes(path)


def _located(err: ConfigError, where: str) -> ConfigError:
    """``err`` with the folder or repository it came from added to its hint."""
    return ConfigError(
        err.field, err.value, err.allowed, f"{err.hint}; in {where}" if err.hint else f"in {where}"
    )


def _check_changes(config: Config, changes: dict[str, int | None]) -> None:
    """Validate ``num_classes``/``in_chans`` for ``config``, and hold the model as it will be
    (head and first conv replaced) to MAX_PARAMS, before anything is read or allocated."""
    check_param_count(config.replace(**{k: v for k, v in changes.items() if v is not None}))
    wanted = changes.get("in_chans")
    if wanted not in (None, config.in_chans) and not adaptable_in_chans(
        config.in_chans, int(wanted or 0)
    ):
        raise ConfigError(
            "in_chans", wanted, "an adaptation timm makes: from 3 (RGB) input channels to any "
            "other number", f"the saved model takes {config.in_chans}",
        )  # fmt: skip


def _check_before_download(config_path: Path, changes: dict[str, int | None], where: str) -> None:
    """A repository's config.json, validated (fields, and the parameter cap with the requested
    ``num_classes``/``in_chans``) before its weights are downloaded: a config that cannot be
    loaded costs no download. The weights may carry the config themselves; config.json must
    then agree with it, which the load checks."""
    shown = _read_shown_config(config_path)
    if shown is None:
        return
    try:
        _check_changes(parse_config(shown, str(config_path))[0], changes)
    except ConfigError as err:
        raise _located(err, where) from None


def _committed_config(
    file: SafetensorsFile, shown: bytes | None, config_path: Path, where: str
) -> tuple[Config, dict[str, Any]]:
    """The config the weights file was committed with, checked against config.json.

    Weights saved by this version carry their config; config.json must then be that one, or
    the one the save replaced (a save killed between its two renames), or absent when the save
    replaced none. Older weights (and other tools') take config.json, checked against the
    digest the weights record, if any. Raises :class:`_Changed` on a mismatch.
    """
    try:
        metadata = file.metadata
    except WeightsError as err:
        raise WeightsError(f"{where}: {err}") from None
    digest, text = metadata.get(DIGEST_KEY), metadata.get(CONFIG_KEY)
    try:
        if text is None:
            if shown is None:
                raise WeightsError(f"{where} has no {CONFIG_NAME}")
            config, data = parse_config(shown, str(config_path))
            if digest is not None and digest != config_digest(data):
                raise _Changed
            return config, data
        config, data = parse_config(text.encode(), f"{file.path} (its metadata)")
    except ConfigError as err:
        raise _located(err, where) from None
    if digest != config_digest(data):
        raise WeightsError(
            f"{where}: {WEIGHTS_NAME} is damaged: the config in its metadata does not match "
            "its recorded digest"
        )
    seen = _previous_digest(shown)  # "" when there is no config.json
    if seen not in (digest, metadata.get(PREVIOUS_KEY)):
        if shown is not None:  # an invalid config.json is named as such
            try:
                skeleton(parse_config(shown, str(config_path))[0])
            except ConfigError as err:
                raise _located(err, where) from None
        raise _Changed
    return config, data


def _replaced(file: SafetensorsFile) -> bool:
    """Whether another file was renamed over the opened one's path since it was opened."""
    try:
        now = os.stat(file.path)
    except OSError:
        return True
    return (now.st_ino, now.st_dev) != (file.stat.st_ino, file.stat.st_dev)


def from_pretrained(
    repo_id_or_dir: str | os.PathLike[str],
    *,
    revision: str | None = None,
    num_classes: int | None = None,
    in_chans: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    token: Token = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
) -> ScaleNetModel:
    """Load a model saved by :func:`save_pretrained`, from a folder or a Hub repository.

    Everything is checked before the weights are read: the folder or repository id, the
    revision (a git ref name: nothing can reach outside the Hub cache), ``config.json``
    (fields, and an analytic parameter count against :data:`scalenet.config.MAX_PARAMS`),
    ``dtype`` and ``device``. The module tree is built on the meta device with no initialiser
    run, and the weights are read into memory of their own, 64-byte aligned, so the loaded
    model reproduces the saved one's outputs bit for bit and never changes when the file does.

    Args:
        repo_id_or_dir: a local folder, or ``"org/name"`` on the Hub (``HF_ENDPOINT``,
            ``HF_HUB_OFFLINE`` and the cache are huggingface_hub's).
        revision: a branch, tag or commit of the Hub repository.
        num_classes: a new classifier size (the head is re-initialised, with a warning).
        in_chans: a new input channel count (the first conv is adapted, with a warning).
        device: where to put the weights (default CPU).
        dtype: the model's floating-point dtype (default float32, whatever the file holds):
            ``torch.float16`` or ``"float16"``, ``bfloat16``, ``float32``, ``float64``.
        token: a Hub token for a private or gated repository (default: ``HF_TOKEN`` or the
            one ``hf auth login`` stored; ``False``: none).
        cache_dir: the Hub cache to read and fill (default: huggingface_hub's,
            ``HF_HUB_CACHE``).
        local_files_only: the cache alone, with no request (as ``HF_HUB_OFFLINE=1``, for
            this call).
        force_download: download the files again even when the cache has them.

    The last four (and ``revision``) are ``huggingface_hub.hf_hub_download``'s, as
    ``ModelHubMixin.from_pretrained`` takes them; for a folder they are not used.

    Raises:
        ConfigError: config.json is invalid or describes too large a model; a bad
            ``num_classes``, ``in_chans``, ``dtype`` or ``device``.
        WeightsError: no such folder or repository, a bad revision, missing files, a damaged
            weights file, weights that do not fit, or integer weights where floats belong;
            files neither in the Hub cache nor reachable (at once, with the remedies: see
            :func:`download`). A name that could be a folder or a repository id
            (``"out/model"``) that is neither gets both answers: no such folder (its full
            path), and why the repository could not be read.

    Examples:
        >>> import tempfile, torch, scalenet
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = scalenet.create("resnet20_cifar").half().save_pretrained(tmp)
        ...     scalenet.from_pretrained(tmp).fc.weight.dtype
        torch.float32

        From the Hub (not run here)::

            model = scalenet.from_pretrained("my-org/resnet20-cifar10", revision="v1")
            model = scalenet.from_pretrained("my-org/private", token="hf_...",
                                             cache_dir="/data/hub-cache")
            model = scalenet.from_pretrained("my-org/resnet20-cifar10", local_files_only=True)
    """
    source = _locate(repo_id_or_dir)
    options = hub_options(revision, token, cache_dir, local_files_only, force_download)
    chosen_dtype, chosen_device = _dtype(dtype), check_device(device, "cpu")
    changes = {"num_classes": num_classes, "in_chans": in_chans}
    if isinstance(source, Path):
        config_path, weights_path = source / CONFIG_NAME, source / WEIGHTS_NAME
        where = str(source)
        if not weights_path.is_file() and not config_path.is_file():
            raise WeightsError(f"{source} has no {CONFIG_NAME}")
    else:
        try:
            config_path, hub = _download(source, CONFIG_NAME, options)
        except WeightsError as err:  # "org/name" could have been meant as a folder
            folder = Path(source).expanduser().resolve()
            raise WeightsError(f"no folder {folder}; as a Hub repository id: {err}") from None
        _check_before_download(config_path, changes, source)  # a bad config costs no download
        weights_path = _download(source, WEIGHTS_NAME, options, found=True, hub=hub)[0]
        where = source
    for attempt in range(3):  # a save may commit between reading config.json and the weights
        shown = _read_shown_config(config_path)
        with SafetensorsFile(weights_path) as file:
            try:
                config, data = _committed_config(file, shown, config_path, where)
            except _Changed:
                if attempt == 2 or not isinstance(source, Path) or not _replaced(file):
                    raise WeightsError(_edited(where)) from None
                continue
            try:
                _check_changes(config, changes)
                model = skeleton(config)  # checks MAX_PARAMS, allocates nothing
            except ConfigError as err:
                raise _located(err, where) from None
            try:
                state = conform(file.tensors(), model.state_dict(), chosen_dtype)
            except WeightsError as err:
                raise WeightsError(f"{where}: {err}") from None
        break
    state = {k: v.to(chosen_device) for k, v in state.items()}
    if not assign_exact(model, state):
        try:  # explains what does not fit
            load_weights(model, state, assign=True, adapt=False)
        except WeightsError as err:
            raise WeightsError(f"{where}: {err}") from None
    if num_classes is not None and num_classes != config.num_classes:
        model.reset_classifier(num_classes)
        warnings.warn(
            f"{where}: the classifier was re-initialised for {num_classes} classes "
            f"(the saved one has {config.num_classes})",
            stacklevel=2,
        )
    if in_chans is not None and in_chans != config.in_chans:
        set_in_chans(model, in_chans)
        warnings.warn(
            f"{where}: the first conv was adapted from {config.in_chans} to {in_chans} input "
            "channels",
            stacklevel=2,
        )
    saved = data.get("pretrained_cfg")
    model.pretrained_cfg = dict(saved) if isinstance(saved, dict) else {}
    c = model.config  # after any num_classes / in_chans change
    model.pretrained_cfg |= {
        "architecture": data.get("zoo_name") or CUSTOM,
        "source": where,
        **model_cfg(c),
    }
    model.pretrained_cfg |= class_labels(data, c.num_classes)  # top-level in config.json
    if isinstance(data.get("weights_digest"), str):  # published weights, as saved
        model.pretrained_cfg["weights_digest"] = data["weights_digest"]
    return model

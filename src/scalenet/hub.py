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
import re
import warnings
from pathlib import Path

import torch

from . import _safetensors
from ._atomic import committed_file
from ._fetch import _download, download
from ._skeleton import skeleton
from .errors import ConfigError, WeightsError, first_line
from .models.base import ScaleNetModel
from .saving import (
    CONFIG_NAME,
    CUSTOM,
    DIGEST_KEY,
    WEIGHTS_NAME,
    config_digest,
    hub_config,
    push_to_hub,
    read_config,
    save_pretrained,
)
from .sizes import model_cfg
from .weights import assign_exact, conform, load_weights, read_state_dict, set_in_chans

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "check_repo_id",
    "check_revision",
    "download",
    "from_pretrained",
    "hub_config",
    "push_to_hub",
    "save_pretrained",
]

#: The dtypes a model loads in, by name (``dtype="bfloat16"`` works as ``torch.bfloat16``).
DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}
# git check-ref-format: no control characters, space, ~ ^ : ? * [ or backslash in a ref name.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def check_revision(revision: str | None) -> None:
    """Raise :class:`WeightsError` unless ``revision`` is ``None`` or a valid git ref name.

    The rules are git's (``git check-ref-format --allow-onelevel``): branches such as
    ``main`` or ``refs/pr/1``, tags and commit hashes pass (a leading ``-`` does not, as for
    ``git branch``); anything with ``..``, a component
    starting with ``.``, a leading or doubled ``/`` or a control character does not, so no
    revision can name a file outside the Hub cache.

    Examples:
        >>> check_revision("refs/pr/1")
        >>> check_revision("../../etc/passwd")
        Traceback (most recent call last):
        ...
        scalenet.errors.WeightsError: revision='../../etc/passwd' is not a valid git ref name...
    """
    if revision is None:
        return
    parts = revision.split("/") if isinstance(revision, str) else []
    if (
        not isinstance(revision, str)
        or not revision
        or _REF_FORBIDDEN.search(revision)
        or ".." in revision
        or "@{" in revision
        or revision == "@"
        or revision.startswith("-")  # read as an option by git (git branch refuses it too)
        or revision.endswith(".")
        or any(not c or c.startswith(".") or c.endswith(".lock") for c in parts)
    ):
        raise WeightsError(
            f"revision={revision!r} is not a valid git ref name (a branch, tag or commit hash "
            "such as 'main', 'v1.0' or 'refs/pr/1'; see git check-ref-format)"
        )


def check_repo_id(repo_id: str) -> None:
    """Raise :class:`WeightsError` unless ``repo_id`` is a Hub repository id, ``"org/name"``.

    Examples:
        >>> check_repo_id("scalenet/resnet20-cifar10")
        >>> check_repo_id("../x")
        Traceback (most recent call last):
        ...
        scalenet.errors.WeightsError: '../x' is not a Hub repository id ...
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

    reason = "it needs the form 'org/name'"
    if isinstance(repo_id, str) and repo_id.count("/") == 1:
        try:
            validate_repo_id(repo_id)
            return
        except HFValidationError as err:
            reason = first_line(err)
    raise WeightsError(f"{repo_id!r} is not a Hub repository id ({reason})")


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
    if local.is_dir():
        return local
    if local.exists():
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


def _device(device: str | torch.device | None) -> torch.device:
    try:
        chosen = torch.device("cpu" if device is None else device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError("device", device, "a torch device such as 'cpu' or 'cuda:0'") from None
    try:
        torch.empty(0, device=chosen)
    except (RuntimeError, AssertionError) as err:
        raise WeightsError(f"device={device!r} is not available here ({first_line(err)})") from None
    return chosen


def from_pretrained(
    repo_id_or_dir: str | os.PathLike[str],
    *,
    revision: str | None = None,
    num_classes: int | None = None,
    in_chans: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
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
    """
    source = _locate(repo_id_or_dir)
    check_revision(revision)
    chosen_dtype, chosen_device = _dtype(dtype), _device(device)
    if isinstance(source, Path):
        config_path = committed_file(source, CONFIG_NAME)
        if not config_path.is_file():
            raise WeightsError(f"{source} has no {CONFIG_NAME}")
        where = str(source)
    else:
        try:
            config_path, hub = _download(source, CONFIG_NAME, revision)
        except WeightsError as err:  # "org/name" could have been meant as a folder
            folder = Path(source).expanduser().resolve()
            raise WeightsError(f"no folder {folder}; as a Hub repository id: {err}") from None
        where = source
    try:
        config, data = read_config(config_path)
        changes = {"num_classes": num_classes, "in_chans": in_chans}
        config.replace(**{k: v for k, v in changes.items() if v is not None})  # validates them
        model = skeleton(config)  # checks MAX_PARAMS, allocates nothing
    except ConfigError as err:
        hint = f"{err.hint}; in {where}" if err.hint else f"in {where}"
        raise ConfigError(err.field, err.value, err.allowed, hint) from None
    if isinstance(source, Path):
        weights_path = committed_file(source, WEIGHTS_NAME)
    else:
        weights_path = _download(source, WEIGHTS_NAME, revision, found=True, hub=hub)[0]
    try:
        state = conform(read_state_dict(weights_path), model.state_dict(), chosen_dtype)
        digest = _safetensors.read_metadata(weights_path).get(DIGEST_KEY)
    except WeightsError as err:
        raise WeightsError(f"{where}: {err}") from None
    if digest is not None and digest != config_digest(data):
        raise WeightsError(
            f"{where}: {CONFIG_NAME} is not the one {WEIGHTS_NAME} was saved with (it was "
            "edited or damaged, or the two files come from different saves); save the model "
            "again, or load the weights with scalenet.load_weights"
        )
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
    return model

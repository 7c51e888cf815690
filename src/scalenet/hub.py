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

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from . import _safetensors
from ._skeleton import skeleton
from ._version import __version__
from .card import model_card
from .config import ResNetConfig, SimpleCNNConfig, config_from_dict
from .counting import count_params
from .errors import ConfigError, WeightsError
from .models.base import ScaleNetModel
from .weights import assign_exact, load_weights, read_state_dict, set_in_chans
from .zoo import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "CONFIG_NAME",
    "MAX_PARAMS",
    "WEIGHTS_NAME",
    "from_pretrained",
    "hub_config",
    "push_to_hub",
    "save_pretrained",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
#: Largest model a config.json may ask for; checked analytically before anything is allocated.
MAX_PARAMS = 2_000_000_000

Config = ResNetConfig | SimpleCNNConfig
CUSTOM = "scalenet_custom"  # the generic timm architecture (see timm_compat)


def hub_config(model: ScaleNetModel) -> dict[str, Any]:
    """The ``config.json`` of ``model``: timm's keys plus the full scalenet config.

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.hub.hub_config(scalenet.create("resnet20_cifar"))
        >>> cfg["architecture"], cfg["model_args"]["depths"]
        ('scalenet_custom', [3, 3, 3])
    """
    c = model.config
    source = dict(model.pretrained_cfg)
    pretrained_cfg = {
        "num_classes": c.num_classes,
        "input_size": (c.in_chans, c.input_size, c.input_size),
        "interpolation": source.get("interpolation", "bilinear"),
        "mean": list(source.get("mean", IMAGENET_MEAN)),
        "std": list(source.get("std", IMAGENET_STD)),
        "crop_pct": source.get("crop_pct", 0.875),
        "first_conv": c.first_conv,
        "classifier": "fc",
        "fixed_input_size": bool(model.fixed_input_size),
    }
    for key in ("pool_size", "license", "paper_ids", "description"):
        if source.get(key) is not None:
            pretrained_cfg[key] = list(source[key]) if key == "pool_size" else source[key]
    return {
        "architecture": CUSTOM,
        "num_classes": c.num_classes,
        "num_features": model.num_features,
        "pretrained_cfg": pretrained_cfg,
        "model_args": c.to_dict(),
        "scalenet_version": __version__,
        "zoo_name": source.get("architecture"),
    }


def save_pretrained(
    model: ScaleNetModel,
    save_directory: str | Path,
    *,
    metrics: Mapping[str, float] | None = None,
    training: Mapping[str, Any] | None = None,
    license: str | None = None,
) -> Path:
    """Write ``model.safetensors``, ``config.json`` and ``README.md`` into ``save_directory``.

    The files are written into a temporary directory beside the target first; a new directory
    is then renamed into place in one step, and into an existing one each file is moved with an
    atomic rename. An interrupted save leaves no half-written file behind. Other files in an
    existing directory are kept.

    Args:
        model: the model.
        save_directory: where to write.
        metrics: e.g. ``{"top1": 91.7}``, shown in the model card.
        training: the recipe (epochs, optimizer, lr...), shown in the model card.
        license: the card's licence (default: the zoo entry's, else apache-2.0).

    Returns:
        The directory.
    """
    target = Path(save_directory)
    if target.exists() and not target.is_dir():
        raise WeightsError(f"cannot save into {target}: it is a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _safetensors.save_file(
            model.state_dict(),
            staging / WEIGHTS_NAME,
            metadata={"format": "pt", "scalenet": __version__},
        )
        (staging / CONFIG_NAME).write_text(json.dumps(hub_config(model), indent=2) + "\n")
        card = model_card(model, metrics=metrics, training=training, license=license)
        (staging / CARD_NAME).write_text(card)
        if not target.exists():
            staging.rename(target)
        else:
            for name in (WEIGHTS_NAME, CARD_NAME, CONFIG_NAME):
                os.replace(staging / name, target / name)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _parse_config(data: object, where: str) -> Config:
    if not isinstance(data, Mapping):
        raise ConfigError("config.json", type(data).__name__, "a JSON object")
    args = data.get("model_args")
    if not isinstance(args, Mapping):
        raise ConfigError(
            "model_args", args, f"a JSON object with the full scalenet config (in {where})"
        )
    config = config_from_dict(args)
    params = count_params(config)
    if params > MAX_PARAMS:
        raise ConfigError(
            "model_args",
            f"{params:,} parameters",
            f"at most {MAX_PARAMS:,} parameters (scalenet.hub.MAX_PARAMS)",
            f"{where} describes a model too large to build",
        )
    return config


def _read_config(path: Path) -> tuple[Config, dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError("config.json", str(path), f"valid JSON ({err})") from None
    return _parse_config(data, str(path)), data


def _download(repo_id: str, filename: str, revision: str | None, *, found: bool = False) -> Path:
    """``hf_hub_download`` with scalenet's errors; ``found``: the repo itself is known to exist."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision))
    except LocalEntryNotFoundError:  # (a subclass of EntryNotFoundError: first)
        raise WeightsError(
            f"{filename} of {repo_id} is not in the local cache, and the Hub cannot be reached "
            "(HF_HUB_OFFLINE is set, or there is no connection)"
        ) from None
    except EntryNotFoundError:
        raise WeightsError(f"{repo_id} has no {filename}") from None
    except RevisionNotFoundError:
        raise WeightsError(f"{repo_id} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        if found:  # some servers answer a missing file like a missing repository
            raise WeightsError(f"{repo_id} has no {filename} (or it is not accessible)") from None
        raise WeightsError(f"no repository {repo_id!r} on the Hub (or no access to it)") from None


def from_pretrained(
    repo_id_or_dir: str | Path,
    *,
    revision: str | None = None,
    num_classes: int | None = None,
    in_chans: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> ScaleNetModel:
    """Load a model saved by :func:`save_pretrained`, from a directory or a Hub repository.

    ``config.json`` is validated (fields, and an analytic parameter count against
    :data:`MAX_PARAMS`) before the weights are even downloaded. The module tree is built on the
    meta device with no initialiser run, and the weights file is mapped into memory (privately:
    training never writes to it) and used as the model's tensors without a copy; files written
    by :func:`save_pretrained` keep the tensors 64-byte aligned, so the loaded model reproduces
    the saved one's outputs bit for bit. As with ``safetensors.torch.load_file``, do not
    truncate or rewrite the file in place while the model lives (replacing it is fine).

    Args:
        repo_id_or_dir: a local directory, or ``"org/repo"`` on the Hub (``HF_ENDPOINT``,
            ``HF_HUB_OFFLINE`` and the cache are huggingface_hub's).
        revision: a branch, tag or commit of the Hub repository.
        num_classes: a new classifier size (the head is re-initialised, with a warning).
        in_chans: a new input channel count (the first conv is adapted, with a warning).
        device: where to put the weights (default CPU).
        dtype: cast floating-point weights to this dtype.

    Raises:
        ConfigError: config.json is invalid or describes too large a model.
        WeightsError: missing files, a damaged weights file, or weights that do not fit.
    """
    local = Path(repo_id_or_dir)
    if local.is_dir():
        config_path, where = local / CONFIG_NAME, str(local)
        if not config_path.is_file():
            raise WeightsError(f"{local} has no {CONFIG_NAME}")
        config, data = _read_config(config_path)
        weights_path = local / WEIGHTS_NAME
    else:
        repo_id = str(repo_id_or_dir)
        config, data = _read_config(_download(repo_id, CONFIG_NAME, revision))
        weights_path = _download(repo_id, WEIGHTS_NAME, revision, found=True)
        where = repo_id
    state = read_state_dict(weights_path, device=device or "cpu")
    model = skeleton(config)
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
    if dtype is not None:
        model = model.to(dtype)
    saved = data.get("pretrained_cfg")
    model.pretrained_cfg = dict(saved) if isinstance(saved, Mapping) else {}
    c = model.config  # after any num_classes / in_chans change
    model.pretrained_cfg |= {
        "architecture": data.get("zoo_name") or CUSTOM,
        "source": where,
        "num_classes": c.num_classes,
        "input_size": (c.in_chans, c.input_size, c.input_size),
    }
    return model


def push_to_hub(
    model: ScaleNetModel,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload scalenet model",
    revision: str | None = None,
    metrics: Mapping[str, float] | None = None,
    training: Mapping[str, Any] | None = None,
) -> str:
    """Save ``model`` into a temporary directory and upload it as one commit; returns its URL.

    Built on ``huggingface_hub.HfApi`` (``create_repo`` with ``exist_ok``, then
    ``upload_folder``). Nothing local is written outside the temporary directory, so a failed
    push leaves your files as they were.
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="scalenet-push-") as tmp:
        folder = save_pretrained(model, Path(tmp) / "model", metrics=metrics, training=training)
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message,
            revision=revision,
            repo_type="model",
        )
    return str(getattr(info, "commit_url", info))

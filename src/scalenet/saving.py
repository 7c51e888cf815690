"""Writing a model: config.json, model.safetensors and a model card, into a folder all or nothing.

**The guarantee.** However a save into ``DIR`` ends (an exception, a full disk, ``kill -9``, a
power cut), ``DIR`` afterwards holds either the complete previous model or the complete new
one, and :func:`scalenet.from_pretrained` loads exactly that one. Other files in ``DIR`` are
left alone, and nothing is written outside ``DIR``.

**How.** The files are written and synced into a staging folder inside ``DIR``, one rename
commits them, and they are then renamed into place; :func:`scalenet.from_pretrained` follows
a commit that was cut off before its files were in place, and the next save finishes it and
removes what killed saves left (see ``scalenet._atomic`` and docs/hub.md). New files and
folders get the usual permissions (the umask's).

Examples:
    >>> import tempfile, scalenet
    >>> from scalenet.saving import save_pretrained
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = save_pretrained(scalenet.create("resnet20_cifar"), tmp + "/r20")
    ...     sorted(p.name for p in folder.iterdir())
    ['README.md', 'config.json', 'model.safetensors']
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _safetensors
from ._atomic import write_folder
from ._version import __version__
from .card import model_card
from .config import IMAGENET_MEAN, IMAGENET_STD, ResNetConfig, SimpleCNNConfig, config_from_dict
from .errors import ConfigError, WeightsError, first_line
from .plan import count_params
from .sizes import model_cfg

if TYPE_CHECKING:
    from .models.base import ScaleNetModel

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "CUSTOM",
    "WEIGHTS_NAME",
    "config_digest",
    "hub_config",
    "push_to_hub",
    "read_config",
    "save_pretrained",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
CUSTOM = "scalenet_custom"  # the generic timm architecture (see timm_compat)

#: The weights file's metadata entry holding :func:`config_digest` of its config.json.
DIGEST_KEY = "scalenet_config_sha256"
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


def read_config(path: str | Path) -> tuple[ResNetConfig | SimpleCNNConfig, dict[str, Any]]:
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
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError(CONFIG_NAME, str(path), f"a readable file ({err.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(CONFIG_NAME, str(path), f"a file of at most {MAX_CONFIG_BYTES:,} bytes")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ConfigError(
            CONFIG_NAME, str(path), f"UTF-8 text, as JSON files are (byte {err.start} is not)"
        ) from None
    except RecursionError:
        raise ConfigError(
            CONFIG_NAME, str(path), "JSON nested less than 1,000 levels deep"
        ) from None
    except ValueError as err:  # JSONDecodeError, and integers of over 4,300 digits
        raise ConfigError(CONFIG_NAME, str(path), f"valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(CONFIG_NAME, type(data).__name__, f"a JSON object (in {path})")
    args = data.get("model_args", data)
    if not isinstance(args, dict) or "family" not in args:
        raise ConfigError(
            CONFIG_NAME,
            str(path),
            "a scalenet config: a saved model's config.json (the config under 'model_args'), "
            "or config.to_dict() (with 'family')",
        )
    try:
        return config_from_dict(args), data
    except RecursionError:  # deep nesting inside a field, reported on validation
        raise ConfigError(CONFIG_NAME, str(path), "a config of plain values") from None


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


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
        **model_cfg(c),
        "interpolation": source.get("interpolation", "bilinear"),
        "mean": list(source.get("mean", IMAGENET_MEAN)),
        "std": list(source.get("std", IMAGENET_STD)),
        "crop_pct": source.get("crop_pct", 0.875),
    }
    for key in ("license", "paper_ids", "description"):
        if source.get(key) is not None:
            pretrained_cfg[key] = source[key]
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

    All or nothing (see :mod:`scalenet.saving`): an interrupted save leaves the previous model,
    complete, and the next save cleans up after it. Other files in the directory are kept.

    Args:
        model: the model.
        save_directory: where to write (created if needed).
        metrics: e.g. ``{"top1": 91.7}``, shown in the model card.
        training: the recipe (epochs, optimizer, lr...), shown in the model card.
        license: the card's licence (default: the zoo entry's, else apache-2.0).

    Returns:
        The directory.

    Raises:
        WeightsError: the directory cannot be created or written, or the model no longer
            matches its config (its layers were changed after it was built, e.g. by
            ``prune_intermediate_layers``); the directory is left as it was.
    """
    built = count_params(model.config)
    held = sum(p.numel() for p in model.parameters())
    if held != built:
        raise WeightsError(
            f"the model holds {held:,} parameters but its config builds {built:,}: its layers "
            "were changed after it was built (prune_intermediate_layers, a replaced module...), "
            "so config.json could not rebuild it; save model.state_dict() with "
            "safetensors.torch.save_file instead"
        )
    config_text = json.dumps(hub_config(model), indent=2) + "\n"
    card = model_card(model, metrics=metrics, training=training, license=license)
    state = model.state_dict()
    digest = config_digest(json.loads(config_text))  # of the config as a reader will parse it
    metadata = {"format": "pt", "scalenet": __version__, DIGEST_KEY: digest}
    return write_folder(
        save_directory,
        {
            WEIGHTS_NAME: lambda path: _safetensors.save_file(state, path, metadata=metadata),
            CARD_NAME: lambda path: _write_text(path, card),
            CONFIG_NAME: lambda path: _write_text(path, config_text),
        },
    )


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
    ``upload_folder``), so the endpoint (``HF_ENDPOINT``) and the token (``token``, else
    ``HF_TOKEN`` or the one ``hf auth login`` stored) are huggingface_hub's. Nothing local is
    written outside the temporary directory, so a failed push leaves your files as they were.

    Raises:
        WeightsError: the Hub cannot be reached (no network, a wrong ``HF_ENDPOINT``, a
            proxy or firewall): the message names the endpoint and what to check. Errors the
            Hub answers with (no access, a bad token) are huggingface_hub's ``HfHubHTTPError``.

    Examples:
        (Not run as a doctest: it needs the Hub and a write token.) ::

            url = scalenet.create("resnet20_cifar").push_to_hub("my-org/resnet20-cifar10")
    """
    from huggingface_hub import HfApi, constants

    from ._fetch import _no_answer

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="scalenet-push-") as tmp:
        folder = save_pretrained(model, Path(tmp) / "model", metrics=metrics, training=training)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                commit_message=commit_message,
                revision=revision,
                repo_type="model",
            )
        except _no_answer() as err:
            why = f"{type(err).__name__}: {first_line(err)}"
            raise WeightsError(
                f"could not push to {repo_id!r}: the Hub at {constants.ENDPOINT} cannot be "
                f"reached ({why}). Check the network connection (and any proxy), and "
                "HF_ENDPOINT: unset it for huggingface.co, or set it to your Hub's address; "
                "pushing also needs a token with write access (token=..., HF_TOKEN, or "
                "`hf auth login`)"
            ) from None
    return str(getattr(info, "commit_url", info))

"""Writing a model: model.safetensors, config.json and a model card, with one commit point.

**The guarantee.** However a save into ``DIR`` ends (an exception, a full disk, ``kill -9``, a
power cut), :func:`scalenet.from_pretrained` afterwards loads exactly the previous model or the
new one, and so does every other reader of ``DIR`` (timm's ``local-dir:``, an upload to the
Hub), or it raises: none loads a config of one save with weights of another. A save follows no
symlink inside ``DIR`` and replaces, moves or deletes nothing it did not write, beyond the
three files it is asked to write; other files in ``DIR`` are left alone.

**How.** ``model.safetensors`` is the commit point: written to a temporary file in ``DIR`` and
renamed over the old one (see ``scalenet.io.atomic``). Its metadata holds the full text of
``config.json`` (:data:`CONFIG_KEY`), its digest (:data:`DIGEST_KEY`), the digest of the
``config.json`` it replaces (:data:`PREVIOUS_KEY`) and the files committed with it
(:data:`COMPANIONS_KEY`). ``config.json`` and ``README.md`` are views of it, renamed into
place after the commit; a kill between the renames leaves the previous ``config.json``, which
:func:`scalenet.from_pretrained` recognises (it loads the new model) and timm refuses (see
``scalenet.integrations.timm_compat``), and which the next save replaces. New files and folders get
the usual permissions (the umask's). docs/hub.md describes what each reader sees after a kill.

Examples:
    >>> import tempfile, scalenet
    >>> from scalenet.hub.save import save_pretrained
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = save_pretrained(scalenet.create("resnet20_cifar"), tmp + "/r20")
    ...     sorted(p.name for p in folder.iterdir())
    ['README.md', 'config.json', 'model.safetensors']
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..config import IMAGENET_MEAN, IMAGENET_STD
from ..errors import (
    ConfigError,
    ConfigTypeError,
    WeightsError,
    check_mapping,
    check_path,
    check_type,
    first_line,
)
from ..io.atomic import Save, companion_name
from ..io.folder import (
    CARD_NAME,
    COMPANIONS_KEY,
    CONFIG_KEY,
    CONFIG_NAME,
    CUSTOM,
    DIGEST_KEY,
    MAX_CONFIG_BYTES,
    PREVIOUS_KEY,
    WEIGHTS_NAME,
    config_digest,
    read_config,
)
from ..spec.plan import count_params
from ..spec.sizes import model_cfg
from ..weights.labels import check_label_names

if TYPE_CHECKING:
    from ..nn.base import ScaleNetModel

__all__ = [
    "CARD_NAME",
    "COMPANIONS_KEY",
    "CONFIG_KEY",
    "CONFIG_NAME",
    "CUSTOM",
    "DIGEST_KEY",
    "PREVIOUS_KEY",
    "WEIGHTS_NAME",
    "check_license",
    "class_labels",
    "config_digest",
    "hub_config",
    "push_to_hub",
    "read_config",
    "save_pretrained",
]


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def _previous_digest(raw: bytes | None) -> str:
    """:func:`config_digest` of the config.json a folder holds ("" if none, "?" if unreadable)."""
    if raw is None:
        return ""
    try:
        return config_digest(json.loads(raw.decode("utf-8-sig")))
    except (ValueError, RecursionError, TypeError):
        return "?"


def hub_config(
    model: ScaleNetModel, label_names: Sequence[str] | None = None, license: str | None = None
) -> dict[str, Any]:
    """The ``config.json`` of ``model``: timm's keys plus the full scalenet config.

    As timm writes it: ``num_classes`` at the top level (and not again in ``model_args``, which
    timm and transformers pass to the model's entrypoint beside their own ``num_classes``), the
    class names as ``label_names`` (and ``label_descriptions``, ImageNet's words for its
    synsets) where the model has them: ``label_names`` given here, else its pretrained cfg's
    (those of the data set of its zoo entry or weights, or of a loaded folder) while they
    still count one per class. ``license``: the weights' licence, recorded in the pretrained
    cfg (else the one it holds, if any).

    Raises:
        ConfigError: ``label_names`` are not one unique name per class, or ``license`` is
            not a licence (:func:`check_license`).

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.hub.load.hub_config(scalenet.create("resnet20_cifar"))
        >>> cfg["architecture"], cfg["model_args"]["depths"], cfg["label_names"][:2]
        ('scalenet_custom', [3, 3, 3], ['airplane', 'automobile'])
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
    # timm's fields naming the weights (tag, origin) and their licence: a model loaded from
    # the folder names the same weights (its model card says where they come from; with the
    # digest of published weights, beside timm's keys, it quotes their accuracy while they are
    # unchanged).
    for key in ("tag", "origin_url", "license", "paper_ids", "description"):
        if source.get(key) is not None:
            pretrained_cfg[key] = source[key]
    if license is not None:  # the licence given to the weights saved: a reload keeps it
        pretrained_cfg["license"] = check_license(license)
    model_args = c.to_dict()
    del model_args["num_classes"]  # the top-level key's (timm's place)
    return {
        "architecture": CUSTOM,
        "num_classes": c.num_classes,
        "num_features": model.num_features,
        **class_labels(source, c.num_classes, label_names),
        "pretrained_cfg": pretrained_cfg,
        "model_args": model_args,
        "scalenet_version": __version__,
        "zoo_name": source.get("architecture"),
        **({"weights_digest": source["weights_digest"]} if source.get("weights_digest") else {}),
    }


def check_arguments(
    model: object, metrics: object, training: object, companions: object = None
) -> None:
    """The arguments of a save or push that are checked before anything is written or sent:
    a scalenet model, and mappings (or ``None``) for the card's tables and the companions.
    Raises :class:`~scalenet.ConfigTypeError` naming the argument."""
    from ..nn.base import check_model  # torch: not for what only reads or lists files

    check_model("model", model)
    for name, value, allowed in (
        ("metrics", metrics, "a dict of metric names to values, such as {'top1': 91.7}"),
        ("training", training, "a dict of settings, such as {'epochs': 160, 'lr': 0.1}"),
    ):
        if value is not None:
            check_mapping(name, value, allowed)
    if companions is None:
        return
    allowed = "a dict of file names to bytes, such as {'state.bin': b'...'}"
    for key, data in check_mapping("companions", companions, allowed).items():
        if not isinstance(key, str) or not isinstance(data, bytes | bytearray | memoryview):
            raise ConfigTypeError("companions", {key: type(data).__name__}, allowed)


def check_license(license: object) -> str:
    """``license`` if it names a licence: a non-empty string without line breaks (a Hub
    licence id such as ``"mit"``, or a name, which the model card writes as ``other``); else a
    :class:`~scalenet.ConfigError` naming the argument.

    Examples:
        >>> check_license("cc-by-4.0")
        'cc-by-4.0'
        >>> check_license("")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: license='' is not allowed: a licence id such as 'mit' or ...
    """
    allowed = (
        "a licence id such as 'mit' or 'cc-by-4.0' (https://huggingface.co/docs/hub/"
        "repositories-licenses), or the licence's name, on one line"
    )
    check_type("license", license, str, allowed)
    assert isinstance(license, str)
    if not license.strip() or not license.isprintable():
        raise ConfigError("license", license, allowed)
    return license


def class_labels(
    cfg: Mapping[str, Any], num_classes: int, given: Sequence[str] | None = None
) -> dict[str, Any]:
    """The class names for a model of ``num_classes`` classes, as timm's keys: ``given``
    (checked: one unique name per class), else ``cfg``'s ``label_names`` (and
    ``label_descriptions``) while they are that (a new head, or a damaged file, has none).

    Examples:
        >>> class_labels({"label_names": ["cat", "dog"]}, 2)
        {'label_names': ['cat', 'dog']}
        >>> class_labels({"label_names": ["cat", "dog"]}, 5)
        {}
    """
    if given is not None:
        return {"label_names": check_label_names(given, num_classes, "label_names")}
    try:
        names = check_label_names(cfg.get("label_names", ()), num_classes, "label_names")
    except ConfigError:
        return {}
    labels: dict[str, Any] = {"label_names": names}
    descriptions = cfg.get("label_descriptions")
    if isinstance(descriptions, dict) and descriptions:
        labels["label_descriptions"] = dict(descriptions)
    return labels


def save_pretrained(
    model: ScaleNetModel,
    save_directory: str | Path,
    *,
    metrics: Mapping[str, float] | None = None,
    training: Mapping[str, Any] | None = None,
    license: str | None = None,
    companions: Mapping[str, bytes] | None = None,
    label_names: Sequence[str] | None = None,
) -> Path:
    """Write ``model.safetensors``, ``config.json`` and ``README.md`` into ``save_directory``.

    One commit point (see :mod:`scalenet.hub.save`): an interrupted save leaves the previous
    model for every reader, and the next save cleans up after it. Other files in the
    directory are kept.

    Args:
        model: the model.
        save_directory: where to write (created if needed).
        metrics: e.g. ``{"top1": 91.7}``, shown in the model card.
        training: the recipe (epochs, optimizer, lr...), shown in the model card.
        license: the licence of the weights saved, in the model card and ``config.json``
            (a Hub licence id such as ``"mit"`` or ``"cc-by-4.0"``, or a name). Default: the
            one the model's ``pretrained_cfg`` records (published weights' licence, or the one
            given when the folder it was loaded from was saved), else none: scalenet does not
            license the weights you trained for you.
        companions: files committed together with the weights, such as a training state:
            ``{"NAME.EXT": content}``. Each is stored as ``NAME.<sha256>.EXT`` and recorded in
            the weights file, so the weights always name their own; read them back with
            :func:`scalenet.hub.load.read_checkpoint`. The files of the previous save are removed.
        label_names: the class names, one unique name per class in label order (default: the
            model's, see :func:`hub_config`); written to ``config.json`` as timm does, where
            timm and transformers' pipelines read them.

    Returns:
        The directory.

    Raises:
        WeightsError: the directory cannot be created or written, another save into it is
            running, it holds entries with names scalenet reserves that it did not make, or
            the model no longer matches its config (its layers were changed after it was
            built, e.g. by ``prune_intermediate_layers``); the previous model is left as it was.

    Examples:
        >>> import tempfile, scalenet
        >>> from scalenet.hub.load import read_checkpoint
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = save_pretrained(scalenet.create("resnet20_cifar"), tmp,
        ...                         companions={"notes.txt": b"epoch 3"})
        ...     read_checkpoint(tmp)[1]
        {'notes.txt': b'epoch 3'}
    """
    check_arguments(model, metrics, training, companions)
    directory = Path(check_path("save_directory", save_directory))
    built = count_params(model.config)
    held = sum(p.numel() for p in model.parameters())
    if held != built:
        raise WeightsError(
            f"the model holds {held:,} parameters but its config builds {built:,}: its layers "
            "were changed after it was built (prune_intermediate_layers, a replaced module...), "
            "so config.json could not rebuild it; save model.state_dict() with "
            "safetensors.torch.save_file instead"
        )
    from ..io import (
        safetensors as _safetensors,  # safetensors and huggingface_hub: imported when first saving
    )
    from .card import model_card

    config_text = json.dumps(hub_config(model, label_names, license), indent=2) + "\n"
    card = model_card(model, metrics=metrics, training=training, license=license)
    state = model.state_dict()
    digest = config_digest(json.loads(config_text))  # of the config as a reader will parse it
    files = {name: companion_name(name, data) for name, data in (companions or {}).items()}
    with Save(directory, targets=(WEIGHTS_NAME, CONFIG_NAME, CARD_NAME)) as save:
        previous = _previous_digest(save.read(CONFIG_NAME, MAX_CONFIG_BYTES + 1))
        for name, data in (companions or {}).items():
            save.add_companion(files[name], data)
        metadata = {
            "format": "pt",
            "scalenet": __version__,
            DIGEST_KEY: digest,
            CONFIG_KEY: config_text,
            PREVIOUS_KEY: previous,
            COMPANIONS_KEY: json.dumps(files, sort_keys=True),
        }
        save.commit(
            WEIGHTS_NAME, lambda path: _safetensors.save_file(state, path, metadata=metadata)
        )
        save.replace(CONFIG_NAME, lambda path: _write_text(path, config_text))
        save.replace(CARD_NAME, lambda path: _write_text(path, card))
        save.remove_unreferenced(keep=set(files.values()))
    return directory


def push_to_hub(
    model: ScaleNetModel,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | bool | None = None,
    commit_message: str = "Upload scalenet model",
    commit_description: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    metrics: Mapping[str, float] | None = None,
    training: Mapping[str, Any] | None = None,
    label_names: Sequence[str] | None = None,
    license: str | None = None,
) -> str:
    """Save ``model`` into a temporary directory and upload it as one commit; returns its URL.

    Built on ``huggingface_hub.HfApi`` (``create_repo`` with ``exist_ok``, ``create_branch``
    for a new ``revision``, then ``upload_folder``), so the endpoint (``HF_ENDPOINT``) and the
    token (``token``, else ``HF_TOKEN`` or the one ``hf auth login`` stored) are
    huggingface_hub's, and the arguments are those ``ModelHubMixin.push_to_hub`` takes.
    Nothing local is written outside the temporary directory, so a failed push leaves your
    files as they were.

    Args:
        model: the model to upload.
        repo_id: ``"org/name"``; created if it does not exist.
        private: make a new repository private (``True``) or public (``False``); ``None``:
            the Hub's default (public, unless the organisation's default is private). An
            existing repository keeps its visibility.
        token: a Hub token with write access (default: ``HF_TOKEN`` or the stored one).
        commit_message: the commit's title.
        commit_description: the commit's body.
        revision: the branch to commit to (default: the main branch); created from the
            default branch if it does not exist. ``refs/pr/N`` adds to an open pull request.
        create_pr: open a pull request with the commit instead of committing to the branch;
            the URL returned is then the pull request's.
        metrics: shown in the model card (see :func:`save_pretrained`).
        training: shown in the model card (see :func:`save_pretrained`).
        label_names: the class names (see :func:`save_pretrained`).
        license: the weights' licence (see :func:`save_pretrained`).

    Returns:
        The commit's URL, or the pull request's with ``create_pr=True``.

    Raises:
        WeightsError: the Hub cannot be reached (no network, a wrong ``HF_ENDPOINT``, a
            proxy or firewall): the message names the endpoint and what to check; a
            malformed ``repo_id`` or ``revision`` (before any request). Errors the Hub
            answers with (no access, a bad token) are huggingface_hub's ``HfHubHTTPError``.
        ConfigError: ``create_pr=True`` with a ``revision`` other than the main branch.

    Examples:
        (Not run as a doctest: it needs the Hub and a write token.) ::

            url = scalenet.create("resnet20_cifar").push_to_hub("my-org/resnet20-cifar10")
            model.push_to_hub("my-org/resnet20-cifar10", revision="retrained",
                              commit_message="Retrain with mixup", private=True)
            pr_url = model.push_to_hub("their-org/resnet20-cifar10", create_pr=True)
    """
    from huggingface_hub import HfApi, constants

    from .fetch import _no_answer, check_repo_id, check_revision

    check_arguments(model, metrics, training)
    check_repo_id(repo_id)
    check_revision(revision)
    if create_pr and revision not in (None, "main"):
        raise ConfigError(
            "revision", revision, "None or 'main' with create_pr=True",
            "a pull request is opened against the main branch",
        )  # fmt: skip
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="scalenet-push-") as tmp:
        folder = save_pretrained(
            model,
            Path(tmp) / "model",
            metrics=metrics,
            training=training,
            label_names=label_names,
            license=license,
        )
        try:
            api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            if revision not in (None, "main") and not revision.startswith("refs/pr/"):
                api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                commit_message=commit_message,
                commit_description=commit_description,
                revision=revision,
                create_pr=create_pr,
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
    if create_pr and getattr(info, "pr_url", None):
        return str(info.pr_url)
    return str(getattr(info, "commit_url", info))

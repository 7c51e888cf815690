"""Builds scalenet models for timm's entrypoints, and computes what timm's registry holds.

:mod:`scalenet.integrations.timm_compat` registers the names with timm from data; each entrypoint
calls :func:`build` here, which builds the model through timm's ``build_model_with_cfg`` (pretrained
cfg, ``features_only``, weights). :func:`registry` computes that data from the zoo and the
weights catalogue; ``python -m scalenet.integrations.timm_build`` writes it to
``timm_registry.json``.

Examples:
    >>> from scalenet.integrations.timm_build import registry
    >>> registry()["scalenet_w80"]["cfgs"]["scalenet_w80"]["pool_size"]
    (7, 7)
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import safetensors
import torch
from timm.models import build_model_with_cfg

from .. import nn as models
from ..config import Config, ResNetConfig, SimpleCNNConfig, config_from_dict
from ..errors import ConfigError, WeightsError
from ..hub.save import CONFIG_KEY, CONFIG_NAME, CUSTOM, WEIGHTS_NAME
from ..io import safetensors as _safetensors
from ..io.folder import parse_config, saved_fields
from ..nn import ScaleNetModel
from ..weights.catalog import HubFile, Layout, Weights, get_weights
from ..zoo import ZOO, ZooEntry
from ..zoo.lookup import _record_digest
from .timm_registry import REGISTRY_FILE, Registry, to_json

__all__ = ["CUSTOM_ARCHITECTURE", "CUSTOM_DEFAULT", "build", "registry", "write_registry"]

CUSTOM_ARCHITECTURE = CUSTOM  # defined with the Hub layout that names it

#: timm keyword arguments scalenet models do not implement (an explicit error beats ignoring).
_UNSUPPORTED = ("drop_block_rate", "output_stride", "act_layer", "norm_layer")


#: ``timm.create_model("scalenet_custom")`` with no arguments: ``ResNetConfig()``, the
#: ResNet-18 layout at 224 px with 1000 classes; keyword arguments change its fields, and
#: ``family="simple_cnn"`` starts from ``SimpleCNNConfig()`` instead.
CUSTOM_DEFAULT = ZooEntry(
    CUSTOM,
    ResNetConfig(),
    "Any scalenet model: pass config fields (and family='simple_cnn' for a plain CNN) as "
    "keyword arguments; with none, the ResNet-18 layout (scalenet.ResNetConfig())",
    timm_name=CUSTOM,
    dataset=None,
)
#: Every registered name's entry (its metadata: normalisation, crop, licence...).
_ENTRIES: dict[str, ZooEntry] = {e.timm_name: e for e in ZOO.values()}
_ENTRIES[CUSTOM] = CUSTOM_DEFAULT

#: Entries of timm's pretrained cfg that name published weights or their preprocessing.
_WEIGHTS_KEYS = (
    "tag", "hf_hub_id", "url", "origin_url", "test_input_size", "test_crop_pct", "crop_pct",
    "interpolation", "mean", "std", "license",
)  # fmt: skip
#: Entries of timm's pretrained cfg that come from the entry, not from the built config.
_ENTRY_KEYS = ("crop_pct", "interpolation", "mean", "std", "license", "paper_ids", "hf_hub_id")


def _timm_cfg(entry: ZooEntry, weights: Weights | None = None) -> dict[str, Any]:
    # Class names join a model's cfg when it is built (_describe): 1,000 ImageNet names in
    # each registered cfg would be read by every `import timm`.
    cfg = entry.pretrained_cfg(weights, labels=False)
    return {k: v for k, v in cfg.items() if k not in ("architecture", "description", "tag")}


def registry() -> Registry:
    """What :mod:`scalenet.integrations.timm_compat` registers with timm, computed from the zoo and
    the weights catalogue: for each timm name, in registration order, its description and its
    pretrained cfgs, one per ``name.tag`` (the default tag first), or one under the bare name
    for an architecture without published weights (:mod:`scalenet.integrations.timm_registry`).

    Examples:
        >>> data = registry()
        >>> list(data["resnet56_cifar"]["cfgs"])[0]
        'resnet56_cifar.akamaster_cifar10'
        >>> list(data["scalenet_w80"]["cfgs"]), list(data)[-1]
        (['scalenet_w80'], 'scalenet_custom')
    """
    data: Registry = {}
    for name, entry in _ENTRIES.items():
        weights = entry.weights if name != CUSTOM else ()
        cfgs = {f"{name}.{w.tag}": _timm_cfg(entry, w) for w in weights}
        data[name] = {
            "description": entry.description,
            "cfgs": cfgs or {name: _timm_cfg(entry)},
        }
    return data


def write_registry(path: Path = REGISTRY_FILE) -> Path:
    """Write what :func:`registry` computes to ``path`` (``timm_registry.json`` in the package,
    which ``import timm`` reads): run ``python -m scalenet.integrations.timm_build`` after changing
    the zoo or the weights catalogue.

    Examples:
        >>> import tempfile
        >>> from scalenet.integrations.timm_registry import read_registry
        >>> written = write_registry(Path(tempfile.mkdtemp()) / "timm_registry.json")
        >>> read_registry(written.read_text()) == read_registry()  # the package's is current
        True
    """
    path.write_text(to_json(registry()), encoding="utf-8")
    return path


def _tagged(variant: str, pretrained: bool, chosen: object) -> Weights | None:
    """The weights a timm call names: its tag (``pretrained_cfg="tag"``, which timm passes
    for ``"name.tag"``), else the default tag's when ``pretrained``, else none."""
    entry = _ENTRIES[variant]
    tag = chosen if isinstance(chosen, str) else getattr(chosen, "tag", None)
    if isinstance(chosen, dict):
        tag = chosen.get("tag")
    if not entry.weights or (tag is None and not pretrained):
        return None
    return get_weights(entry.name, tag) if tag else entry.weights[0]


def build(variant: str, pretrained: bool = False, **kwargs: Any) -> ScaleNetModel:
    """The model timm's entrypoint ``variant`` builds, through timm's ``build_model_with_cfg``
    (pretrained cfg, ``features_only``, weights), with timm's keyword arguments and any config
    field.

    Examples:
        >>> build("resnet20_cifar", num_classes=5, drop_rate=0.1).config.dropout
        0.1
    """
    entry = _ENTRIES[variant]
    base = None if variant == CUSTOM else entry.config
    for name in _UNSUPPORTED:
        if kwargs.get(name) is not None:
            raise ConfigError(name, kwargs[name], "not set: scalenet models do not implement it")
    passed_to_timm = (
        "pretrained_cfg", "pretrained_cfg_overlay", "cache_dir", "features_only", "out_indices",
        "feature_cls", "pretrained_model_args",
    )  # fmt: skip
    timm_args: dict[str, Any] = {k: kwargs.pop(k) for k in passed_to_timm if k in kwargs}
    # A pretrained cfg given as a dict (timm's hf-hub: and local-dir: models: config.json's,
    # whose class count is its top-level num_classes) sets the class count, as for timm's models.
    if "num_classes" not in kwargs:
        kwargs.update(_classes(timm_args.get("pretrained_cfg")))
    # timm's global_pool is a string; SimpleCNNConfig.global_pool (a bool) is a config field.
    global_pool = kwargs.pop("global_pool") if isinstance(kwargs.get("global_pool"), str) else None
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    if "drop_rate" in kwargs:
        kwargs["dropout"] = kwargs.pop("drop_rate")
    if "drop_path_rate" in kwargs and kwargs["drop_path_rate"] is None:  # timm's "not set"
        del kwargs["drop_path_rate"]

    weights = _tagged(variant, pretrained, timm_args.get("pretrained_cfg"))
    if weights is not None and base is not None:  # the fields the weights need
        base = base.replace(**weights.config_changes())

    def config_of(fields: dict[str, Any]) -> Config:
        fields = dict(fields)
        if "img_size" in fields:  # timm's name for the input size of fixed-size models
            fields["input_size"] = _square(fields.pop("img_size"))
        if base is None:  # scalenet_custom: CUSTOM_DEFAULT's family unless one is given
            return config_from_dict({"family": ResNetConfig.family, **fields})
        return base.replace(**fields)

    def make(**fields: Any) -> ScaleNetModel:
        config = config_of(fields)
        with torch.device(device) if device is not None else contextlib.nullcontext():
            model = models.build(config)
        if dtype is not None:
            model = model.to(dtype)
        if global_pool is not None and global_pool != model.global_pool_type:
            model.reset_classifier(model.num_classes, global_pool)
        return model

    # The feature levels timm's features_only wrapper may pick from: the stem and each ResNet
    # stage, or each conv block (the same count as the built model's feature_info).
    probe = config_of(kwargs)  # the config make() will build (timm adds no structural field)
    # timm fills in num_classes and in_chans from the registered cfg; the config's own win
    # (scalenet_custom's cfg is ResNet-18's, and family="simple_cnn" has 10 classes).
    kwargs.setdefault("num_classes", probe.num_classes)
    kwargs.setdefault("in_chans", probe.in_chans)
    levels = len(probe.depths) + 1 if isinstance(probe, ResNetConfig) else len(probe.channels)
    # Simple CNNs keep their blocks in a Sequential (`features.0`...), which timm's feature
    # wrapper must open; ResNet stages (`layer1`...) are feature modules themselves.
    flatten = isinstance(probe, SimpleCNNConfig)
    catalogued = False
    if pretrained:
        timm_args, catalogued = _fetched(variant, timm_args, weights)
    model: ScaleNetModel = build_model_with_cfg(
        make,
        variant,
        pretrained,
        feature_cfg={"out_indices": tuple(range(levels)), "flatten_sequential": flatten},
        pretrained_filter_fn=_same_commit,
        **timm_args,
        **kwargs,
    )
    overlaid = set(timm_args.get("pretrained_cfg_overlay") or {})
    _describe(model, entry, probe, weights, overlaid)
    if pretrained and catalogued and weights is not None and isinstance(model, ScaleNetModel):
        _record_digest(model, weights)
    return model


def _classes(cfg: object) -> dict[str, Any]:
    """``{"num_classes": n}`` of a pretrained cfg given as a dict that has it, else ``{}``."""
    if isinstance(cfg, dict) and isinstance(cfg.get("num_classes"), int):
        return {"num_classes": cfg["num_classes"]}
    return {}


def _describe(
    model: torch.nn.Module,
    entry: ZooEntry,
    config: Config,
    weights: Weights | None = None,
    overlaid: set[str] | None = None,
) -> None:
    """Make the model's pretrained cfg describe the model built, not the entry's defaults.

    timm sets it from the registered default cfg (as it loads weights by it); input size,
    pool size, first conv and class count must follow the fields the model was built with,
    so that ``timm.data.resolve_data_config({}, model=model)`` gives the right input size.
    Normalisation, crop and licence are the weights' (or what ``pretrained_cfg_overlay`` set);
    a model built with no weights and no tag has the entry's own, as ``scalenet.create``'s
    (timm gave it its default tag's cfg).
    """
    built = model.config if isinstance(model, ScaleNetModel) else config
    cfg = dict(getattr(model, "pretrained_cfg", None) or {})
    derived = replace(entry, config=built).pretrained_cfg(weights, built)
    if weights is None and entry.weights:  # drop the default tag's: no weights, no tag
        kept = overlaid or set()
        cfg = {k: v for k, v in cfg.items() if k in kept or k not in _WEIGHTS_KEYS}
        cfg |= {k: v for k, v in derived.items() if k not in kept}
    cfg |= {k: v for k, v in derived.items() if k not in _ENTRY_KEYS or k not in cfg}
    cfg["architecture"] = entry.timm_name
    names = cfg.get("label_names")
    if names is not None and (
        not isinstance(names, list | tuple) or len(names) != built.num_classes
    ):
        for key in ("label_names", "label_descriptions"):  # a new head: not those classes
            cfg.pop(key, None)
    model.pretrained_cfg = model.default_cfg = cfg  # type: ignore[assignment]


def _saved_weights(cfg: dict[str, Any]) -> Path | None:
    """The model.safetensors timm loads for a ``local-dir:`` or ``hf-hub:`` model, if known."""
    if cfg.get("source") == "local-dir" and cfg.get("file"):
        return Path(cfg["file"]) / WEIGHTS_NAME
    if cfg.get("source") == "hf-hub" and cfg.get("hf_hub_id"):
        from huggingface_hub import try_to_load_from_cache

        repo_id, _, revision = str(cfg["hf_hub_id"]).partition("@")
        found = try_to_load_from_cache(repo_id, WEIGHTS_NAME, revision=revision or None)
        return Path(found) if isinstance(found, str) else None
    return None


def _same_commit(state_dict: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """timm's ``pretrained_filter_fn``: refuse weights saved with another config.json.

    For ``local-dir:`` and ``hf-hub:`` models, timm builds the model from config.json and then
    reads model.safetensors. When the weights file carries its config (saved by this version), the
    config.json timm built from must hold the same model: a save killed between renaming the
    weights and config.json into place (or an edited config.json) is an error naming both
    files, never a model built from one save with the weights of another.
    """
    cfg = getattr(model, "pretrained_cfg", None) or {}
    args = getattr(model, "pretrained_model_args", None)
    path = _saved_weights(cfg)
    if not args or path is None or not path.is_file():
        return state_dict
    try:
        text = _safetensors.read_metadata(path).get(CONFIG_KEY)
        if text is None:
            return state_dict
        saved = parse_config(text.encode(), str(path))[0]
        # timm's pretrained cfg holds config.json's top-level num_classes
        shown = config_from_dict(saved_fields({"model_args": args, **_classes(cfg)}))
    except (ConfigError, OSError, ValueError, safetensors.SafetensorError):
        return state_dict  # not scalenet's metadata, or not a scalenet config.json: timm's checks
    if saved != shown:
        raise WeightsError(
            f"{path.parent}: {CONFIG_NAME} does not describe the weights in {WEIGHTS_NAME} (a "
            "save into the folder was interrupted between writing the two, or config.json was "
            "edited); scalenet.from_pretrained loads the saved model, and saving it again "
            "rewrites config.json"
        )
    return state_dict


def _fetched(
    variant: str, timm_args: dict[str, Any], weights: Weights | None
) -> tuple[dict[str, Any], bool]:
    """``timm_args`` with the catalogue's weights given to timm as a local file or a state dict,
    and whether they are ``weights`` (not a file, URL or repository the call named).

    scalenet fetches them (the Hub cache, or a ``WeightsError`` at once when the Hub cannot be
    reached, where timm's own download retries for about 47 s; files from other sources
    checked against their published hash and converted to scalenet's names), then timm loads
    them as usual (stem and head adaptation, ``features_only``). Weights from anywhere else
    (``file``, ``url``, ``state_dict``, ``hf-hub:`` or an edited cfg) stay timm's.
    """
    from timm.models import resolve_pretrained_cfg

    from ..hub.fetch import download
    from ..hub.published import load_state_dict, local_copy
    from ..io import state_dict as weight_files
    from ..weights.layouts import convert

    cfg = resolve_pretrained_cfg(
        variant, timm_args.get("pretrained_cfg"), timm_args.get("pretrained_cfg_overlay")
    )
    if cfg.source not in (None, "", "timm") or cfg.file or cfg.state_dict:
        return timm_args, False
    overlay: dict[str, Any] = dict(timm_args.get("pretrained_cfg_overlay") or {})
    file = weights.file if weights is not None else None
    if weights is not None and not isinstance(file, HubFile) and cfg.url == str(file):
        # Another source's file: fetched, checked against its hash, converted.
        published = _ENTRIES[variant].config.replace(**weights.config_changes())
        cache_dir = timm_args.get("cache_dir")
        overlay["state_dict"] = load_state_dict(weights, cache_dir=cache_dir, config=published)
        catalogued = True
    elif cfg.hf_hub_id:  # a Hub repository (the catalogue's, or one the cfg names)
        repo_id, _, revision = str(cfg.hf_hub_id).partition("@")  # timm's "org/name@revision"
        filename = str(cfg.hf_hub_filename or "model.safetensors")
        catalogued = isinstance(file, HubFile) and (repo_id, filename, revision or None) == (
            file.repo_id,
            file.filename,
            file.revision,
        )
        # The catalogue's file (at any revision) in another source's names: converted.
        layout: Layout = "timm"
        if weights is not None and isinstance(file, HubFile):
            layout = (
                weights.layout if (repo_id, filename) == (file.repo_id, file.filename) else layout
            )
        copy = f"path/to/{filename}"
        if weights is not None:  # scalenet reads a copy of a catalogued file, converted
            remedy = local_copy(weights.name, copy)
        else:
            remedy = "or load a copy you have: " + (
                f"timm.create_model({variant!r}, pretrained=True, "
                f"pretrained_cfg_overlay=dict(file={copy!r}))"
            )
        local = download(
            repo_id, filename, revision or None, cache_dir=timm_args.get("cache_dir"),
            local_copy=remedy,
        )  # fmt: skip
        if layout == "timm":
            overlay["file"] = str(local)
        else:
            source = f"{repo_id}/{filename}"
            overlay["state_dict"] = convert(layout, weight_files.read_state_dict(local), source)
    else:
        return timm_args, False
    return timm_args | {"pretrained_cfg_overlay": overlay}, catalogued


def _square(size: object) -> object:
    """``224``, ``(224, 224)`` or ``[224, 224]`` -> ``224``; anything else is left to validation."""
    if isinstance(size, (tuple, list)) and len(size) == 2 and size[0] == size[1]:
        return size[0]
    return size


if __name__ == "__main__":
    print(f"wrote {write_registry()}")

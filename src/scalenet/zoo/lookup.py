"""Finding a zoo entry by name (:func:`list_models`, :func:`get_entry`, :func:`get_config`) and
building it, with published weights or not (:func:`create`).

Examples:
    >>> import scalenet
    >>> scalenet.get_config("resnet56_cifar").depths
    (9, 9, 9)
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config, ResNetConfig, SimpleCNNConfig, Stem
from ..config.depth import nearest_depths, resnet_layout
from ..errors import (
    ConfigError,
    ConfigTypeError,
    WeightsError,
    check_bool,
    check_path,
    check_type,
    first_line,
    short_repr,
)
from ..weights.catalog import CATALOG, Weights, get_weights, split_name
from ..weights.labels import check_label_names

if TYPE_CHECKING:
    from ..nn.base import ScaleNetModel
from .entry import ZooEntry
from .table import ZOO

__all__ = ["create", "get_config", "get_entry", "list_models"]


def _patterns(value: str | Sequence[str] | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    allowed = "a shell-style pattern such as 'resnet*', or a list of them"
    check_type(field, value, (str, list, tuple, set, frozenset), allowed)
    patterns = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(p, str) for p in patterns):
        raise ConfigTypeError(field, value, allowed)
    return patterns


def list_models(
    include: str | Sequence[str] = "*",
    exclude: str | Sequence[str] | None = None,
    pretrained: bool = False,
) -> list[str]:
    """Names of the zoo's models matching shell-style patterns, in table order.

    Args:
        include: a pattern (``"resnet*"``) or a list of them; a name matching any is listed.
        exclude: a pattern or a list of them; a name matching any is left out.
        pretrained: list the published weights instead, as ``arch.tag`` names (the patterns
            then match those: ``"resnet50.*"``, ``"*cifar100"``), each architecture's default
            tag first.

    Examples:
        >>> import scalenet
        >>> scalenet.list_models("plain*", exclude="*110*")
        ['plain20_cifar', 'plain32_cifar', 'plain44_cifar', 'plain56_cifar']
        >>> scalenet.list_models("resnet20_cifar*", pretrained=True)[:2]
        ['resnet20_cifar.akamaster_cifar10', 'resnet20_cifar_proj...']
    """
    wanted, unwanted = _patterns(include, "include"), _patterns(exclude, "exclude")
    check_bool("pretrained", pretrained)
    names = [w.name for name in ZOO for w in CATALOG.get(name, ())] if pretrained else list(ZOO)
    return [
        n
        for n in names
        if any(fnmatch.fnmatchcase(n, p) for p in wanted)
        and not any(fnmatch.fnmatchcase(n, p) for p in unwanted)
    ]


def get_entry(name: str) -> ZooEntry:
    """The zoo entry called ``name`` (``arch`` or ``arch.tag``); an unknown name suggests the
    closest ones, an unknown tag lists the architecture's tags.

    Examples:
        >>> import scalenet
        >>> scalenet.get_entry("resnet50").timm_name
        'scalenet_resnet50'
        >>> scalenet.get_entry("resnet50.a1_in1k").name
        'resnet50'
    """
    arch, tag = split_name(name)  # a name that is no str: a ConfigTypeError naming it
    entry = _arch_entry(arch)
    if tag is not None:
        _weights(entry, tag)
    return entry


def _weights(entry: ZooEntry, tag: str | None) -> Weights:
    """The entry's weights called ``tag`` (``None``: its default), or an error naming them."""
    if not entry.weights:
        with_weights = [n for n, e in ZOO.items() if e.weights]
        raise WeightsError(
            f"no published weights for {entry.name!r}; models with weights: "
            f"{', '.join(with_weights)} (scalenet.list_models(pretrained=True) lists every tag)"
        )
    return get_weights(entry.name, tag)


def _arch_entry(name: str) -> ZooEntry:
    if name in ZOO:
        return ZOO[name]
    timm_names = {e.timm_name: e for e in ZOO.values()}
    if name in timm_names:
        return timm_names[name]
    if f"{name}_cifar" in ZOO:  # "resnet20": the CIFAR ResNets carry the stem in their name
        hint = f"did you mean {name + '_cifar'!r}?"
    elif _DEPTH_NAME.fullmatch(name):
        hint = _by_depth(name)
    else:
        close = difflib.get_close_matches(name, list(ZOO), n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    where = "scalenet.list_models() lists the zoo's names (`scalenet list` in a shell)"
    raise ConfigError(
        "name", name, "a model in scalenet.list_models()", hint,
        message=f"unknown model {short_repr(name)}: {hint + ' ' if hint else ''}{where}",
    )  # fmt: skip


#: "resnet26", "resnet21_cifar", "plain74_cifar": names of a depth that is not in the zoo.
_DEPTH_NAME = re.compile(
    r"(resnet|plain|preresnet)(\d{1,6})(_cifar)?|wrn(\d{1,6})_(\d{1,4})(_cifar)?"
)


def _by_depth(name: str) -> str:
    """How to build the ResNet a zoo-style name asks for, or the rule its depth breaks."""
    match = _DEPTH_NAME.fullmatch(name)
    assert match is not None
    if match.group(4):  # wrnD_K: the WRN paper's WRN-D-K
        depth, k = int(match.group(4)), int(match.group(5))
        try:
            resnet_layout(depth, "cifar", "basic", wide=True)
        except ConfigError as err:
            near = " or ".join(
                f"scalenet.wrn({d}, {k})" for d in nearest_depths(depth, "cifar", wide=True)
            )
            return f"there is no WRN-{depth}-{k}: depth must be {err.allowed}; nearest: {near}"
        return f"not in the zoo, but scalenet.wrn({depth}, {k}) builds it"
    kind, depth, cifar = match.group(1), int(match.group(2)), bool(match.group(3))
    extra = {"plain": ", shortcut=False", "preresnet": ", preact=True"}.get(kind, "")
    if kind == "preresnet" and cifar:
        extra += ', downsample="projection"'

    def call(depth: int) -> str:
        args = f"depth={depth}" + (', stem="cifar"' if cifar else "")
        return f"scalenet.resnet({args}{extra})"

    stem: Stem = "cifar" if cifar else "imagenet"
    try:
        resnet_layout(depth, stem)
    except ConfigError as err:
        how = " or ".join(call(d) for d in nearest_depths(depth, stem))
        return f"there is no ResNet-{depth}: depth must be {err.allowed}; nearest: {how}"
    return f"not in the zoo, but {call(depth)} builds it"


def get_config(name: str) -> ResNetConfig | SimpleCNNConfig:
    """The config of the zoo model ``name``; with a tag, the fields its weights need set.

    Examples:
        >>> import scalenet
        >>> scalenet.get_config("resnet56_cifar").depths
        (9, 9, 9)
        >>> scalenet.get_config("resnet56_cifar_proj.pytorchcv_cifar100").num_classes
        100
    """
    entry = get_entry(name)
    tag = split_name(name)[1]
    if tag is None:
        return entry.config
    return entry.config.replace(**_weights(entry, tag).config_changes())


def create(
    name: str,
    pretrained: bool = False,
    *,
    label_names: Sequence[str] | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    pretrained_cfg_overlay: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> ScaleNetModel:
    """Build the zoo model ``name``, with config fields overridden (and validated).

    ``name`` is an architecture (``"resnet50"``) or an architecture and a weights tag
    (``"resnet50.a1_in1k"``, timm's convention). A tag sets the fields its weights need (the
    classes of their dataset, their training input size) even without ``pretrained``, as
    timm's does; explicit overrides still win, with timm's adaptation of the classifier
    (``num_classes``: a fresh head) and the first conv (``in_chans``), each with a warning.

    Args:
        name: a name from :func:`list_models` (with ``pretrained=True`` for the tags).
        pretrained: load the published weights: the tag's, or the architecture's default
            tag's (the first in ``scalenet.list_models(pretrained=True)``).
        label_names: the class names, one unique name per class in label order, kept in
            ``model.pretrained_cfg["label_names"]`` and saved to config.json (where timm and
            transformers' pipelines read them). Default: the names of the data set of the
            weights or entry (CIFAR-10, ImageNet-1k...) when the model has its classes, else
            none.
        checkpoint_path: a checkpoint to load after building, as timm's ``create_model``
            does (its ``load_checkpoint``: safetensors, or a pickle read with
            ``weights_only=True``; the ``state_dict_ema``/``model_ema``, ``state_dict`` or
            ``model`` entry of a training checkpoint; ``module.``/``_orig_mod.`` prefixes
            removed), then checked key by key (:func:`scalenet.load_weights`).
        pretrained_cfg_overlay: ``dict(file=path)``: with ``pretrained``, read the published
            weights from a copy of their file you already have (``.th``, ``.pth``,
            ``.safetensors``, as the source publishes it) instead of downloading it: checked
            against the hash the source publishes and converted to scalenet's names, as a
            download is (timm's argument; ``file`` is the key scalenet reads).
        **overrides: config fields to change, e.g. ``num_classes=10``, ``in_chans=1``,
            ``input_size=256``, ``width=80``.

    Raises:
        ConfigError: unknown name or tag (with suggestions), unknown field, or a bad value.
        WeightsError: ``pretrained=True`` for a model without weights; weights neither in the
            cache nor reachable (at once, naming the file and the remedies), a file whose hash
            is not the one its source publishes, or weights that do not fit.

    Examples:
        >>> import scalenet
        >>> scalenet.create("resnet18", num_classes=10, in_chans=1).conv1.in_channels
        1
        >>> scalenet.create("resnet56_cifar_proj.pytorchcv_cifar100").num_classes
        100
    """
    if not isinstance(pretrained, bool):  # a path is not True: say how to load a file
        raise ConfigTypeError(
            "pretrained", pretrained, "True or False",
            "to load a file of weights: scalenet.load_weights(scalenet.create(name), path); "
            "a folder save_pretrained wrote: scalenet.from_pretrained(folder)",
        )  # fmt: skip
    local = _overlay_file(pretrained_cfg_overlay, pretrained)
    entry = get_entry(name)
    tag = split_name(name)[1]
    weights = _weights(entry, tag) if tag is not None or pretrained else None
    published = entry.config.replace(**weights.config_changes()) if weights else entry.config
    config = published.replace(**overrides) if overrides else published
    if checkpoint_path is not None:
        checkpoint_path = check_path("checkpoint_path", checkpoint_path)
    if checkpoint_path is not None and not Path(checkpoint_path).expanduser().is_file():
        raise WeightsError(f"checkpoint_path={str(checkpoint_path)!r}: no such file")
    names = None
    if label_names is not None:  # checked before anything is built or downloaded
        names = check_label_names(label_names, config.num_classes, "label_names")
    if pretrained:
        assert weights is not None
        model = _load(weights, published, config, local)
    else:
        from ..nn import build

        model = build(config)
    model.pretrained_cfg = entry.pretrained_cfg(weights, config)
    if names is not None:
        model.pretrained_cfg.pop("label_descriptions", None)
        model.pretrained_cfg["label_names"] = names
    if checkpoint_path is not None:
        _load_checkpoint(model, checkpoint_path)
    if pretrained and weights is not None:
        _record_digest(model, weights)
    return model


def _load_checkpoint(model: ScaleNetModel, path: str | os.PathLike[str]) -> None:
    """timm's ``load_checkpoint`` reading, scalenet's strict, key-by-key loading."""
    import pickle

    from timm.models import load_state_dict

    from ..io.weights import load_weights

    where = Path(path).expanduser()
    try:
        state = load_state_dict(str(where), use_ema=True, weights_only=True)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError, EOFError) as err:
        raise WeightsError(
            f"checkpoint_path={str(path)!r}: not a checkpoint timm's load_checkpoint reads "
            f"(safetensors, or a weights-only pickle): {first_line(err)}"
        ) from None
    try:
        load_weights(model, state)
    except WeightsError as err:
        raise WeightsError(f"checkpoint_path={str(path)!r}: {err}") from None


def _record_digest(model: ScaleNetModel, weights: Weights) -> None:
    """Note the loaded weights' digest when the model holds them unchanged (its classes and
    input channels theirs): its model card may then quote their reported accuracy."""
    from ..io.weights import weights_digest

    if model.config.num_classes == weights.num_classes and model.config.in_chans == 3:
        model.pretrained_cfg["weights_digest"] = weights_digest(model)


def _overlay_file(overlay: Mapping[str, Any] | None, pretrained: bool) -> str | None:
    """The ``file`` of ``pretrained_cfg_overlay``, checked: the one key scalenet reads there,
    a path, and only with ``pretrained``."""
    if overlay is None:
        return None
    allowed = "dict(file=path): a copy of the weights' file"
    check_type("pretrained_cfg_overlay", overlay, Mapping, allowed)
    if set(overlay) != {"file"}:
        raise ConfigError(
            "pretrained_cfg_overlay", sorted(map(str, overlay)), allowed,
            "scalenet.create reads its file key only; timm.create_model takes the others",
        )  # fmt: skip
    file = check_path("pretrained_cfg_overlay['file']", overlay["file"])
    if not pretrained:
        raise ConfigError(
            "pretrained", pretrained, "True with pretrained_cfg_overlay=dict(file=...)",
            "the file is read as the published weights it is a copy of",
        )  # fmt: skip
    return file


def _load(
    weights: Weights, published: Config, config: Config, file: str | None = None
) -> ScaleNetModel:
    """A model of ``config`` holding ``weights`` (of the architecture ``published``; adapted
    to ``config``'s classes and input channels), read from ``file`` (a copy of theirs) if
    given."""
    from torch import nn

    from ..hub.published import load_state_dict
    from ..io.weights import load_weights
    from ..nn.skeleton import skeleton

    state = load_state_dict(weights, file=file, config=published)
    model = skeleton(config)  # no initialisation for weights about to be replaced
    load_weights(model, state, assign=True)
    if isinstance(model.fc, nn.Linear) and model.fc.weight.is_meta:
        model.reset_classifier(config.num_classes)  # another class count: a fresh head
    return model

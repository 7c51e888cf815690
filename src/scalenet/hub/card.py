"""Model cards: YAML front matter (via huggingface_hub) and a Markdown body from the profile.

A model that holds published weights, unchanged (:func:`published_weights`: the ``tag`` its
``pretrained_cfg`` names, and the digest recorded when they were loaded), gets a card that
says where they come from: the source file, origin, dataset and licence, and the accuracy its
source reports, as text and as the Hub's ``model-index`` metadata. A model loaded from a
folder that such a save wrote keeps both (config.json), so saving or pushing it again writes
the same card; once the weights change, the card makes no claim for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from huggingface_hub import EvalResult, ModelCardData

from .._format import human
from ..io.weights import weights_digest
from ..spec.plan import plan
from ..weights.catalog import CATALOG, DATASETS, HubFile, Weights, short_url

if TYPE_CHECKING:
    from ..nn.base import ScaleNetModel

__all__ = ["HUB_LICENSES", "license_metadata", "model_card", "published_weights"]

#: Licence ids the Hub's model cards take as ``license:``
#: (https://huggingface.co/docs/hub/repositories-licenses); any other is written as
#: ``license: other`` with ``license_name`` and ``license_link``, as the Hub asks.
HUB_LICENSES = frozenset((
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
    "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
    "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl",
    "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research",
    "lppl-1.3c", "ms-pl", "apple-ascl", "mpl-2.0", "odc-by", "odbl", "openrail++", "osl-3.0",
    "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "unknown", "other",
))  # fmt: skip


def _cell(value: object) -> str:
    text = str(list(value)) if isinstance(value, tuple) else str(value)
    return text.replace("|", "\\|")


def published_weights(model: ScaleNetModel) -> Weights | None:
    """The catalogue record of the published weights ``model`` holds, if any: the ones its
    ``pretrained_cfg`` names (``tag``), loaded by ``create(..., pretrained=True)`` (or timm's),
    which records their digest (``weights_digest``), and unchanged since: same digest, same
    classes. A model built from a tag without its weights,
    trained further, cast, or given another head holds no published weights.

    Examples:
        >>> import torch, scalenet
        >>> model = scalenet.create("resnet20_cifar.akamaster_cifar10")  # random weights
        >>> published_weights(model) is None
        True
        >>> digest = scalenet.io.weights.weights_digest(model)
        >>> model.pretrained_cfg["weights_digest"] = digest  # as pretrained=True records it
        >>> published_weights(model).name
        'resnet20_cifar.akamaster_cifar10'
        >>> with torch.no_grad():
        ...     _ = model.fc.bias.add_(0.1)  # trained further
        >>> published_weights(model) is None
        True
    """
    tag = model.pretrained_cfg.get("tag")
    recorded = model.pretrained_cfg.get("weights_digest")
    if not tag or not recorded or recorded != weights_digest(model):
        return None  # not loaded from them, or changed since (trained, cast, a new head)
    # A tag is shared across architectures: the model's names the record. Its pretrained cfg
    # (and a saved folder's zoo_name) holds timm's name of the architecture: the zoo's, or
    # the zoo's prefixed with scalenet_ where it would shadow one of timm's models.
    arch = str(model.pretrained_cfg.get("architecture", ""))
    for name in dict.fromkeys((arch, arch.removeprefix("scalenet_"))):
        for weights in CATALOG.get(name, ()):
            if weights.tag == tag and weights.num_classes == model.config.num_classes:
                return weights
    return None


def license_metadata(license: str, link: str | None = None) -> dict[str, str]:
    """The card's licence fields: ``{"license": id}`` for a licence id the Hub knows
    (:data:`HUB_LICENSES`), else ``license: other`` with ``license_name`` (and
    ``license_link``), as the Hub asks for other licences.

    Examples:
        >>> license_metadata("bsd-3-clause")
        {'license': 'bsd-3-clause'}
        >>> license_metadata("Research-only", "https://example.com/LICENSE")
        {'license': 'other', 'license_name': 'research-only', 'license_link': 'https://example.com/LICENSE'}
    """
    if license in HUB_LICENSES:
        return {"license": license}
    fields = {"license": "other", "license_name": license.lower().replace(" ", "-")}
    return fields | ({"license_link": link} if link else {})


def _file_link(weights: Weights) -> str:
    file = weights.file
    if isinstance(file, HubFile):
        at = f" (revision {file.revision})" if file.revision else ""
        hub = f"https://huggingface.co/{file.repo_id}"
        return f"`{file.filename}` of [{file.repo_id}]({hub}){at} on the Hub"
    return f"<{file.url}> ({file.hash_note()}; checked on download)"


def _eval_results(weights: Weights) -> list[EvalResult]:
    """The accuracy the source reports, as the Hub's model-index entries."""
    name, split = DATASETS[weights.dataset]
    common: dict[str, Any] = {
        "task_type": "image-classification",
        "task_name": "Image Classification",
        "dataset_type": weights.dataset,
        "dataset_name": name,
        "dataset_split": split,
        "source_name": short_url(weights.reported),
        "source_url": weights.reported,
    }
    results = []
    for metric, value, label in (
        ("accuracy", weights.top1, "Top-1 accuracy (%)"),
        ("top_5_accuracy", weights.top5, "Top-5 accuracy (%)"),
    ):
        if value is not None:
            results.append(
                EvalResult(metric_type=metric, metric_value=value, metric_name=label, **common)
            )
    return results


def _weights_section(weights: Weights, license: str) -> list[str]:
    name, split = DATASETS[weights.dataset]
    mean = ", ".join(f"{v:g}" for v in weights.mean)
    std = ", ".join(f"{v:g}" for v in weights.std)
    lines = [
        "## Weights",
        "",
        f"Published weights `{weights.name}` (the `tag` of the model's `pretrained_cfg`), in "
        "scalenet's format (safetensors, scalenet's parameter names).",
        "",
        "| | |",
        "|---|---|",
        f"| source file | {_cell(_file_link(weights))} |",
        f"| origin | <{weights.origin}> |",
        f"| dataset | {name} ({weights.num_classes} classes) |",
        f"| licence | {_cell(license)} |",
        f"| input | {weights.input_size} px, crop {weights.crop_pct}, "
        f"{weights.interpolation}; mean ({mean}), std ({std}) |",
        "",
    ]
    if weights.notes:
        lines += [_cell(weights.notes), ""]
    if weights.top1 is None and weights.top5 is None:
        return lines
    top1 = "-" if weights.top1 is None else f"{weights.top1:g}"
    top5 = "-" if weights.top5 is None else f"{weights.top5:g}"
    lines += [
        "## Reported accuracy",
        "",
        f"As reported by the source, [{short_url(weights.reported)}]({weights.reported}); "
        "not measured by scalenet:",
        "",
        "| dataset | split | input | top-1 (%) | top-5 (%) |",
        "|---|---|---|---:|---:|",
        f"| {name} | {split} | {weights.input_size} px, crop {weights.crop_pct} | {top1} | "
        f"{top5} |",
        "",
    ]
    return lines


def model_card(
    model: ScaleNetModel,
    *,
    metrics: Mapping[str, float] | None = None,
    training: Mapping[str, Any] | None = None,
    license: str | None = None,
    weights: Weights | None = None,
) -> str:
    """The README.md of a saved model.

    ``weights``: the published weights the model holds (default:
    :func:`published_weights`, the ones its ``pretrained_cfg`` names): the card then states
    their source, origin, dataset and licence, and the accuracy the source reports (with the
    link), also as the Hub's ``model-index`` metadata. ``license``: the licence of the model's
    weights (default: the published weights', else the one its ``pretrained_cfg`` records, else
    none: scalenet does not license weights you trained for you).

    Examples:
        >>> import scalenet
        >>> card = scalenet.hub.card.model_card(scalenet.create("resnet20_cifar"),
        ...                                 metrics={"top1": 91.25})
        >>> card.splitlines()[0], "pipeline_tag: image-classification" in card
        ('---', True)
        >>> "| top1 | 91.25 |" in card, "license:" in card
        (True, False)
        >>> model = scalenet.create("resnet20_cifar.akamaster_cifar10")
        >>> model.pretrained_cfg["weights_digest"] = scalenet.io.weights.weights_digest(model)
        >>> card = scalenet.hub.card.model_card(model)  # as if loaded with pretrained=True
        >>> "license: bsd-2-clause" in card, "value: 91.73" in card
        (True, True)
    """
    config = model.config
    weights = weights if weights is not None else published_weights(model)
    name = str(model.pretrained_cfg.get("architecture") or type(model).__name__)
    specs = plan(config)
    params, macs = sum(s.params for s in specs), sum(s.macs for s in specs)
    given = license or model.pretrained_cfg.get("license")
    licence: str | None = str(given) if given else None
    extra: dict[str, Any] = {}
    if weights is not None:
        name = weights.name
        licence = license or weights.license
        extra = {"datasets": [weights.dataset], "model_name": weights.name}
        results = _eval_results(weights)
        extra |= {"eval_results": results} if results else {}
    link = weights.origin if weights is not None else None
    if licence is not None:  # weights of your own have the licence you give them, or none
        extra |= license_metadata(licence, link)
    data = ModelCardData(
        library_name="timm",
        pipeline_tag="image-classification",
        tags=["scalenet", "image-classification", "timm", config.family],
        **extra,
    )
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        f"# {name}",
        "",
        str(model.pretrained_cfg.get("description") or f"A scalenet {type(model).__name__}."),
        "",
        "## Use",
        "",
        "```python",
        "import scalenet  # also registers scalenet's architectures with timm",
        "",
        'model = scalenet.from_pretrained("<this repo>")',
        '# or: timm.create_model("hf-hub:<this repo>", pretrained=True) after import scalenet',
        "```",
        "",
        "## Architecture",
        "",
        "| field | value |",
        "|---|---|",
        *(f"| {k} | {_cell(v)} |" for k, v in config.to_dict().items()),
        "",
        f"Parameters: {params:,} ({human(params)}); MACs (conv + linear) at "
        f"{config.input_size}x{config.input_size}: {macs:,} ({human(macs, 'MACs')}); "
        f"FLOPs = 2 x MACs.",
        "",
    ]
    if weights is not None:
        lines += _weights_section(weights, licence or weights.license)
    if metrics:
        lines += ["## Results", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_cell(v)} |" for k, v in metrics.items()]
        lines.append("")
    if training:
        lines += ["## Training", "", "| setting | value |", "|---|---|"]
        lines += [f"| {k} | {_cell(v)} |" for k, v in training.items()]
        lines.append("")
    return "\n".join(lines)

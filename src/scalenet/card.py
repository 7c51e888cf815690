"""Model cards: YAML front matter (via huggingface_hub) and a Markdown body from the profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from huggingface_hub import ModelCardData

from ._format import human
from .plan import plan

if TYPE_CHECKING:
    from .models.base import ScaleNetModel

__all__ = ["model_card"]


def _cell(value: object) -> str:
    text = str(list(value)) if isinstance(value, tuple) else str(value)
    return text.replace("|", "\\|")


def model_card(
    model: ScaleNetModel,
    *,
    metrics: Mapping[str, float] | None = None,
    training: Mapping[str, Any] | None = None,
    license: str | None = None,
) -> str:
    """The README.md of a saved model.

    Examples:
        >>> import scalenet
        >>> card = scalenet.card.model_card(scalenet.create("resnet20_cifar"),
        ...                                 metrics={"top1": 91.25})
        >>> card.splitlines()[0], "pipeline_tag: image-classification" in card
        ('---', True)
        >>> "| top1 | 91.25 |" in card
        True
    """
    config = model.config
    name = str(model.pretrained_cfg.get("architecture") or type(model).__name__)
    specs = plan(config)
    params, macs = sum(s.params for s in specs), sum(s.macs for s in specs)
    data = ModelCardData(
        library_name="timm",
        license=license or str(model.pretrained_cfg.get("license") or "apache-2.0"),
        pipeline_tag="image-classification",
        tags=["scalenet", "image-classification", "timm", config.family],
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
    if metrics:
        lines += ["## Results", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_cell(v)} |" for k, v in metrics.items()]
        lines.append("")
    if training:
        lines += ["## Training", "", "| setting | value |", "|---|---|"]
        lines += [f"| {k} | {_cell(v)} |" for k, v in training.items()]
        lines.append("")
    return "\n".join(lines)

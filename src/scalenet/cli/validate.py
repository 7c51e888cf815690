"""``scalenet validate``: a model's accuracy on labelled images, as timm's ``validate.py``
measures it (:func:`scalenet.analysis.validate.validate`)."""

from __future__ import annotations

from pathlib import Path

import click

from .group import main


@main.command("validate")
@click.argument("target")
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Class folders (DIR/<class>/<image>, or its validation/val/test folder), or "
    "torchvision's CIFAR-10/100 root.",
)
@click.option(
    "--results-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the result to this CSV file (timm's columns).",
)
@click.option("--batch-size", "-b", type=click.IntRange(1, 65536), default=128, show_default=True)
@click.option("--workers", "-j", type=click.IntRange(0, 256), default=2, show_default=True)
@click.option("--device", help="cuda, cpu, cuda:1... (default: CUDA if available, else CPU).")
@click.option("--amp", is_flag=True, help="Mixed precision (float16 on CUDA, bfloat16 on CPU).")
@click.option("--limit", type=click.IntRange(1), help="Evaluate the first N images only.")
def validate_command(
    target: str,
    data: Path,
    results_file: Path | None,
    batch_size: int,
    workers: int,
    device: str | None,
    amp: bool,
    limit: int | None,
) -> None:
    """Measure TARGET's top-1 and top-5 accuracy on the images in --data, preprocessed with
    the model's own data config as timm's validate.py does.

    TARGET is arch.tag (published weights), an architecture with weights (its default tag),
    a folder save_pretrained wrote, or hf-hub:org/name.
    """
    from ..analysis.validate import load_target, validate
    from ..errors import ConfigError, WeightsError

    try:
        model, name = load_target(target)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="'TARGET'") from None
    except WeightsError as err:
        raise click.ClickException(str(err)) from None
    try:
        result = validate(
            model, data, batch_size=batch_size, workers=workers, device=device, amp=amp,
            limit=limit, results_file=results_file, name=name,
        )  # fmt: skip
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="'--data'") from None
    click.echo(
        f"{result['model']}: top-1 {result['top1']:.2f}%, top-5 {result['top5']:.2f}%, "
        f"loss {result['loss']:.4f} on {result['images']:,} images at {result['img_size']} px "
        f"(crop {result['crop_pct']}, {result['interpolation']}), "
        f"{result['images_per_sec']:,.0f} images/s"
    )
    if results_file is not None:
        click.echo(f"appended to {results_file}")

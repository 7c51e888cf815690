"""The weights catalogue against independent truth: timm's own registry and built models.

Every ImageNet record is held against the installed timm's pretrained cfg (file, licence,
sizes, crops, interpolation, normalisation, classes, origin), every timm tag of the
architectures is catalogued, and every record's params, MACs and file size are recomputed
from its architecture (scalenet's analytic profile, a meta-device model, and timm's model for
the timm layout). All on the meta device: no weights, no forward passes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import timm
import torch
from timm.models import get_pretrained_cfg

import scalenet
import scalenet.analysis.tables
from scalenet.weights import CATALOG, Weights
from scalenet.weights.catalog import Layout
from scalenet.weights.layouts import convert

ALL = [w for ws in CATALOG.values() for w in ws]
IMAGENET = [w for w in ALL if w.dataset == "imagenet-1k"]  # all timm's Hub repositories
# The torchvision-layout ResNets (ResNeXts and wide ResNets included), the ResNet-Ds and the
# pre-activation ResNets (timm's resnetv2_*, BatchNorm) of the zoo, every one of whose timm
# tags is catalogued.
TV_ARCHS = ("resnet18", "resnet26", "resnet34", "resnet50", "resnet101", "resnet152")
GROUPED_ARCHS = (
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
    "wide_resnet101_2",
)  # fmt: skip
D_ARCHS = tuple(f"resnet{n}d" for n in (18, 26, 34, 50, 101, 152, 200))
V2_ARCHS = tuple(f"resnetv2_{n}" for n in ("18", "18d", "34", "34d", "50", "101"))
TIMM_ARCHS = TV_ARCHS + GROUPED_ARCHS + D_ARCHS + V2_ARCHS
# timm tags of those that are not: no classifier (num_classes=0) and no licence.
EXCLUDED = {"resnet50.bamboo"}
LICENSES = {
    "apache-2.0", "bsd-2-clause", "bsd-3-clause", "mit", "cc-by-4.0", "cc-by-nc-4.0",
    "cc-by-sa-4.0",
}  # fmt: skip


def ids(records: list[Weights]) -> list[str]:
    return [w.name for w in records]


def test_every_timm_tag_of_the_torchvision_resnets_is_catalogued() -> None:
    in_timm = {name for arch in TIMM_ARCHS for name in timm.list_pretrained(f"{arch}.*")}
    assert in_timm >= EXCLUDED  # an exclusion that timm dropped is stale
    assert set(ids(IMAGENET)) == in_timm - EXCLUDED
    assert len(IMAGENET) == len(set(ids(IMAGENET))) == 47 + 23 + 15 + 7
    # timm's other pre-activation nets have other norms (and convs): not scalenet's nets.
    others = set(timm.list_pretrained("resnetv2_*")) - set(ids(IMAGENET))
    assert others
    assert all(re.search(r"_(bit|gn|evos|frn)\.", name) for name in others), others


@pytest.mark.parametrize("w", IMAGENET, ids=ids(IMAGENET))
def test_imagenet_record_matches_timms_pretrained_cfg(w: Weights) -> None:
    cfg = get_pretrained_cfg(w.name).to_dict()
    assert isinstance(w.file, scalenet.weights.HubFile)
    assert (w.file.repo_id, w.file.filename, w.file.revision) == (
        cfg["hf_hub_id"], "model.safetensors", None,
    )  # fmt: skip
    assert w.license == cfg["license"]
    assert w.num_classes == cfg["num_classes"] == 1000
    assert (3, w.input_size, w.input_size) == cfg["input_size"]
    test_size = cfg.get("test_input_size")
    assert w.test_input_size == (test_size[-1] if test_size else None)
    if test_size:
        assert test_size == (3, w.test_input_size, w.test_input_size)
    assert w.crop_pct == cfg["crop_pct"]
    assert w.test_crop_pct == cfg.get("test_crop_pct")
    assert w.interpolation == cfg["interpolation"]
    assert (w.mean, w.std) == (cfg["mean"], cfg["std"])
    # timm names no origin for resnet50.am_in1k: its model card stands in.
    assert w.origin == (cfg.get("origin_url") or f"https://huggingface.co/{cfg['hf_hub_id']}")


@pytest.mark.parametrize("arch", TIMM_ARCHS)
def test_default_tag_first_then_by_reported_top1(arch: str) -> None:
    records = CATALOG[arch]
    if arch in D_ARCHS + V2_ARCHS:  # no torchvision weights: timm's default tag
        assert records[0].tag == timm.models.get_pretrained_cfg(arch).tag
    else:
        assert records[0].tag == ("bt_in1k" if arch == "resnet26" else "tv_in1k")
    top1 = [w.top1 for w in records[1:]]
    assert top1 == sorted(top1, reverse=True)  # type: ignore[type-var]


@functools.cache
def meta_state(config: scalenet.ResNetConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = config.build()
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@functools.cache
def timm_meta_state(arch: str, layout: Layout) -> tuple[int, dict[str, tuple[int, ...]]]:
    """timm's model of ``arch``: its parameter count, and its tensors' shapes by the names
    ``layout`` gives them (uninitialised tensors of those shapes, converted)."""
    with torch.device("meta"):
        model = timm.create_model(arch)
    params = sum(p.numel() for p in model.parameters())
    state = {k: torch.empty(v.shape, dtype=v.dtype) for k, v in model.state_dict().items()}
    return params, {k: tuple(v.shape) for k, v in convert(layout, state).items()}


#: Each ImageNet architecture of the catalogue, with the layout its files name keys in.
IMAGENET_ARCHS = sorted({(w.arch, w.layout) for w in IMAGENET})


@pytest.mark.parametrize(("arch", "layout"), IMAGENET_ARCHS, ids=[a for a, _ in IMAGENET_ARCHS])
def test_the_architecture_is_timms(arch: str, layout: Layout) -> None:
    """What the records leave to the architecture is timm's: scalenet's analytic parameter
    count (``scalenet.profile``, what the docs' tables show) is timm's model's, and its
    tensors' names and shapes are those of timm's model through the layout."""
    config = scalenet.get_config(arch)  # 1000 classes; parameters do not depend on the size
    timm_params, timm_state = timm_meta_state(arch, layout)
    assert scalenet.profile(config).params == timm_params
    assert meta_state(config) == timm_state


def test_names_archs_tags_licences_and_urls_are_well_formed() -> None:
    assert len(ids(ALL)) == len(set(ids(ALL)))
    zoo = set(scalenet.list_models())
    for w in ALL:
        assert w.arch in zoo, w.name
        assert re.fullmatch(r"[a-z0-9_]+", w.tag), w.name
        assert w.license in LICENSES, (w.name, w.license)
        assert w.reported.startswith("https://"), w.name
        assert w.origin.startswith("https://"), w.name
        assert w.top1 is None or 0 < w.top1 <= 100
        assert w.top5 is None or (w.top1 or 0) <= w.top5 <= 100


def test_docs_weights_table_is_the_catalogue() -> None:
    """docs/zoo.md's table of published weights is ``weights_markdown()``, row for row: every
    catalogued weight, the default tags in bold, nothing else."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "zoo.md").read_text()
    table = page.split("<!-- weights-table:start -->\n")[1].split("\n<!-- weights-table:end -->")[0]
    assert table == scalenet.analysis.tables.weights_markdown()
    rows = table.splitlines()[2:]
    assert len(rows) == sum(len(ws) for ws in CATALOG.values())
    bold = [row.split("`")[1] for row in rows if row.startswith("| **")]
    assert sorted(bold) == sorted(f"{arch}.{ws[0].tag}" for arch, ws in CATALOG.items())

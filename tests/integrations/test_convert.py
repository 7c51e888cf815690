"""``scalenet convert`` / :func:`scalenet.integrations.export.export`: published weights as a
``save_pretrained`` folder whose card states their source, licence and reported accuracy.

The weights are a stand-in (a seeded random resnet20 in akamaster's file format) served from
127.0.0.1 as the mirror of the record's URL, with the record's hash replaced by the file's
(tests/stand_in_weights.py). The truths: the model whose tensors the file holds, the
catalogue record (what the card must say), huggingface_hub's own ``ModelCard`` parser, timm's
``local-dir:`` loader, and the Hub (the session's olah and push server) for the push.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import timm
import torch
import yaml
from click.testing import CliRunner
from huggingface_hub import ModelCard, constants

import scalenet
from hub_servers import HfEnv, PushServer
from scalenet import ConfigError, WeightsError
from scalenet._format import human
from scalenet.cli import main
from scalenet.hub.card import model_card, published_weights
from scalenet.integrations.export import export
from scalenet.weights import CATALOG, Weights, default_tag, get_weights
from stand_in_weights import StandIn, patch_record, publish_akamaster, serving

NAME = "resnet20_cifar.akamaster_cifar10"  # the default tag of resnet20_cifar
FILES = {"model.safetensors", "config.json", "README.md"}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in for NAME, served as its URL's mirror; online, with a private cache."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    stand_in = publish_akamaster(tmp_path / "served", NAME, seed=3)
    with serving(tmp_path / "served", [stand_in], monkeypatch):
        yield stand_in


def _x() -> torch.Tensor:
    return torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(7))


def _front_matter(card: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(card.split("---")[1])
    return data


# -- the folder ---------------------------------------------------------------------------------


def test_export_round_trip_is_bit_identical(served: StandIn, tmp_path: Path) -> None:
    out = export(NAME, tmp_path / "out")
    assert out == tmp_path / "out"
    assert {p.name for p in out.iterdir()} == FILES
    x = _x()
    created = scalenet.create(NAME, pretrained=True).eval()
    loaded = scalenet.from_pretrained(out).eval()
    via_timm = timm.create_model(f"local-dir:{out}", pretrained=True).eval()
    with torch.no_grad():
        expected = served.reference(x)
        assert torch.equal(created(x), expected)
        assert torch.equal(loaded(x), expected)
        assert torch.equal(via_timm(x), expected)
    record = get_weights(NAME)
    cfg = loaded.pretrained_cfg
    assert cfg["tag"] == record.tag
    assert cfg["license"] == record.license
    assert tuple(cfg["mean"]) == record.mean
    assert tuple(cfg["std"]) == record.std
    assert cfg["origin_url"] == record.origin
    saved = json.loads((out / "config.json").read_text())["pretrained_cfg"]
    assert saved["tag"] == "akamaster_cifar10"
    assert saved["license"] == "bsd-2-clause"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging left


def test_card_is_parsed_by_huggingface_hub(served: StandIn, tmp_path: Path) -> None:
    out = export(NAME, tmp_path / "out")
    record = get_weights(NAME)
    card = ModelCard.load(out / "README.md")
    assert card.data.license == record.license == "bsd-2-clause"
    assert card.data.datasets == ["cifar10"]
    assert card.data.model_name == NAME
    (result,) = card.data.eval_results  # akamaster reports no top-5
    assert result.task_type == "image-classification"
    assert result.dataset_type == "cifar10"
    assert result.dataset_name == "CIFAR-10"
    assert result.metric_type == "accuracy"
    assert result.metric_value == record.top1 == 91.73
    assert result.source_url == record.reported
    assert result.source_name == "github.com/akamaster/pytorch_resnet_cifar10"
    text = card.text
    assert "As reported by the source" in text
    assert record.reported in text
    assert record.file.url in text
    assert record.origin in text


def test_the_card_quotes_the_source_only_for_its_unchanged_weights(
    served: StandIn, tmp_path: Path
) -> None:
    """The accuracy is the published weights': a model built from the tag without them, or
    trained one step from them, gets no model-index; the published weights keep it through
    a save and a load (config.json carries their digest)."""
    assert published_weights(scalenet.create(NAME)) is None  # the tag's config, random weights
    model = scalenet.create(NAME, pretrained=True)
    assert published_weights(model) == get_weights(NAME)
    again = scalenet.from_pretrained(model.save_pretrained(tmp_path / "saved"))
    assert published_weights(again) == get_weights(NAME)
    assert ModelCard.load(tmp_path / "saved" / "README.md").data.eval_results
    optimizer = torch.optim.SGD(again.parameters(), lr=0.1)
    again.train()
    torch.nn.functional.cross_entropy(again(_x()), torch.zeros(4, dtype=torch.long)).backward()
    optimizer.step()
    assert published_weights(again) is None
    again.save_pretrained(tmp_path / "tuned")
    card = ModelCard.load(tmp_path / "tuned" / "README.md")
    assert card.data.eval_results is None
    assert "As reported by the source" not in card.text


RECORDS = [w for ws in CATALOG.values() for w in ws]


@pytest.mark.parametrize("weights", RECORDS, ids=[w.name for w in RECORDS])
def test_the_card_finds_each_record_by_its_architecture_and_tag(
    weights: Weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tag is shared by many architectures (akamaster_cifar10 by six): the record is the one
    of the model's architecture, as its pretrained cfg names it (timm's name, prefixed or
    not, as a saved folder's ``zoo_name`` too), and classes. The digest's check (the weights
    unchanged) is the test above's; here every digest agrees."""
    monkeypatch.setattr(scalenet.hub.card, "weights_digest", lambda model: "same")
    cfg = scalenet.get_entry(weights.arch).pretrained_cfg(weights) | {"weights_digest": "same"}
    # A stand-in model: its config and pretrained cfg are what the lookup reads.
    model = SimpleNamespace(pretrained_cfg=cfg, config=scalenet.get_config(weights.name))
    assert published_weights(model) is weights  # type: ignore[arg-type]
    model.config = model.config.replace(num_classes=model.config.num_classes + 1)
    assert published_weights(model) is None  # type: ignore[arg-type]


def test_default_tag_is_named_in_the_folder(served: StandIn, tmp_path: Path) -> None:
    assert default_tag("resnet20_cifar") == "akamaster_cifar10"
    out = export("resnet20_cifar", tmp_path / "out")
    assert json.loads((out / "config.json").read_text())["pretrained_cfg"]["tag"] == (
        "akamaster_cifar10"
    )
    assert ModelCard.load(out / "README.md").data.model_name == NAME


def test_top5_and_hub_source_in_the_card() -> None:
    """A record with top-1 and top-5 from a Hub file (no download: the card only)."""
    record = get_weights("resnet50.a1_in1k")
    with torch.device("meta"):  # the card reads the config alone
        model = scalenet.create("resnet50.a1_in1k")
    card = ModelCard(model_card(model, weights=record))
    values = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert values == {"accuracy": record.top1, "top_5_accuracy": record.top5}
    assert {r.dataset_split for r in card.data.eval_results} == {"validation"}
    assert "https://huggingface.co/timm/resnet50.a1_in1k" in card.text


def test_licence_that_is_not_a_hub_id_is_other_with_name_and_link() -> None:
    model = scalenet.create(NAME)
    record = dataclasses.replace(get_weights(NAME), license="Research-Only")
    data = ModelCard(model_card(model, weights=record)).data
    assert data.license == "other"
    assert data.license_name == "research-only"
    assert data.license_link == record.origin


def test_card_without_weights_is_unchanged() -> None:
    """No tag, or a tag on a model that is no longer the weights' size: the plain card."""
    plain = _front_matter(model_card(scalenet.create("resnet20_cifar")))
    assert set(plain) == {"library_name", "pipeline_tag", "tags"}  # no licence: the user's
    retargeted = scalenet.create(NAME, num_classes=5)  # a fresh 5-class head
    assert published_weights(retargeted) is None
    assert "model-index" not in _front_matter(model_card(retargeted))


# -- failures and overwrite ---------------------------------------------------------------------


def test_wrong_hash_leaves_no_folder(
    served: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = dataclasses.replace(served.weights.file, digest="0" * 64)
    patch_record(monkeypatch, dataclasses.replace(served.weights, file=file))
    with pytest.raises(WeightsError, match="0000000000"):
        export(NAME, tmp_path / "out" / "r20")
    assert not (tmp_path / "out").exists()


def test_interrupted_save_leaves_no_folder(
    served: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scalenet.io.safetensors, "_bytes", crash)  # mid-way through the weights
    with pytest.raises(KeyboardInterrupt):
        export(NAME, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "served"]


def test_existing_folder_needs_overwrite(served: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="overwrite=True"):
        export(NAME, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    export(NAME, out, overwrite=True)
    assert {p.name for p in out.iterdir()} == FILES | {"notes.txt"}
    assert (out / "notes.txt").read_text() == "mine"
    with torch.no_grad():
        assert torch.equal(scalenet.from_pretrained(out).eval()(_x()), served.reference(_x()))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert {p.name for p in export(NAME, empty).iterdir()} == FILES  # an empty one is fine
    with pytest.raises(ConfigError, match="not a folder"):
        export(NAME, out / "notes.txt", overwrite=True)


# -- the push -------------------------------------------------------------------------------------


def test_push_of_the_loaded_folder_keeps_the_card(
    served: StandIn, tmp_path: Path, hf_env: HfEnv, push_server: PushServer
) -> None:
    hf_env.set_endpoint(push_server.endpoint)
    out = export(NAME, tmp_path / "out")
    repo_id = f"test-org/convert-{tmp_path.name[-12:].strip('_')}"
    scalenet.from_pretrained(out).push_to_hub(repo_id)
    pushed = ModelCard.load(repo_id)
    assert pushed.content == (out / "README.md").read_text()
    assert pushed.data.license == "bsd-2-clause"
    (result,) = pushed.data.eval_results
    assert (result.metric_value, result.source_url) == (91.73, get_weights(NAME).reported)
    back = scalenet.from_pretrained(repo_id).eval()
    assert back.pretrained_cfg["tag"] == "akamaster_cifar10"
    with torch.no_grad():
        assert torch.equal(back(_x()), served.reference(_x()))


# -- the command ----------------------------------------------------------------------------------


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), prog_name="scalenet")


def test_cli_convert_prints_what_it_wrote(served: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke("convert", "resnet20_cifar", str(out))
    assert result.exit_code == 0, result.output
    record = get_weights(NAME)
    size = (out / "model.safetensors").stat().st_size
    assert result.stdout.splitlines() == [
        f"wrote {out}: model.safetensors ({human(size)}B), config.json, README.md",
        f"weights: {NAME} (the default tag of resnet20_cifar), from {record.file}",
        "licence: bsd-2-clause",
        f"reported by the source: top-1 91.73% on cifar10 ({record.reported})",
        f'load: scalenet.from_pretrained("{out}")',
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("resnet20_cifr", "did you mean 'resnet20_cifar'"),
        ("resnet20_cifar.nope", "a tag of resnet20_cifar: akamaster_cifar10"),
        ("plain20_cifar", "a model with published weights"),
    ],
)
def test_cli_convert_usage_errors(tmp_path: Path, name: str, expected: str) -> None:
    result = _invoke("convert", name, str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Usage: scalenet convert [OPTIONS] NAME DIRECTORY")
    assert expected in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_convert_existing_folder_and_failed_download(
    served: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = _invoke("convert", NAME, str(out))
    assert result.exit_code == 2
    assert "holds files" in result.stderr
    assert "--overwrite" in result.stderr
    assert _invoke("convert", NAME, str(out), "--overwrite").exit_code == 0
    file = dataclasses.replace(served.weights.file, digest="0" * 64)
    patch_record(monkeypatch, dataclasses.replace(served.weights, file=file))
    result = _invoke("convert", NAME, str(tmp_path / "new"))
    assert result.exit_code == 1  # not a usage error: the file is not the published one
    assert "does not have the published sha256 hash" in result.stderr
    assert not (tmp_path / "new").exists()


def test_cli_list_pretrained() -> None:
    result = _invoke("list", "resnet20_cifar*", "--pretrained")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = lines[1:-2]
    expected = scalenet.list_models("resnet20_cifar*", pretrained=True)
    assert [r.split()[0] for r in rows] == expected
    for row in rows:
        record = get_weights(row.split()[0])
        marked = row.split()[1] == "*"
        assert marked == (default_tag(record.arch) == record.tag)
        cells = row.replace(" * ", "   ").split()
        assert cells[1:5] == [
            record.dataset,
            f"{record.top1:g}",
            "-" if record.top5 is None else f"{record.top5:g}",
            record.license,
        ]
    assert rows[0].split()[-1] == "github.com/akamaster/pytorch_resnet_cifar10"
    # a pattern without a dot also matches the architecture's tags
    names = _invoke("list", "resnet50", "--pretrained", "--format", "names").stdout.split()
    assert names == [w.name for w in CATALOG["resnet50"]]


def test_cli_list_pretrained_markdown() -> None:
    """The markdown listing is docs/zoo.md's table for the names asked: the default in bold."""
    result = _invoke("list", "resnet50.*", "--pretrained", "--format", "markdown")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| `", "| **"))]
    assert len(rows) == len(CATALOG["resnet50"])
    assert rows[0].startswith(f"| **`resnet50.{default_tag('resnet50')}`** | ImageNet-1k |")
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    assert "hf:timm/resnet50.a1_in1k" in result.stdout
    assert _invoke("list", "nothing.*", "--pretrained").exit_code == 1


_IMPORTS = """
import json, sys
from scalenet.cli import main
try:
    main(sys.argv[1:], prog_name="scalenet")
except SystemExit as e:
    code = e.code
heavy = ("torch", "huggingface_hub", "safetensors", "timm")
print(json.dumps([code, sorted({m.split(".")[0] for m in sys.modules} & set(heavy))]),
      file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "code"),
    [(["convert", "resnet20_cifr", "out"], 2), (["list", "resnet20*", "--pretrained"], 0)],
)
def test_convert_usage_errors_and_listing_import_no_torch(
    tmp_path: Path, args: list[str], code: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *args], capture_output=True, text=True, timeout=120,
        check=False, cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(done.stderr.splitlines()[-1]) == [code, []], done.stderr
    assert not (tmp_path / "out").exists()

"""Saving and loading: round trips, torchvision weights, and every bad input failing cleanly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import huggingface_hub.constants
import pytest
import safetensors.torch
import timm
import torch
import torchvision
from torch import nn

import scalenet
import scalenet.io.safetensors
from scalenet import ConfigError, WeightsError


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.mark.parametrize(
    "make",
    [
        lambda: scalenet.create("resnet20_cifar"),
        lambda: scalenet.resnet(depths=(1, 2, 1), width=12, stem="cifar", block="bottleneck",
                                downsample="pad", num_classes=7, input_size=24, dropout=0.1),
        lambda: scalenet.simple_cnn((4, 8), kernel_size=5, padding=0, hidden=(9,), input_size=28),
    ],
    ids=["zoo", "custom_resnet", "custom_cnn"],
)  # fmt: skip
def test_round_trip_is_bit_identical(tmp_path: Path, make: object) -> None:
    model = make()  # type: ignore[operator]
    with torch.no_grad():  # non-trivial BN statistics
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    model.eval()
    out = model.save_pretrained(tmp_path / "saved")
    assert files_under(out) == {"model.safetensors", "config.json", "README.md"}
    loaded = scalenet.from_pretrained(out).eval()
    assert loaded.config == model.config
    a, b = model.state_dict(), loaded.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    x = torch.randn(2, model.in_chans, model.input_size, model.input_size)
    assert torch.equal(model(x), loaded(x))
    # timm reads the same folder and gets the same model and weights.
    via_timm = timm.create_model(f"local-dir:{out}", pretrained=True).eval()
    assert torch.equal(via_timm(x), model(x))
    assert not list(tmp_path.glob(".saved.tmp-*"))


def test_config_json_has_timm_keys_and_the_full_config(tmp_path: Path) -> None:
    model = scalenet.create("resnet20_cifar", num_classes=100)
    model.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["architecture"] == "scalenet_custom"
    assert cfg["num_classes"] == 100
    assert cfg["num_features"] == 64
    assert cfg["pretrained_cfg"]["input_size"] == [3, 32, 32]
    assert cfg["pretrained_cfg"]["mean"] == [0.4914, 0.4822, 0.4465]
    # As timm writes it: the class count at the top level only (timm and transformers pass
    # model_args to the entrypoint beside their own num_classes), and no class names for a
    # head that is not CIFAR-10's.
    assert "num_classes" not in cfg["model_args"]
    assert "label_names" not in cfg
    assert scalenet.config_from_dict({**cfg["model_args"], "num_classes": 100}) == model.config
    card = (tmp_path / "README.md").read_text()
    front = card.split("---")[1]
    assert "pipeline_tag: image-classification" in front
    assert "library_name: timm" in front
    assert "license" not in front  # the user's weights: no licence unless they give one
    assert "275,572" in card  # 269,722 - 650 (10-class fc) + 6,500 (100-class fc)
    assert "40,556,800" in card  # MACs: 40,551,040 - 640 (10-class fc) + 6,400 (100-class fc)


def test_model_card_shows_metrics_and_recipe(tmp_path: Path) -> None:
    model = scalenet.create("simple_cnn_cifar")
    model.save_pretrained(tmp_path, metrics={"top1": 81.5}, training={"epochs": 30, "opt": "sgd"})
    card = (tmp_path / "README.md").read_text()
    assert "| top1 | 81.5 |" in card
    assert "| epochs | 30 |" in card


def test_save_into_existing_directory_keeps_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert files_under(tmp_path) == {"notes.txt", "model.safetensors", "config.json", "README.md"}


def test_interrupted_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    # Interrupted in the middle of writing the weights: the header is on disk, the data not.
    monkeypatch.setattr(scalenet.io.safetensors, "_bytes", crash)
    with pytest.raises(KeyboardInterrupt):
        scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "new")
    assert files_under(tmp_path) == set()
    # Into an existing save: the old files stay whole.
    monkeypatch.undo()
    first = scalenet.create("resnet20_cifar")
    first.save_pretrained(tmp_path / "old")
    before = {p: (tmp_path / "old" / p).read_bytes() for p in files_under(tmp_path / "old")}
    monkeypatch.setattr(scalenet.io.safetensors, "_bytes", crash)
    with pytest.raises(KeyboardInterrupt):
        scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "old")
    after = {p: (tmp_path / "old" / p).read_bytes() for p in files_under(tmp_path / "old")}
    assert after == before
    assert files_under(tmp_path) == {"old", *(f"old/{p}" for p in before)}


# --- torchvision weights ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_torchvision_file_loads_and_gives_torchvision_logits(tmp_path: Path, name: str) -> None:
    ref = getattr(torchvision.models, name)().eval()
    x = torch.randn(2, 3, 64, 64)
    for path in (tmp_path / "tv.pth", tmp_path / "tv.safetensors"):
        if path.suffix == ".pth":
            torch.save(ref.state_dict(), path)
        else:
            safetensors.torch.save_file(ref.state_dict(), str(path))
        model = scalenet.create(name)
        scalenet.load_weights(model, path)
        with torch.no_grad():
            torch.testing.assert_close(model.eval()(x), ref(x), rtol=0, atol=0)


def test_training_checkpoint_with_ddp_prefix(tmp_path: Path) -> None:
    ref = scalenet.create("resnet20_cifar")
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "ckpt.pth")
    model = scalenet.create("resnet20_cifar")
    scalenet.load_weights(model, tmp_path / "ckpt.pth")
    for a, b in zip(model.state_dict().values(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline Hub cache holding timm's torchvision repos (weights made here, no download)."""
    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def put_in_cache(cache: Path, repo_id: str, files: dict[str, torch.nn.Module]) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    snapshot = repo / "snapshots" / sha
    snapshot.mkdir(parents=True)
    for name, module in files.items():
        safetensors.torch.save_file(module.state_dict(), str(snapshot / name))


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_create_pretrained_offline_from_the_hub_cache(hub_cache: Path, name: str) -> None:
    ref = getattr(torchvision.models, name)().eval()
    put_in_cache(hub_cache, f"timm/{name}.tv_in1k", {"model.safetensors": ref})
    model = scalenet.create(name, pretrained=True).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=0, atol=0)
    # New head and a grey-scale stem: adapted, with warnings, the rest of the weights kept.
    with pytest.warns(UserWarning, match="classifier was re-initialised") as caught:
        small = scalenet.create(name, pretrained=True, num_classes=10, in_chans=1)
    assert any("first conv was adapted from 3 to 1" in str(w.message) for w in caught)
    assert torch.equal(small.layer1[0].conv1.weight, ref.layer1[0].conv1.weight)
    torch.testing.assert_close(small.conv1.weight, ref.conv1.weight.sum(1, keepdim=True))
    assert small(torch.randn(1, 1, 64, 64)).shape == (1, 10)
    assert not any(t.is_meta for t in [*small.parameters(), *small.buffers()])
    assert small.pretrained_cfg["input_size"] == (1, 224, 224)
    assert small.pretrained_cfg["num_classes"] == 10


def test_pretrained_for_a_model_without_weights() -> None:
    with pytest.raises(WeightsError, match="no published weights for 'plain20_cifar'"):
        scalenet.create("plain20_cifar", pretrained=True)


# --- bad inputs ---------------------------------------------------------------------------------


class Payload:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"conv1.weight": torch.zeros(1), "evil": Payload(marker)}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match=r"weights_only=True"):
        scalenet.load_weights(scalenet.create("resnet20_cifar"), tmp_path / "evil.pth")
    assert not marker.exists()


def test_truncated_safetensors(tmp_path: Path) -> None:
    model = scalenet.create("resnet20_cifar")
    model.save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        scalenet.from_pretrained(tmp_path / "m")
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        scalenet.load_weights(model, weights)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"width": 10**6}, r"width=1000000 is not allowed"),
        ({"depths": [3, -1, 3]}, r"depths=.*item 1 is -1"),
        ({"block": "resnext"}, r"block='resnext' is not allowed"),
        ({"width": "16"}, r"width='16' is not allowed"),
        ({"colour": "red"}, r"colour='red' is not allowed"),
        ({"depths": [4000, 4000, 4000], "width": 512}, r"parameters.*MAX_PARAMS"),
    ],
)
def test_bad_config_json_fails_before_any_weights(
    tmp_path: Path, change: dict[str, object], match: str
) -> None:
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["model_args"] |= change
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=match):
        scalenet.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "text", ["[1, 2, 3]", "{not json", '{"architecture": "x"}', '{"model_args": [1]}']
)
def test_config_json_of_the_wrong_type(tmp_path: Path, text: str) -> None:
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ConfigError):
        scalenet.from_pretrained(tmp_path)


def test_state_dict_of_another_architecture(tmp_path: Path) -> None:
    deeper = scalenet.create("resnet32_cifar").state_dict()
    with pytest.raises(WeightsError, match=r"unexpected 72: layer1\.3\.conv1\.weight \(16, 16,"):
        scalenet.load_weights(scalenet.create("resnet20_cifar"), deeper)
    shallower = scalenet.create("resnet20_cifar").state_dict()
    with pytest.raises(WeightsError, match=r"missing 72: layer1\.3\.conv1\.weight"):
        scalenet.load_weights(scalenet.create("resnet32_cifar"), shallower)
    narrower = scalenet.create("scalenet_w48").state_dict()
    expected = r"shape mismatch 100: conv1\.weight checkpoint \(48, 3, 7, 7\) vs model \(64,"
    with pytest.raises(WeightsError, match=expected):
        scalenet.load_weights(scalenet.create("resnet18"), narrower)
    # A saved repo whose weights do not match its own config.
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path)
    safetensors.torch.save_file(
        scalenet.create("resnet32_cifar").state_dict(), str(tmp_path / "model.safetensors")
    )
    with pytest.raises(WeightsError, match="do not fit"):
        scalenet.from_pretrained(tmp_path)


def test_directory_without_weights(tmp_path: Path) -> None:
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="no weights file"):
        scalenet.from_pretrained(tmp_path)
    with pytest.raises(WeightsError, match=r"no config\.json"):
        scalenet.from_pretrained(tmp_path.parent)
    with pytest.raises(WeightsError, match="unknown weights format"):
        scalenet.load_weights(scalenet.create("resnet20_cifar"), tmp_path / "config.json")


def test_from_pretrained_with_a_new_head_and_stem(tmp_path: Path) -> None:
    model = scalenet.create("resnet20_cifar")
    model.save_pretrained(tmp_path / "m")
    with pytest.warns(UserWarning, match="re-initialised for 5 classes") as caught:
        tuned = scalenet.from_pretrained(tmp_path / "m", num_classes=5, in_chans=1)
    assert any("adapted from 3 to 1 input channels" in str(w.message) for w in caught)
    assert torch.equal(tuned.layer2[0].conv1.weight, model.layer2[0].conv1.weight)
    # timm's rule for one channel: the sum of the RGB filters.
    torch.testing.assert_close(tuned.conv1.weight, model.conv1.weight.sum(1, keepdim=True))
    assert not any(t.is_meta for t in [*tuned.parameters(), *tuned.buffers()])
    assert tuned(torch.randn(2, 1, 32, 32)).shape == (2, 5)
    # What timm reads from the model describes the model as it now is.
    data = timm.data.resolve_data_config({}, model=tuned)
    assert data["input_size"] == (1, 32, 32)
    assert tuned.pretrained_cfg["num_classes"] == 5

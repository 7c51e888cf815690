"""CIFAR/SVHN weights from URLs: each source's file, as the source ships it, loads into
scalenet's architecture and computes bit for bit what the source's own model computes.

The truth: pytorchcv itself (its ``CIFARResNet``), and for chenyaofo and akamaster small
reference modules written here from their published ``resnet.py`` (structure and key names).
Weights are random (seeded); the files are served from 127.0.0.1 through
``SCALENET_WEIGHTS_MIRROR``, with the record's hash replaced by the test file's own.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import importlib.resources
import re
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from huggingface_hub import constants
from pytorchcv.models.preresnet_cifar import get_preresnet_cifar
from pytorchcv.models.resnet_cifar import get_resnet_cifar
from pytorchcv.models.resnext_cifar import get_resnext_cifar
from pytorchcv.models.wrn_cifar import get_wrn_cifar
from torch import Tensor, nn

import scalenet
from scalenet import WeightsError
from scalenet.hub import urls as dl
from scalenet.hub.card import model_card
from scalenet.hub.published import load_state_dict
from scalenet.io.weights import weights_digest
from scalenet.weights import CATALOG, UrlFile, Weights, get_weights
from scalenet.weights.layouts import convert
from url_server import file_server

CIFAR = [w for ws in CATALOG.values() for w in ws if w.dataset != "imagenet-1k"]


pytestmark = pytest.mark.usefixtures("one_thread")


# -- the sources' reference models (written from their resnet.py) -----------------------------


class _RefBasic(nn.Module):
    """chenyaofo's ``BasicBlock`` (torchvision's) / akamaster's (``option='A'``)."""

    def __init__(self, cin: int, cout: int, stride: int, option: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.option = option
        self.pad = cout // 4
        self.downsample: nn.Module | None = None
        if option == "B" and (stride != 1 or cin != cout):
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )
        self.reshape = stride != 1 or cin != cout

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            x = self.downsample(x)
        elif self.option == "A" and self.reshape:  # akamaster's LambdaLayer
            x = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)
        return F.relu(out + x)


class _RefCifarResNet(nn.Module):
    """chenyaofo's ``CifarResNet`` (head ``fc``, adaptive pool) or akamaster's ``ResNet``
    (head ``linear``, ``F.avg_pool2d`` over the whole map)."""

    def __init__(self, n: int, num_classes: int, option: str) -> None:
        super().__init__()
        self.option = option
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, cout in enumerate((16, 32, 64)):
            blocks = []
            for j in range(n):
                blocks.append(_RefBasic(cin, cout, 2 if (i > 0 and j == 0) else 1, option))
                cin = cout
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        head = nn.Linear(64, num_classes)
        if option == "A":
            self.linear = head
        else:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = head

    def features(self, x: Tensor) -> Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, x.size(3)) if self.option == "A" else self.avgpool(x)

    @property
    def head(self) -> nn.Module:
        return self.linear if self.option == "A" else self.fc

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def _randomise(model: nn.Module) -> nn.Module:
    """Random BN parameters and statistics (so that a swapped layer shows), eval mode."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                assert m.running_mean is not None
                assert m.running_var is not None
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model.eval()


# -- serving files as the sources do ----------------------------------------------------------


def _hash(path: Path, algorithm: str) -> str:
    if algorithm == "git-blob":  # git's own id of the file
        done = subprocess.run(
            ["git", "hash-object", str(path)], check=True, capture_output=True, text=True
        )
        return done.stdout.strip()
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def _served(root: Path, url: str) -> Path:
    """Where the mirror serves ``url`` from: ``<root>/<host>/<path>``."""
    target = root / dl.mirror_url(url, "x").removeprefix("x/")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _publish(weights: Weights, root: Path, obj: Any, work: Path) -> Weights:
    """``obj`` saved as the record's source ships it, served under ``root``; the record with
    the file's real hash."""
    file = weights.file
    assert isinstance(file, UrlFile)
    target = _served(root, file.url)
    if file.member is None:
        torch.save(obj, target)
        digest = _hash(target, file.algorithm)
    else:  # pytorchcv: torch.save(state_dict) to NAME-ERROR-SHA1[:8].pth, zipped
        member = work / file.member
        torch.save(obj, member)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(member, file.member)
        digest = _hash(member, file.algorithm)
    return dataclasses.replace(weights, file=dataclasses.replace(file, digest=digest))


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online: None) -> Iterator[Any]:
    root = tmp_path / "served"
    root.mkdir()
    with file_server(root) as server:
        monkeypatch.setenv(dl.MIRROR_ENV, server.url + "/mirror/")
        server.root = root / "mirror"
        yield server


def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _scalenet_model(weights: Weights, **changes: Any) -> nn.Module:
    config = scalenet.get_config(weights.arch).replace(**weights.config_changes(), **changes)
    return config.build().eval()


def _assert_same_logits(weights: Weights, ref: nn.Module, cache: Path, **changes: Any) -> None:
    """Features (every conv, BN and shortcut) and the classifier bit for bit; the logits bit
    for bit where the reference pools as scalenet does (``AdaptiveAvgPool2d(1)``), else to
    float rounding: pytorchcv's ``AvgPool2d(8)`` and akamaster's ``F.avg_pool2d(x, 8)`` sum
    in another order (up to 1 unit in the last place of the pooled features)."""
    model = _scalenet_model(weights, **changes)
    model.load_state_dict(load_state_dict(weights, cache_dir=cache), strict=True)
    x = torch.randn(4, 3, 32, 32)
    features, pool = _split(ref)
    with torch.no_grad():
        expected = ref(x)
        assert torch.equal(model.forward_features(x), features(x))
        assert torch.equal(model.get_classifier()(pool(features(x)).flatten(1)), expected)
        got = model(x)
    if isinstance(ref, _RefCifarResNet) and ref.option == "B":  # chenyaofo: the same pooling
        assert torch.equal(got, expected)
    else:
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5 * expected.abs().max().item())


def _split(ref: nn.Module) -> tuple[Any, Any]:
    """The reference's features and pooling, as its forward applies them."""
    if isinstance(ref, _RefCifarResNet):
        return ref.features, ref.pool
    features: nn.Sequential = ref.features  # type: ignore[assignment]  # pytorchcv
    return features[:-1], features.final_pool


# -- each source, end to end --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reference", "changes"),
    [
        ("resnet20_cifar_proj.pytorchcv_cifar10", lambda c: get_resnet_cifar(c, 20, False), {}),
        ("resnet56_cifar_proj.pytorchcv_cifar100", lambda c: get_resnet_cifar(c, 56, False), {}),
        ("resnet20_cifar_proj.pytorchcv_svhn", lambda c: get_resnet_cifar(c, 20, False), {}),
        # resnet1001's file layout on a 29-layer bottleneck net (3 units a stage)
        (
            "resnet1001_cifar_proj.pytorchcv_cifar10",
            lambda c: get_resnet_cifar(c, 29, True),
            {"depths": (3, 3, 3)},
        ),
        # The pre-activation nets, WRNs and ResNeXts: their own file layouts, some made
        # smaller (fewer blocks, a narrower WRN) with the same keys per unit.
        ("preresnet20_cifar.pytorchcv_cifar100", lambda c: get_preresnet_cifar(c, 20, False), {}),
        (
            "preresnet164_cifar.pytorchcv_cifar10",
            lambda c: get_preresnet_cifar(c, 29, True),
            {"depths": (3, 3, 3)},
        ),
        (
            "wrn28_10_cifar.pytorchcv_svhn",
            lambda c: get_wrn_cifar(c, 16, 2),
            {"depths": (2, 2, 2), "widen_factor": 2},
        ),
        ("resnext29_32x4d_cifar.pytorchcv_cifar10", lambda c: get_resnext_cifar(c, 29, 32, 4), {}),
    ],
)
def test_pytorchcv_file_loads_bit_identical(
    mirror: Any,
    tmp_path: Path,
    name: str,
    reference: Callable[[int], nn.Module],
    changes: dict[str, Any],
) -> None:
    weights = get_weights(name)
    ref = _randomise(reference(weights.num_classes))
    weights = _publish(weights, mirror.root, ref.state_dict(), tmp_path)
    _assert_same_logits(weights, ref, tmp_path / "cache", **changes)
    assert mirror.requests == ["/mirror/" + weights.file.url.removeprefix("https://")]


@pytest.mark.parametrize(
    "name", ["resnet20_cifar_proj.chenyaofo_cifar10", "resnet32_cifar_proj.chenyaofo_cifar100"]
)
def test_chenyaofo_file_loads_bit_identical(mirror: Any, tmp_path: Path, name: str) -> None:
    weights = get_weights(name)
    n = (int(weights.arch.removeprefix("resnet").split("_")[0]) - 2) // 6
    ref = _randomise(_RefCifarResNet(n, weights.num_classes, "B"))
    weights = _publish(weights, mirror.root, ref.state_dict(), tmp_path)
    _assert_same_logits(weights, ref, tmp_path / "cache")


def _akamaster_checkpoint(ref: nn.Module) -> dict[str, Any]:
    """As trainer.py saves it, from a DataParallel model; the 2018 files (PyTorch 0.3) have
    no ``num_batches_tracked``."""
    state = nn.DataParallel(ref).state_dict()
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    return {"state_dict": state, "best_prec1": 91.78}


@pytest.mark.parametrize("depth", [20, 32])
def test_akamaster_file_loads_bit_identical(mirror: Any, tmp_path: Path, depth: int) -> None:
    weights = get_weights(f"resnet{depth}_cifar.akamaster_cifar10")
    ref = _randomise(_RefCifarResNet((depth - 2) // 6, 10, "A"))
    checkpoint = _akamaster_checkpoint(ref)
    assert all(k.startswith("module.") for k in checkpoint["state_dict"])
    weights = _publish(weights, mirror.root, checkpoint, tmp_path)
    _assert_same_logits(weights, ref, tmp_path / "cache")


def test_resnet110_of_akamaster_is_checked_by_all_40_digits_of_its_git_blob_id(
    mirror: Any, tmp_path: Path
) -> None:
    """akamaster's ResNet-110 and -1202 records held the 8 hex digits of SHA-256 in the file
    names: any file matching those 32 bits was accepted. They hold the git blob id that the
    repository's tree lists for the file, checked in full: a stand-in file served under the
    URL loads bit-identical with its own id (``git hash-object``), and is refused by a
    record whose id differs in the last of its 40 digits."""
    weights = get_weights("resnet110_cifar.akamaster_cifar10")
    assert isinstance(weights.file, UrlFile)
    assert (weights.file.algorithm, len(weights.file.digest)) == ("git-blob", 40)
    assert not weights.file.prefix_only
    ref = _randomise(_RefCifarResNet(18, 10, "A"))
    weights = _publish(weights, mirror.root, _akamaster_checkpoint(ref), tmp_path)
    digest = weights.file.digest
    wrong = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    refused = dataclasses.replace(weights, file=dataclasses.replace(weights.file, digest=wrong))
    with pytest.raises(
        WeightsError, match=f"published git-blob hash: expected {wrong}, got {digest}"
    ):
        load_state_dict(refused, cache_dir=tmp_path / "cache")
    assert _files(tmp_path / "cache") == []
    _assert_same_logits(weights, ref, tmp_path / "cache")


def test_only_records_whose_source_publishes_a_prefix_hold_one_and_say_so() -> None:
    """Each URL record holds its file's full hash (SHA-256, pytorchcv's SHA-1, a git blob
    id), but chenyaofo's, whose release files are named by 8 digits of SHA-256 and nothing
    more: those are ``prefix_only``, and their model cards and notes say so."""
    records = [w for arch in CATALOG.values() for w in arch]
    short = [w for w in records if isinstance(w.file, UrlFile) and w.file.prefix_only]
    assert {w.tag for w in short} == {"chenyaofo_cifar10", "chenyaofo_cifar100"}
    assert len(short) == 8
    for w in short:
        assert "8-digit suffix of the file name, a SHA-256 prefix" in w.notes
        model = scalenet.create(w.name)
        model.pretrained_cfg["weights_digest"] = weights_digest(model)  # as if loaded
        assert f"SHA-256 prefix {w.file.digest}: the 8 digits its source publishes" in model_card(
            model
        )


# -- the cache, hashes, offline, failures -----------------------------------------------------


def _small(mirror: Any, tmp_path: Path) -> tuple[Weights, nn.Module]:
    weights = get_weights("resnet20_cifar.akamaster_cifar10")
    ref = _randomise(_RefCifarResNet(3, 10, "A"))
    return _publish(weights, mirror.root, _akamaster_checkpoint(ref), tmp_path), ref


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_default_cache_is_under_hf_hub_cache(
    mirror: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, _ = _small(mirror, tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    load_state_dict(weights)
    url = weights.file.url.removeprefix("https://")
    assert _files(tmp_path / "hub") == [tmp_path / "hub" / "scalenet-urls" / url]


def test_wrong_hash_refused_and_nothing_kept(mirror: Any, tmp_path: Path) -> None:
    weights, _ = _small(mirror, tmp_path)
    wrong = dataclasses.replace(weights, file=dataclasses.replace(weights.file, digest="0" * 64))
    actual = _hash(_served(mirror.root, weights.file.url), "sha256")
    with pytest.raises(WeightsError) as err:
        load_state_dict(wrong, cache_dir=tmp_path / "cache")
    assert weights.file.url in str(err.value)
    assert "0" * 64 in str(err.value)
    assert actual in str(err.value)
    assert _files(tmp_path / "cache") == []
    assert list((tmp_path / "cache" / "scalenet-urls").iterdir()) == []


def test_wrong_member_hash_refused_and_nothing_kept(mirror: Any, tmp_path: Path) -> None:
    weights = get_weights("resnet20_cifar_proj.pytorchcv_cifar10")
    weights = _publish(weights, mirror.root, {"output.bias": torch.zeros(10)}, tmp_path)
    wrong = dataclasses.replace(weights, file=dataclasses.replace(weights.file, digest="ab" * 20))
    with pytest.raises(WeightsError, match="does not have the published sha1 hash: expected ab"):
        load_state_dict(wrong, cache_dir=tmp_path / "cache")
    assert _files(tmp_path / "cache") == []


def test_offline_reuses_the_cache_with_the_server_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online: None
) -> None:
    served = tmp_path / "served"
    with file_server(served) as server:
        monkeypatch.setenv(dl.MIRROR_ENV, server.url)
        server.root = served
        weights, _ = _small(server, tmp_path)
        first = load_state_dict(weights, cache_dir=tmp_path / "cache")
    _offline(monkeypatch)
    again = load_state_dict(weights, cache_dir=tmp_path / "cache")
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_offline_with_nothing_cached_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline(monkeypatch)
    weights = get_weights("resnet56_cifar_proj.pytorchcv_cifar10")
    start = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        load_state_dict(weights, cache_dir=tmp_path / "cache")
    assert time.perf_counter() - start < 2
    message = str(err.value)
    path = dl.cache_path(weights.file, tmp_path / "cache")
    for part in (weights.file.url, str(path), "HF_HUB_OFFLINE", dl.MIRROR_ENV):
        assert part in message
    assert not (tmp_path / "cache").exists()


def test_no_answer_is_one_attempt_and_a_prompt_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online: None
) -> None:
    weights = get_weights("resnet20_cifar.akamaster_cifar10")
    with file_server(tmp_path, answer=False) as server:
        monkeypatch.setenv(dl.MIRROR_ENV, server.url)
        start = time.perf_counter()
        with pytest.raises(WeightsError) as err:
            load_state_dict(weights, cache_dir=tmp_path / "cache")
        elapsed = time.perf_counter() - start
    assert server.requests == ["<dropped>"]  # one connection, no retry
    assert elapsed < 2
    message = str(err.value)
    for part in (
        weights.file.url,
        server.url,
        str(dl.cache_path(weights.file, tmp_path / "cache")),
    ):
        assert part in message
    assert _files(tmp_path / "cache") == []


def test_missing_file_names_the_status(mirror: Any, tmp_path: Path) -> None:
    weights = get_weights("resnet44_cifar.akamaster_cifar10")
    with pytest.raises(WeightsError, match="HTTP 404"):
        load_state_dict(weights, cache_dir=tmp_path / "cache")


def test_damaged_cache_is_downloaded_again_online_and_refused_offline(
    mirror: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, _ = _small(mirror, tmp_path)
    cache = tmp_path / "cache"
    good = load_state_dict(weights, cache_dir=cache)
    cached = dl.cache_path(weights.file, cache)
    data = bytearray(cached.read_bytes())
    data[-100] ^= 0xFF
    cached.write_bytes(bytes(data))
    _offline(monkeypatch)
    with pytest.raises(WeightsError, match="damaged") as err:
        load_state_dict(weights, cache_dir=cache)
    assert str(cached) in str(err.value)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    again = load_state_dict(weights, cache_dir=cache)
    assert len(mirror.requests) == 2
    assert all(torch.equal(good[k], again[k]) for k in good)


def test_mirror_url_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://github.com/osmr/imgclsmob/releases/download/v0.0.163/a.pth.zip"
    monkeypatch.delenv(dl.MIRROR_ENV, raising=False)
    assert dl.mirror_url(url) == url
    monkeypatch.setenv(dl.MIRROR_ENV, "https://m.example/w")
    assert dl.mirror_url(url) == (
        "https://m.example/w/github.com/osmr/imgclsmob/releases/download/v0.0.163/a.pth.zip"
    )
    assert dl.mirror_url(url, "file:///srv/w/") == (
        "file:///srv/w/github.com/osmr/imgclsmob/releases/download/v0.0.163/a.pth.zip"
    )


def test_hostile_zip_member_refused(mirror: Any, tmp_path: Path) -> None:
    weights = get_weights("resnet20_cifar_proj.pytorchcv_cifar10")
    file = weights.file
    assert isinstance(file, UrlFile)
    assert file.member is not None
    payload = tmp_path / "payload.pth"
    torch.save({"output.bias": torch.zeros(10)}, payload)
    with zipfile.ZipFile(_served(mirror.root, file.url), "w") as zf:
        zf.write(payload, "../evil.pth")
        zf.write(payload, file.member)
    patched = dataclasses.replace(
        weights, file=dataclasses.replace(file, digest=_hash(payload, "sha1"))
    )
    with pytest.raises(WeightsError, match="path parts"):
        load_state_dict(patched, cache_dir=tmp_path / "cache" / "inner")
    assert _files(tmp_path / "cache") == []


def test_download_over_the_size_cap_refused(
    mirror: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, _ = _small(mirror, tmp_path)
    monkeypatch.setattr(dl, "MAX_BYTES", 1000)
    with pytest.raises(WeightsError, match=r"over 1,000 bytes \(the download limit\)"):
        load_state_dict(weights, cache_dir=tmp_path / "cache")
    assert _files(tmp_path / "cache") == []


@pytest.mark.parametrize(
    "name", ["resnet20_cifar_proj.pytorchcv_cifar10", "resnet20_cifar.akamaster_cifar10"]
)
def test_a_file_larger_than_its_weights_can_be_is_refused_before_it_is_read(
    mirror: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A pytorchcv zip's member was unpacked to disk (up to 2 GiB) before its hash was
    checked; any download could be 2 GiB. Now the bound is what a file of the weights'
    architecture can hold: twice its float32 state dict (measured on the model here) and
    1 MiB for the container. At the bound the file is read and its hash checked; one byte
    over, it is refused before it is unpacked or read, by scalenet.create and
    timm.create_model alike, and nothing is kept."""
    import timm

    weights = get_weights(name)
    state = _scalenet_model(weights).state_dict()
    bound = 2 * sum(t.numel() * 4 for t in state.values()) + (1 << 20)
    file = weights.file
    assert isinstance(file, UrlFile)
    patched = dataclasses.replace(weights, file=dataclasses.replace(file, digest="ab" * 20))
    _catalogued(monkeypatch, patched)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    for size, refusal in (
        (bound, "does not have the published"),
        (bound + 1, f"over {bound:,} bytes"),
    ):
        if file.member is None:
            _served(mirror.root, file.url).write_bytes(bytes(size))
        else:  # a zip of a few kB, its member of `size` zeros
            with zipfile.ZipFile(_served(mirror.root, file.url), "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(file.member, bytes(size))
        for create in (scalenet.create, timm.create_model):
            with pytest.raises(WeightsError, match=refusal):
                create(name, pretrained=True)
        assert _files(tmp_path / "hub") == []


# -- converters ---------------------------------------------------------------------------------


def test_converters_name_unknown_keys() -> None:
    state = get_resnet_cifar(10, 20, False).state_dict()
    state["features.stage1.unit1.body.conv1.extra"] = torch.zeros(1)
    with pytest.raises(WeightsError, match=r"1 key\(s\).*pytorchcv.*body\.conv1\.extra"):
        convert("pytorchcv", state)
    option_b = {"module.layer2.0.shortcut.0.weight": torch.zeros(1)}
    with pytest.raises(WeightsError, match=r"akamaster layout does not name: layer2\.0\.shortcut"):
        convert("akamaster", {"state_dict": option_b})
    with pytest.raises(WeightsError, match="'state_dict'"):
        convert("akamaster", {"model": option_b})


# -- the records' facts -------------------------------------------------------------------------


def _pytorchcv_csv() -> dict[str, list[str]]:
    text = importlib.resources.files("pytorchcv.models.common").joinpath("model_metainfos.csv")
    rows = list(csv.reader(text.read_text(encoding="utf-8").splitlines()))
    return {row[0]: row for row in rows[1:]}


def test_pytorchcv_records_follow_its_csv() -> None:
    """Every CIFAR-10/100 and SVHN row of pytorchcv's table for a net scalenet builds (its
    ResNets, pre-activation ResNets, WRNs and ResNeXts) that has a file is a record, with
    pytorchcv's params, error and file."""
    table = _pytorchcv_csv()
    records = {
        w.file.member.split("-")[0]: w
        for w in CIFAR
        if w.layout == "pytorchcv" and isinstance(w.file, UrlFile) and w.file.member
    }
    assert len(records) == len([w for w in CIFAR if w.layout == "pytorchcv"])
    family = re.compile(
        r"(resnet(20|56|110|1001|1202)|preresnet(20|56|110|164bn|272bn|542bn|1001|1202)"
        r"|wrn(16_10|28_10|40_8)|resnext(29_32x4d|29_16x64d|272_1x64d|272_2x32d))"
        r"_(cifar10|cifar100|svhn)"
    )
    expected = {n for n, row in table.items() if family.fullmatch(n) and row[3] != "NA"}
    assert set(records) == expected
    assert len(records) == 56
    for name, w in records.items():
        _, params, error, sha1, tag, *_ = table[name]
        assert scalenet.profile(w.name).params == int(params), name  # pytorchcv's own count
        assert w.top1 == pytest.approx(100 - int(error) / 100)
        assert w.file == UrlFile(
            f"https://github.com/osmr/imgclsmob/releases/download/{tag}/"
            f"{name}-{error}-{sha1[:8]}.pth.zip",
            sha1,
            algorithm="sha1",
            member=f"{name}-{error}-{sha1[:8]}.pth",
        )
        assert name.rsplit("_", 1)[1] == w.dataset


def test_default_tag_is_best_cifar10() -> None:
    for arch, ws in CATALOG.items():
        if ws[0].dataset == "imagenet-1k":
            continue
        cifar10 = [w for w in ws if w.dataset == "cifar10"]
        assert ws[0] == max(cifar10, key=lambda w: w.top1 or 0), arch


# -- through scalenet.create and timm.create_model, by name -------------------------------------


def _catalogued(monkeypatch: pytest.MonkeyPatch, weights: Weights) -> None:
    """Put ``weights`` (its hash the served file's) into the catalogue, for this test."""
    kept = tuple(weights if w.tag == weights.tag else w for w in CATALOG[weights.arch])
    monkeypatch.setitem(CATALOG, weights.arch, kept)


def test_create_and_timm_load_a_tag_by_name(
    mirror: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``create("arch.tag", pretrained=True)``, ``create("arch", pretrained=True)`` (its default
    tag) and ``timm.create_model("arch.tag", pretrained=True)`` load the source's file, and
    compute what the source's model computes; offline, the cache serves all three."""
    import timm

    weights, ref = _small(mirror, tmp_path)
    assert scalenet.weights.default_tag(weights.arch) == weights.tag
    _catalogued(monkeypatch, weights)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    x = torch.randn(2, 3, 32, 32)
    models = {
        "tagged": scalenet.create(weights.name, pretrained=True),
        "default": scalenet.create(weights.arch, pretrained=True),
        "timm": timm.create_model(weights.name, pretrained=True),
    }
    assert len(mirror.requests) == 1  # one download, then the cache
    features, _pool = _split(ref)
    with torch.no_grad():
        expected = ref(x)
        for how, model in models.items():
            model.eval()
            assert torch.equal(model.forward_features(x), features(x)), how
            torch.testing.assert_close(
                model(x), expected, rtol=0, atol=1e-5 * expected.abs().max().item()
            )
            cfg = model.pretrained_cfg
            assert (cfg["tag"], cfg["license"], cfg["url"]) == (
                weights.tag,
                weights.license,
                weights.file.url,
            ), how
            assert tuple(cfg["mean"]) == weights.mean, how
    _offline(monkeypatch)
    again = scalenet.create(weights.name, pretrained=True).eval()
    with torch.no_grad():
        assert torch.equal(again(x), models["tagged"](x))
    assert len(mirror.requests) == 1


def test_tag_sets_the_fields_its_weights_need_and_overrides_win(
    mirror: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CIFAR-100 tag builds 100 classes (without ``pretrained`` too, as timm's tags do);
    ``num_classes=10`` keeps the trained features and gives a fresh head, with a warning."""
    weights = get_weights("resnet20_cifar_proj.pytorchcv_cifar100")
    assert scalenet.create(weights.name).num_classes == 100
    assert scalenet.create("resnet20_cifar_proj").num_classes == 10
    ref = _randomise(get_resnet_cifar(100, 20, False))
    weights = _publish(weights, mirror.root, ref.state_dict(), tmp_path)
    _catalogued(monkeypatch, weights)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.warns(UserWarning, match="classifier was re-initialised"):
        model = scalenet.create(weights.name, pretrained=True, num_classes=10).eval()
    assert model.num_classes == 10
    assert model.pretrained_cfg["num_classes"] == 10
    features, _ = _split(ref)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.forward_features(x), features(x))


def test_unknown_tags_and_archs_without_weights_are_named() -> None:
    with pytest.raises(scalenet.ConfigError, match="akamaster_cifar10"):
        scalenet.create("resnet20_cifar.nope")
    with pytest.raises(WeightsError, match="no published weights for 'plain20_cifar'"):
        scalenet.create("plain20_cifar", pretrained=True)
    with pytest.raises(WeightsError, match="no published weights"):
        scalenet.create("plain20_cifar.akamaster_cifar10")


@pytest.mark.parametrize("name", ["resnet20_cifar", "resnet20_cifar.akamaster_cifar10"])
def test_timm_and_scalenet_give_a_name_the_same_preprocessing(name: str) -> None:
    """No tag: the entry's own preprocessing (CIFAR-10's mean/std), in timm too, though timm
    registers the default tag's cfg; a tag: its weights' (akamaster normalises with ImageNet's
    mean/std, its trainer.py), both ways, and in timm's data config."""
    import timm
    from timm.data import resolve_data_config

    ours = scalenet.create(name).pretrained_cfg
    theirs = timm.create_model(name).pretrained_cfg
    keys = ("mean", "std", "crop_pct", "interpolation", "license", "input_size", "num_classes")
    assert {k: tuple(v) if isinstance(v := ours.get(k), list | tuple) else v for k in keys} == {
        k: tuple(v) if isinstance(v := theirs.get(k), list | tuple) else v for k in keys
    }  # a licence with the tag's weights only (timm's cfg holds None where ours has none)
    assert ours.get("tag") == theirs.get("tag") == scalenet.weights.split_name(name)[1]
    expected = get_weights(name).mean if "." in name else scalenet.config.CIFAR_MEAN
    assert resolve_data_config({}, model=timm.create_model(name))["mean"] == expected

"""Pretrained weights from the Hub: quick, named failures offline, the cache without the Hub,
and timm's published layout served by a real Hub server (olah on 127.0.0.1) end to end.

The truth is torchvision's resnet50 and timm's own functions: a seeded torchvision resnet50 is
published the way timm publishes ``timm/resnet50.tv_in1k`` (``timm.models.save_for_hf``), and
what scalenet and timm load from it must compute exactly what torchvision computes.
"""

from __future__ import annotations

import contextlib
import copy
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import timm
import torch
from timm.models import adapt_input_conv
from torch import Tensor, nn

import scalenet
import scalenet.hub.fetch
from hub_servers import (
    HOST,
    TV_IN1K_FILES,
    TV_IN1K_REPO,
    HfEnv,
    HubServer,
    Published,
    PushServer,
    hf_hub_environment,
    publish_torchvision_resnet50,
)

REPO = TV_IN1K_REPO  # what scalenet.create("resnet50", pretrained=True) reads
SIZE = 64  # input size: small, so resnet50 runs in milliseconds
FAST = 2.0  # seconds within which a Hub that cannot be reached must give an answer
T = TypeVar("T")


@pytest.fixture(scope="module")
def published(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> Published:
    return publish_torchvision_resnet50(hub_server, tmp_path_factory.mktemp("tv_in1k"))


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Hugging Face home (and cache) for the module's end-to-end tests."""
    return tmp_path_factory.mktemp("hf-home")


@pytest.fixture
def olah(hub_server: HubServer, published: Published, hf_home: Path) -> Iterator[HfEnv]:
    """huggingface_hub reading from olah, with the module's cache."""
    with hf_hub_environment(hub_server.endpoint, hf_home) as env:
        yield env


def closed_port() -> str:
    """The endpoint of a port on 127.0.0.1 nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    return f"http://{HOST}:{port}"


@contextlib.contextmanager
def unanswered_port() -> Iterator[str]:
    """An endpoint that takes no connection: a listener whose accept queue is full, so the
    kernel drops further SYNs, as a firewall that blackholes the Hub would."""
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(socket.socket())
        server.bind((HOST, 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(4):
            client = stack.enter_context(socket.socket())
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect((HOST, port))
        time.sleep(0.1)
        probe = stack.enter_context(socket.socket())
        probe.settimeout(0.2)
        with pytest.raises(TimeoutError):  # the premise: connecting now hangs
            probe.connect((HOST, port))
        yield f"http://{HOST}:{port}"


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """What ``call()`` returns, and the seconds it took."""
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def logits(model: nn.Module, x: Tensor) -> Tensor:
    with torch.no_grad():
        out: Tensor = model.eval()(x)
        return out


def warns_if(condition: bool, match: str) -> contextlib.AbstractContextManager[object]:
    """scalenet warns when it changes a pretrained head or stem (timm only logs it)."""
    return pytest.warns(UserWarning, match=match) if condition else contextlib.nullcontext()


def features(reference: nn.Module, x: Tensor) -> Tensor:
    """torchvision's last feature map (before the average pool)."""
    r = reference
    with torch.no_grad():
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        out: Tensor = r.layer4(r.layer3(r.layer2(r.layer1(x))))
        return out


# --- the Hub cannot be reached -----------------------------------------------------------------

LOADERS: dict[str, tuple[Callable[[], object], str, str]] = {
    # how to load, the repository and file the error must name, and the local remedy
    "create": (
        lambda: scalenet.create("resnet50", pretrained=True),
        f"model.safetensors of {REPO}",
        "scalenet.create('resnet50.tv_in1k', pretrained=True, "
        "pretrained_cfg_overlay=dict(file='path/to/model.safetensors'))",
    ),
    "from_pretrained": (
        lambda: scalenet.from_pretrained("test-org/never-downloaded"),
        "config.json of test-org/never-downloaded",
        "scalenet.from_pretrained('path/to/folder')",
    ),
    "timm": (
        lambda: timm.create_model("scalenet_resnet50", pretrained=True),
        f"model.safetensors of {REPO}",
        "pretrained_cfg_overlay=dict(file='path/to/model.safetensors')",
    ),
}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_unreachable_hub_fails_at_once_naming_file_and_remedies(
    tmp_path: Path, loader: str
) -> None:
    load, what, local = LOADERS[loader]
    endpoint = closed_port()
    with hf_hub_environment(endpoint, tmp_path / "hf"):
        start = time.perf_counter()
        with pytest.raises(scalenet.WeightsError) as caught:
            load()
        seconds = time.perf_counter() - start
    assert seconds < FAST  # huggingface_hub alone retries for about 23 s (47 s through timm)
    message = str(caught.value)
    assert what in message
    assert f"the Hub at {endpoint} cannot be reached" in message
    assert "Connection refused" in message
    assert str(tmp_path / "hf" / "hub") in message  # the cache that was looked in
    assert "Download it once while online" in message
    assert "HF_HUB_OFFLINE=1" in message
    assert local in message


def test_unanswered_connection_gives_up_after_the_connect_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scalenet.hub.fetch, "CONNECT_TIMEOUT", 0.5)
    with unanswered_port() as endpoint, hf_hub_environment(endpoint, tmp_path / "hf"):
        start = time.perf_counter()
        with pytest.raises(scalenet.WeightsError, match=r"reached \(ConnectTimeout") as caught:
            scalenet.create("resnet50", pretrained=True)
        seconds = time.perf_counter() - start
    assert 0.5 <= seconds < FAST  # one connection attempt, then the error
    assert f"model.safetensors of {REPO}" in str(caught.value)


PUSHERS: dict[str, Callable[[scalenet.ScaleNetModel, str], str]] = {
    "method": lambda model, repo: model.push_to_hub(repo, token="hf_test"),
    "function": lambda model, repo: scalenet.push_to_hub(model, repo),
}


@pytest.mark.parametrize("push", list(PUSHERS))
def test_push_to_an_unreachable_hub_names_the_endpoint_and_what_to_check(
    tmp_path: Path, push: str
) -> None:
    model = scalenet.resnet(depths=(1, 1), width=8, stem="cifar", input_size=16)
    endpoint = closed_port()
    with hf_hub_environment(endpoint, tmp_path / "hf"):
        start = time.perf_counter()
        with pytest.raises(scalenet.WeightsError) as caught:
            PUSHERS[push](model, "test-org/pushed")
        seconds = time.perf_counter() - start
    assert seconds < FAST
    message = str(caught.value)
    assert f"could not push to 'test-org/pushed': the Hub at {endpoint} cannot be" in message
    assert "Connection refused" in message
    for remedy in ("network connection", "HF_ENDPOINT", "token", "HF_TOKEN", "hf auth login"):
        assert remedy in message


def test_offline_mode_without_the_file_asks_nothing(
    tmp_path: Path, push_server: PushServer
) -> None:
    # push_server forwards reads to olah and records every request it gets.
    with hf_hub_environment(push_server.endpoint, tmp_path / "hf") as env:
        env.set_offline()
        for load, what, local in LOADERS.values():
            with pytest.raises(scalenet.WeightsError) as caught:
                load()
            message = str(caught.value)
            assert what in message
            assert "HF_HUB_OFFLINE is set, so the Hub is not asked" in message
            assert "download it once while online" in message
            assert local in message
    assert push_server.requests == []


# --- timm's published layout, end to end ------------------------------------------------------


def test_repository_is_timms_layout(published: Published, olah: HfEnv) -> None:
    import json

    from huggingface_hub import HfApi, hf_hub_download

    assert set(HfApi().list_repo_files(REPO)) >= TV_IN1K_FILES
    config = json.loads(Path(hf_hub_download(REPO, "config.json")).read_text())
    assert config["architecture"] == "resnet50"
    assert config["num_classes"] == 1000
    assert config["pretrained_cfg"]["tag"] == "tv_in1k"
    assert config["pretrained_cfg"]["first_conv"] == "conv1"
    assert config["pretrained_cfg"]["classifier"] == "fc"


PRETRAINED: dict[str, Callable[..., nn.Module]] = {
    "create": lambda **kw: scalenet.create("resnet50", pretrained=True, **kw),
    "timm": lambda **kw: timm.create_model("scalenet_resnet50", pretrained=True, **kw),
}


@pytest.mark.parametrize("how", list(PRETRAINED))
def test_pretrained_computes_torchvisions_logits(
    published: Published, olah: HfEnv, how: str
) -> None:
    model = PRETRAINED[how]()
    x = torch.randn(2, 3, SIZE, SIZE)
    assert torch.equal(logits(model, x), logits(published.reference, x))
    for key, value in published.reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model.pretrained_cfg["hf_hub_id"] == REPO
    # Read from the cache of the environment, at the commit the Hub serves.
    snapshot = olah.cache_dir / "models--timm--resnet50.tv_in1k" / "snapshots" / published.sha
    assert (snapshot / "model.safetensors").is_file()
    assert not (snapshot / "pytorch_model.bin").exists()  # the pickle is never fetched


@pytest.mark.parametrize("how", list(PRETRAINED))
def test_pretrained_with_a_new_head(published: Published, olah: HfEnv, how: str) -> None:
    with warns_if(how == "create", "classifier was re-initialised"):
        model = PRETRAINED[how](num_classes=10).eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    reference = published.reference
    with torch.no_grad():
        feature_map = model.forward_features(x)
        pre_logits = model.forward_head(feature_map, pre_logits=True)
        out = model(x)
    expected = features(reference, x)
    assert torch.equal(feature_map, expected)
    assert torch.equal(pre_logits, torch.flatten(reference.avgpool(expected), 1))
    assert model.fc.weight.shape == (10, 2048)
    assert model.fc.bias.shape == (10,)
    assert out.shape == (2, 10)
    assert torch.equal(out, nn.functional.linear(pre_logits, model.fc.weight, model.fc.bias))
    assert model.num_classes == 10


@pytest.mark.parametrize("how", list(PRETRAINED))
def test_pretrained_with_one_input_channel(published: Published, olah: HfEnv, how: str) -> None:
    with warns_if(how == "create", "first conv was adapted from 3 to 1"):
        model = PRETRAINED[how](in_chans=1).eval()
    reference = published.reference
    # timm's rule for the first conv, applied to torchvision's weight: the independent truth.
    adapted = adapt_input_conv(1, reference.conv1.weight.detach().clone())
    assert model.conv1.weight.shape == (64, 1, 7, 7)
    assert torch.equal(model.conv1.weight, adapted)
    grey = copy.deepcopy(reference)
    grey.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    with torch.no_grad():
        grey.conv1.weight.copy_(adapted)
    x = torch.randn(2, 1, SIZE, SIZE)
    assert torch.equal(logits(model, x), logits(grey, x))


def test_timm_features_only_from_the_hub(published: Published, olah: HfEnv) -> None:
    model = timm.create_model("scalenet_resnet50", pretrained=True, features_only=True).eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        last = model(x)[-1]
    assert torch.equal(last, features(published.reference, x))


# --- a warm cache -----------------------------------------------------------------------------


def test_warm_cache_loads_at_once_when_the_hub_cannot_be_reached(
    published: Published,
    olah: HfEnv,
    hub_server: HubServer,
    hf_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saved = scalenet.create("resnet20_cifar")
    repo = hub_server.unique_repo_id("warm")
    folder = saved.save_pretrained(tmp_path / "saved")
    hub_server.create_repo(repo, {p.name: p.read_bytes() for p in folder.iterdir()})
    scalenet.create("resnet50", pretrained=True)  # into the cache, online
    scalenet.from_pretrained(repo)
    x, small = torch.randn(2, 3, SIZE, SIZE), torch.randn(2, 3, 32, 32)
    expected = logits(published.reference, x)
    loads = {**PRETRAINED, "from_pretrained": lambda: scalenet.from_pretrained(repo)}
    with hf_hub_environment(closed_port(), hf_home) as env:  # the same cache, and no Hub
        env.set_offline()  # first the time of a load that makes no request at all
        offline = {name: timed(load)[1] for name, load in loads.items()}
        env.set_offline(False)
        for name, load in loads.items():
            model, seconds = timed(load)
            assert seconds < offline[name] + 1.0, name  # the closed port costs no retries
            if name == "from_pretrained":
                assert torch.equal(logits(model, small), logits(saved, small))
            else:
                assert torch.equal(logits(model, x), expected)
    # A Hub that takes no connection costs one connect timeout, then the cached copy.
    monkeypatch.setattr(scalenet.hub.fetch, "CONNECT_TIMEOUT", 0.5)
    with unanswered_port() as endpoint, hf_hub_environment(endpoint, hf_home):
        model, seconds = timed(PRETRAINED["create"])
        assert 0.5 <= seconds < offline["create"] + 0.5 + 1.0
        assert torch.equal(logits(model, x), expected)


def test_offline_mode_or_a_pinned_commit_make_no_request(
    published: Published, olah: HfEnv, hf_home: Path, push_server: PushServer
) -> None:
    scalenet.create("resnet50", pretrained=True)  # in the cache
    x = torch.randn(1, 3, SIZE, SIZE)
    with hf_hub_environment(push_server.endpoint, hf_home) as env:  # counts requests
        # Online, the Hub is asked whether main moved (a HEAD request): nothing is downloaded.
        scalenet.create("resnet50", pretrained=True)
        assert push_server.requests
        assert all(r.startswith("HEAD ") for r in push_server.requests), push_server.requests
        push_server.requests.clear()
        # A commit hash already in the cache never changes: no request.
        model = timm.create_model(
            "scalenet_resnet50",
            pretrained=True,
            pretrained_cfg_overlay={"hf_hub_id": f"{REPO}@{published.sha}"},
        )
        assert torch.equal(logits(model, x), logits(published.reference, x))
        assert push_server.requests == []
        # HF_HUB_OFFLINE=1: the cache alone.
        env.set_offline()
        for load in PRETRAINED.values():
            assert torch.equal(logits(load(), x), logits(published.reference, x))
    assert push_server.requests == []


def test_a_tag_of_timms_loads_by_name_as_timm_computes_it(
    hub_server: HubServer, hf_home: Path, tmp_path: Path
) -> None:
    """``resnet18.a1_in1k``: timm's own resnet18 (seeded, BN not the identity), published as
    timm publishes its Hub repos, then loaded by name through scalenet and through timm's
    scalenet registration: the same logits as timm's model, and the tag's preprocessing
    (timm's cfg: bicubic, crop 0.95, tested at 288) in the pretrained cfg."""
    from timm.models._hub import save_for_hf

    weights = scalenet.weights.get_weights("resnet18.a1_in1k")
    assert isinstance(weights.file, scalenet.weights.HubFile)
    torch.manual_seed(7)
    reference = timm.create_model("resnet18").eval()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    repo = weights.file.repo_id
    if not hub_server.mirrors.exists(repo):
        save_for_hf(reference, str(tmp_path), safe_serialization=True)
        hub_server.create_repo(repo, {p.name: p.read_bytes() for p in tmp_path.iterdir()})
    x = torch.randn(2, 3, SIZE, SIZE)
    with hf_hub_environment(hub_server.endpoint, hf_home):
        models = {
            "create": scalenet.create(weights.name, pretrained=True),
            "timm": timm.create_model(f"scalenet_{weights.name}", pretrained=True),
        }
    for how, model in models.items():
        assert torch.equal(logits(model, x), logits(reference, x)), how
        cfg = model.pretrained_cfg
        assert (cfg["tag"], cfg["hf_hub_id"], cfg["license"]) == ("a1_in1k", repo, "apache-2.0")
        assert (cfg["interpolation"], cfg["crop_pct"]) == ("bicubic", 0.95), how
        assert tuple(cfg["test_input_size"]) == (3, 288, 288), how

"""scalenet and timm against a real Hub-compatible server (olah) on 127.0.0.1, and pushes
through a local commit endpoint that writes into the repositories olah serves."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import timm
import torch
from huggingface_hub.errors import HfHubHTTPError

import scalenet
from hub_servers import HfEnv, HubServer, PushServer
from scalenet import ConfigError, WeightsError


def saved_files(model: scalenet.ScaleNetModel, where: Path) -> dict[str, bytes]:
    folder = model.save_pretrained(where)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def same_model(a: torch.nn.Module, b: torch.nn.Module, size: int = 32) -> bool:
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        return torch.equal(a.eval()(x), b.eval()(x))


def test_from_pretrained_and_timm_hf_hub(hub_server: HubServer, hf_env: HfEnv,
                                         tmp_path: Path) -> None:  # fmt: skip
    model = scalenet.create("resnet20_cifar")
    repo = hub_server.unique_repo_id("resnet20")
    hub_server.create_repo(repo, saved_files(model, tmp_path / "m"))
    loaded = scalenet.from_pretrained(repo)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert same_model(model, loaded)
    via_timm = timm.create_model(f"hf-hub:{repo}", pretrained=True)
    assert via_timm.config == model.config
    assert same_model(model, via_timm)


def test_revision_pinning_and_offline_cache(hub_server: HubServer, hf_env: HfEnv,
                                            tmp_path: Path) -> None:  # fmt: skip
    first, second = scalenet.create("resnet20_cifar"), scalenet.create("resnet20_cifar")
    repo = hub_server.unique_repo_id("pinned")
    sha1 = hub_server.create_repo(repo, saved_files(first, tmp_path / "a"))
    sha2 = hub_server.commit(repo, saved_files(second, tmp_path / "b"), "retrained")
    assert sha1 != sha2
    assert not same_model(first, second)  # so loading the wrong revision would be caught
    assert same_model(scalenet.from_pretrained(repo, revision=sha1), first)
    assert same_model(scalenet.from_pretrained(repo), second)
    assert same_model(scalenet.from_pretrained(repo, revision="main"), second)
    hf_env.set_offline(True)
    assert same_model(scalenet.from_pretrained(repo), second)  # from the cache
    assert same_model(scalenet.from_pretrained(repo, revision=sha1), first)
    with pytest.raises(WeightsError, match="not in the local cache"):
        scalenet.from_pretrained(hub_server.unique_repo_id("never-downloaded"))


def test_push_then_pull(hub_server: HubServer, push_server: PushServer, hf_env: HfEnv,
                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = scalenet.resnet(depths=(1, 1), width=8, stem="cifar", num_classes=3, input_size=16)
    repo = hub_server.unique_repo_id("pushed")
    hf_env.set_endpoint(push_server.endpoint)
    url = model.push_to_hub(repo, commit_message="first push", metrics={"top1": 50.0})
    assert repo in url
    assert any("/commit/" in r for r in push_server.requests)
    hf_env.set_endpoint(hub_server.endpoint)  # pull straight from olah
    pulled = scalenet.from_pretrained(repo)
    assert pulled.config == model.config
    assert same_model(pulled, model, size=16)
    assert not list(tmp_path.glob("scalenet-push-*"))  # the staging folder is gone


def test_failed_push_leaves_local_files_untouched(
    hub_server: HubServer,
    push_server: PushServer,
    hf_env: HfEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = scalenet.create("resnet20_cifar")
    local = model.save_pretrained(tmp_path / "local")
    before = {p.name: p.read_bytes() for p in local.iterdir()}
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    hf_env.set_endpoint(push_server.endpoint)
    push_server.fail("commit", 403)  # e.g. no write access (a 5xx would be retried for ~20 s)
    with pytest.raises(HfHubHTTPError):
        model.push_to_hub(hub_server.unique_repo_id("fails"))
    assert {p.name: p.read_bytes() for p in local.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local"]


def test_repo_without_weights_and_bad_config(hub_server: HubServer, hf_env: HfEnv,
                                             tmp_path: Path) -> None:  # fmt: skip
    files = saved_files(scalenet.create("resnet20_cifar"), tmp_path / "m")
    no_weights = hub_server.unique_repo_id("no-weights")
    hub_server.create_repo(no_weights, {"config.json": files["config.json"]})
    with pytest.raises(WeightsError, match=r"has no model\.safetensors"):
        scalenet.from_pretrained(no_weights)
    config = json.loads(files["config.json"])
    config["model_args"]["width"] = 10**6
    huge = hub_server.unique_repo_id("huge")
    hub_server.create_repo(huge, {**files, "config.json": json.dumps(config).encode()})
    with pytest.raises(ConfigError, match="width=1000000"):
        scalenet.from_pretrained(huge)
    # Rejected before the weights were fetched: nothing of them in the cache.
    assert not list(hf_env.cache_dir.rglob("model.safetensors"))
    with pytest.raises(WeightsError, match="no repository"):
        scalenet.from_pretrained(hub_server.unique_repo_id("missing"))


def test_a_name_that_is_neither_folder_nor_repository_gets_both_answers(
    hub_server: HubServer,
    hf_env: HfEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()  # the parent exists; the folder does not
    name = f"out/{hub_server.unique_repo_id('nonexist').split('/')[1]}"
    folder = f"no folder {tmp_path / name}; as a Hub repository id: "
    with pytest.raises(WeightsError) as caught:  # the Hub answers: no such repository
        scalenet.from_pretrained(name)
    assert str(caught.value) == f"{folder}no repository {name!r} on the Hub (or no access to it)"
    hf_env.set_offline(True)
    with pytest.raises(WeightsError) as caught:  # not asked, and not in the cache
        scalenet.from_pretrained(name)
    message = str(caught.value)
    assert message.startswith(f"{folder}config.json of {name} is not in the local cache")
    assert "HF_HUB_OFFLINE is set" in message
    # Once the folder exists, the same name loads it.
    model = scalenet.create("resnet20_cifar")
    model.save_pretrained(tmp_path / name)
    assert same_model(scalenet.from_pretrained(name), model)

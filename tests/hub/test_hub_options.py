"""The arguments huggingface_hub's ``ModelHubMixin`` users pass, each doing what it says against
real local servers: olah on 127.0.0.1 for reads, and the push server (tests/hub_servers.py) for
writes. The push server forwards every GET/HEAD to olah, so as the endpoint it also counts the
reads and records the ``Authorization`` header of each request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import scalenet
from hub_servers import HfEnv, HubServer, PushServer, _git
from scalenet import ConfigError, WeightsError

SIZE = 16


def tiny(seed: int = 0) -> scalenet.ScaleNetModel:
    torch.manual_seed(seed)
    return scalenet.resnet(depths=(1, 1), width=8, stem="cifar", num_classes=3, input_size=SIZE)


def same_model(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        return torch.equal(a.eval()(x), b.eval()(x))


def publish(hub_server: HubServer, model: scalenet.ScaleNetModel, where: Path, name: str) -> str:
    folder = model.save_pretrained(where)
    repo = hub_server.unique_repo_id(name)
    hub_server.create_repo(repo, {p.name: p.read_bytes() for p in folder.iterdir()})
    return repo


def downloads(push_server: PushServer, filename: str) -> int:
    """GET requests for ``filename`` the proxy passed on."""
    return sum(r.startswith("GET ") and f"/{filename} " in r for r in push_server.requests)


@pytest.fixture
def proxied(hf_env: HfEnv, push_server: PushServer) -> PushServer:
    """Reads through the push server (forwarded to olah), which counts them."""
    hf_env.set_endpoint(push_server.endpoint)
    return push_server


def test_cache_dir_holds_the_files_and_the_default_cache_none(
    hub_server: HubServer, hf_env: HfEnv, tmp_path: Path
) -> None:
    model = tiny()
    repo = publish(hub_server, model, tmp_path / "m", "cache-dir")
    mine = tmp_path / "my-cache"
    assert same_model(scalenet.from_pretrained(repo, cache_dir=mine), model)
    snapshots = mine / f"models--{repo.replace('/', '--')}" / "snapshots"
    assert {p.name for p in snapshots.glob("*/*")} == {"config.json", "model.safetensors"}
    assert not list(hf_env.cache_dir.glob("models--*"))


def test_local_files_only_asks_nothing_and_fails_at_once_when_not_cached(
    hub_server: HubServer, proxied: PushServer, tmp_path: Path
) -> None:
    model = tiny()
    repo = publish(hub_server, model, tmp_path / "m", "local-only")
    with pytest.raises(WeightsError, match=r"not in the local cache .*local_files_only=True"):
        scalenet.from_pretrained(repo, local_files_only=True)
    assert proxied.requests == []
    scalenet.from_pretrained(repo)  # into the cache
    assert downloads(proxied, "model.safetensors") == 1
    proxied.requests.clear()
    assert same_model(scalenet.from_pretrained(repo, local_files_only=True), model)
    assert proxied.requests == []  # the cache alone
    scalenet.from_pretrained(repo)  # without it, the Hub is asked whether main moved
    assert proxied.requests != []


def test_force_download_fetches_a_cached_file_again(
    hub_server: HubServer, proxied: PushServer, tmp_path: Path
) -> None:
    model = tiny()
    repo = publish(hub_server, model, tmp_path / "m", "force")
    scalenet.from_pretrained(repo)
    scalenet.from_pretrained(repo)  # cached: only checked
    assert downloads(proxied, "model.safetensors") == 1
    assert same_model(scalenet.from_pretrained(repo, force_download=True), model)
    assert downloads(proxied, "model.safetensors") == 2
    assert downloads(proxied, "config.json") == 2
    with pytest.raises(ConfigError, match="force_download=True is not allowed"):
        scalenet.from_pretrained(repo, force_download=True, local_files_only=True)


def test_token_reaches_every_request_the_probe_included(
    hub_server: HubServer, proxied: PushServer, tmp_path: Path
) -> None:
    repo = publish(hub_server, tiny(), tmp_path / "m", "token")
    scalenet.from_pretrained(repo)
    assert set(proxied.authorization) == {None}  # the environment has no token
    proxied.requests.clear()
    proxied.authorization.clear()
    scalenet.from_pretrained(repo, token="hf_read", force_download=True)
    # Not cached (forced): a probe first (HEAD, no retry), then hf_hub_download's HEAD and GET.
    assert proxied.requests[0].startswith("HEAD ")
    assert "/config.json " in proxied.requests[0]
    assert len(proxied.requests) >= 5
    assert set(proxied.authorization) == {"Bearer hf_read"}
    proxied.authorization.clear()
    tiny().push_to_hub(hub_server.unique_repo_id("token-push"), token="hf_write")
    assert proxied.authorization
    assert set(proxied.authorization) == {"Bearer hf_write"}


def visibility(body: dict[str, object]) -> object:
    """The visibility a create-repo body asks for (huggingface_hub 1 sends ``private``)."""
    return body.get("visibility", {True: "private", False: "public"}.get(body.get("private")))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("private", "sent"), [(True, "private"), (False, "public"), (None, None)]
)  # fmt: skip
def test_private_is_passed_on_and_none_leaves_the_hubs_default(
    hub_server: HubServer, proxied: PushServer, private: bool | None, sent: str | None
) -> None:
    tiny().push_to_hub(hub_server.unique_repo_id("private"), private=private)
    assert [visibility(body) for body in proxied.created] == [sent]


def test_push_to_a_new_branch_then_read_it_back(hub_server: HubServer, proxied: PushServer) -> None:
    first, second, third = tiny(1), tiny(2), tiny(3)
    repo = hub_server.unique_repo_id("branch")
    first.push_to_hub(repo)
    main = hub_server.mirrors.head(repo)
    url = second.push_to_hub(
        repo, revision="dev", commit_message="Try dev", commit_description="Longer story"
    )
    third.push_to_hub(repo, revision="dev", license="cc-by-4.0")  # the branch exists now
    assert hub_server.mirrors.head(repo) == main  # main did not move
    dev = hub_server.mirrors.head(repo, "refs/heads/dev")
    assert url.endswith(hub_server.mirrors.head(repo, "refs/heads/dev~1"))
    git = hub_server.mirrors.repo_dir(repo)
    assert _git(git, "log", "-1", "--format=%B", f"{dev}~1") == "Try dev\n\nLonger story"
    assert _git(git, "rev-parse", f"{dev}~2") == main  # branched from main
    assert same_model(pushed := scalenet.from_pretrained(repo, revision="dev"), third)
    assert pushed.pretrained_cfg["license"] == "cc-by-4.0"  # the licence given, kept
    assert same_model(original := scalenet.from_pretrained(repo), first)
    assert "license" not in original.pretrained_cfg  # none given: none


def test_create_pr_leaves_main_unchanged_and_returns_the_prs_url(
    hub_server: HubServer, proxied: PushServer
) -> None:
    original, proposed = tiny(1), tiny(2)
    repo = hub_server.unique_repo_id("pr")
    original.push_to_hub(repo)
    main = hub_server.mirrors.head(repo)
    url = proposed.push_to_hub(repo, create_pr=True)
    assert url == f"{proxied.endpoint}/{repo}/discussions/1"
    assert hub_server.mirrors.head(repo) == main
    assert same_model(scalenet.from_pretrained(repo), original)
    # The pull request's ref holds the proposed model (olah serves no refs/pr/N: by its sha).
    proposal = hub_server.mirrors.head(repo, "refs/pr/1")
    assert same_model(scalenet.from_pretrained(repo, revision=proposal), proposed)
    with pytest.raises(ConfigError, match="revision='dev' is not allowed: None or 'main'"):
        proposed.push_to_hub(repo, create_pr=True, revision="dev")

"""The local Hub servers of ``hub_servers`` work with plain ``huggingface_hub``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

from hub_servers import HfEnv, HubServer, PushServer


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def test_download_through_olah(hub_server: HubServer, hf_env: HfEnv) -> None:
    repo_id = hub_server.unique_repo_id()
    config = json.dumps({"depth": 18}).encode()
    sha = hub_server.create_repo(repo_id, {"config.json": config, "sub/w.bin": bytes(range(256))})

    path = hf_hub_download(repo_id, "config.json")
    assert _read(path) == config
    assert Path(path).is_relative_to(hf_env.cache_dir)
    assert Path(path).parent.name == sha
    assert _read(hf_hub_download(repo_id, "sub/w.bin")) == bytes(range(256))


def test_revision_pinning(hub_server: HubServer, hf_env: HfEnv) -> None:
    repo_id = hub_server.unique_repo_id()
    old = hub_server.create_repo(repo_id, {"weights.bin": b"old"})
    assert _read(hf_hub_download(repo_id, "weights.bin")) == b"old"

    new = hub_server.commit(repo_id, {"weights.bin": b"new"}, "retrain")

    assert new != old
    assert _read(hf_hub_download(repo_id, "weights.bin")) == b"new"
    assert _read(hf_hub_download(repo_id, "weights.bin", revision=old)) == b"old"
    assert _read(hf_hub_download(repo_id, "weights.bin", revision=new)) == b"new"


def test_odd_sized_binary_file(hub_server: HubServer, hf_env: HfEnv) -> None:
    # 121-149 bytes of non-UTF-8 data: olah needs these stored through git LFS.
    repo_id = hub_server.unique_repo_id()
    data = b"\xff" * 130
    hub_server.create_repo(repo_id, {"tiny.safetensors": data, "empty.txt": b""})
    assert _read(hf_hub_download(repo_id, "tiny.safetensors")) == data
    assert _read(hf_hub_download(repo_id, "empty.txt")) == b""


def test_offline_reads_the_cache(hub_server: HubServer, hf_env: HfEnv) -> None:
    repo_id = hub_server.unique_repo_id()
    hub_server.create_repo(repo_id, {"a.txt": b"cached", "b.txt": b"never fetched"})
    online = hf_hub_download(repo_id, "a.txt")

    hf_env.set_offline()

    assert hf_hub_download(repo_id, "a.txt") == online
    assert _read(online) == b"cached"
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download(repo_id, "b.txt")


def test_push_then_pull(
    hub_server: HubServer, push_server: PushServer, hf_env: HfEnv, tmp_path: Path
) -> None:
    repo_id = hub_server.unique_repo_id()
    weights = random.Random(0).randbytes(1 << 20)
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "config.json").write_text('{"depth": 50}')
    api = HfApi(endpoint=push_server.endpoint)

    api.create_repo(repo_id, exist_ok=True)
    api.create_repo(repo_id, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="Add weights")

    assert info.oid == hub_server.mirrors.head(repo_id)
    assert _read(hf_hub_download(repo_id, "model.safetensors")) == weights
    assert _read(hf_hub_download(repo_id, "config.json")) == b'{"depth": 50}'
    assert f"POST /api/models/{repo_id}/commit/main 200" in push_server.requests

    second = api.upload_file(path_or_fileobj=b"v2", path_in_repo="config.json", repo_id=repo_id)
    assert _read(hf_hub_download(repo_id, "config.json", revision=second.oid)) == b"v2"
    assert _read(hf_hub_download(repo_id, "config.json", revision=info.oid)) == b'{"depth": 50}'


def test_failed_push_raises(hub_server: HubServer, push_server: PushServer, hf_env: HfEnv) -> None:
    repo_id = hub_server.unique_repo_id()
    api = HfApi(endpoint=push_server.endpoint)
    api.create_repo(repo_id)
    head = hub_server.mirrors.head(repo_id)
    push_server.fail("commit", 500)

    with pytest.raises(HfHubHTTPError) as failure:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)

    assert failure.value.response.status_code == 500
    assert hub_server.mirrors.head(repo_id) == head


def test_push_server_as_the_default_hub(
    hub_server: HubServer, push_server: PushServer, hf_env: HfEnv
) -> None:
    hf_env.set_endpoint(push_server.endpoint)
    repo_id = hub_server.unique_repo_id()

    HfApi().create_repo(repo_id)
    HfApi().upload_file(path_or_fileobj=b"pushed", path_in_repo="a.txt", repo_id=repo_id)

    assert _read(hf_hub_download(repo_id, "a.txt")) == b"pushed"  # read back via the push server
    assert HfApi().model_info(repo_id).sha == hub_server.mirrors.head(repo_id)

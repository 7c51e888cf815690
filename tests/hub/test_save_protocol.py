"""A folder's own files decide what loads; a save follows, moves or removes nothing planted.

The repros of an adversarial review: folders from anywhere (a clone, an archive, a shared
drive) holding entries with scalenet's reserved names, symlinks, concurrent saves and readers,
and paths too long for the filesystem.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import timm
import torch
from click.testing import CliRunner

import scalenet
from faults import fork
from scalenet import ConfigError, WeightsError
from scalenet.cli import main
from scalenet.hub.load import read_checkpoint
from scalenet.hub.save import DIGEST_KEY, config_digest
from scalenet.io import safetensors as _safetensors

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks, fork and flock")


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def tree(root: Path) -> dict[str, bytes | str]:
    return {
        str(p.relative_to(root)): (str(os.readlink(p)) if p.is_symlink() else p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


@pytest.fixture
def models() -> tuple[scalenet.ScaleNetModel, scalenet.ScaleNetModel]:
    torch.manual_seed(0)
    return scalenet.create("resnet20_cifar").eval(), scalenet.create("resnet32_cifar").eval()


def test_a_hidden_commit_folder_is_never_read_and_a_save_refuses_it(tmp_path: Path, models):
    a, b = models
    folder = a.save_pretrained(tmp_path / "m")
    b.save_pretrained(tmp_path / "b")
    shutil.copytree(tmp_path / "b", folder / ".scalenet-commit")  # B, self-consistent
    assert same(scalenet.from_pretrained(folder), a)
    assert same(timm.create_model(f"local-dir:{folder}", pretrained=True), a)
    before = tree(folder)
    with pytest.raises(WeightsError, match=r"holds \.scalenet-commit: scalenet reserves"):
        b.save_pretrained(folder)
    assert tree(folder) == before


def test_a_symlinked_commit_folder_is_not_followed(tmp_path: Path, models) -> None:
    a, b = models
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    folder = a.save_pretrained(tmp_path / "m")
    (folder / ".scalenet-commit").symlink_to(outside)
    before = tree(folder)
    with pytest.raises(WeightsError, match=r"\.scalenet-commit"):
        b.save_pretrained(folder)
    assert (outside / "precious.txt").read_text() == "keep me"
    assert tree(folder) == before


def test_a_planted_file_never_replaces_the_users(tmp_path: Path, models) -> None:
    a, b = models
    folder = a.save_pretrained(tmp_path / "m")
    (folder / "notes.txt").write_text("mine")
    (folder / ".scalenet-commit").mkdir()
    (folder / ".scalenet-commit" / "notes.txt").write_text("planted")
    with pytest.raises(WeightsError, match=r"\.scalenet-commit"):
        b.save_pretrained(folder)
    assert (folder / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "plant",
    [
        lambda d: (d / ".scalenet-commit").write_text("x"),  # a stray file
        lambda d: (d / ".scalenet-staging-abc").mkdir(),
        lambda d: (d / (".scalenet-tmp-" + "0" * 32)).write_text("not stamped so"),
        lambda d: (d / (".scalenet-tmp-" + "0" * 32)).symlink_to(d.parent / "outside.txt"),
        lambda d: (d / ("state." + "0" * 64 + ".bin")).symlink_to(d.parent / "outside.txt"),
        lambda d: (d / "config.json").unlink() or (d / "config.json").mkdir(),
    ],
    ids=["stray-file", "staging", "unstamped-tmp", "tmp-symlink", "companion-symlink", "dir"],
)
def test_entries_a_save_did_not_make_are_refused_by_name(tmp_path: Path, models, plant) -> None:
    a, b = models
    (tmp_path / "outside.txt").write_text("outside")
    folder = a.save_pretrained(tmp_path / "m")
    plant(folder)
    before = tree(folder)
    with pytest.raises(WeightsError, match=r"holds .*(\.scalenet|\.bin|config\.json).*reserves"):
        b.save_pretrained(folder)
    assert tree(folder) == before
    assert (tmp_path / "outside.txt").read_text() == "outside"


def test_a_symlinked_target_file_is_replaced_not_written_through(tmp_path: Path, models):
    a, b = models
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    folder = a.save_pretrained(tmp_path / "m")
    (folder / "config.json").unlink()
    (folder / "config.json").symlink_to(outside)
    b.save_pretrained(folder)
    assert outside.read_text() == "{}"
    assert not (folder / "config.json").is_symlink()
    assert same(scalenet.from_pretrained(folder), b)


def test_a_stale_config_json_loads_the_weights_model_in_scalenet_and_is_refused_by_timm(
    tmp_path: Path, models
) -> None:
    """What a kill between the weights' rename and config.json's leaves (also reached by the
    fault injection in test_saving.py)."""
    a, b = models
    folder = a.save_pretrained(tmp_path / "m")
    old_config = (folder / "config.json").read_bytes()
    b.save_pretrained(folder)
    (folder / "config.json").write_bytes(old_config)
    assert same(scalenet.from_pretrained(folder), b)
    loaded = scalenet.create("resnet32_cifar")
    scalenet.load_weights(loaded, folder / "model.safetensors")  # what train.py reads
    assert same(loaded, b)
    with pytest.raises(WeightsError, match=r"config\.json does not describe the weights in model"):
        timm.create_model(f"local-dir:{folder}", pretrained=True)
    b.save_pretrained(folder)  # the next save repairs config.json
    assert same(timm.create_model(f"local-dir:{folder}", pretrained=True), b)


def test_metadata_that_contradicts_itself_is_damage(tmp_path: Path, models) -> None:
    a, _ = models
    folder = a.save_pretrained(tmp_path / "m")
    state = _safetensors.load_file(folder / "model.safetensors")
    metadata = _safetensors.read_metadata(folder / "model.safetensors")
    metadata[DIGEST_KEY] = "0" * 64
    _safetensors.save_file(state, folder / "model.safetensors", metadata=metadata)
    with pytest.raises(WeightsError, match=r"damaged: the config in its metadata"):
        scalenet.from_pretrained(folder)


def test_folders_of_scalenet_0_1_still_load(tmp_path: Path, models) -> None:
    a, _ = models
    folder = a.save_pretrained(tmp_path / "m")
    data = json.loads((folder / "config.json").read_text())
    metadata = {"format": "pt", DIGEST_KEY: config_digest(data)}  # no config in the weights
    _safetensors.save_file(a.state_dict(), folder / "model.safetensors", metadata=metadata)
    assert same(scalenet.from_pretrained(folder), a)
    data["model_args"]["dropout"] = 0.5
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=r"is not the one model\.safetensors was saved with"):
        scalenet.from_pretrained(folder)


def test_a_failed_save_removes_the_folders_it_made(
    tmp_path: Path, models, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_safetensors, "_bytes", full)
    with pytest.raises(WeightsError, match="No space left on device"):
        models[0].save_pretrained(tmp_path / "a" / "b" / "new")
    assert list(tmp_path.iterdir()) == []


def test_a_companion_edited_after_the_save_is_refused(tmp_path: Path, models) -> None:
    folder = models[0].save_pretrained(tmp_path / "m", companions={"s.bin": b"state"})
    (stored,) = folder.glob("s.*.bin")
    stored.write_bytes(b"stat")
    with pytest.raises(WeightsError, match=r"is not the file .*model\.safetensors was saved with"):
        read_checkpoint(folder)
    stored.unlink()
    with pytest.raises(WeightsError, match=r"cannot be read .*the checkpoint is incomplete"):
        read_checkpoint(folder)


def test_a_second_save_while_one_runs_is_refused(tmp_path: Path, models) -> None:
    from scalenet.io.atomic import Save

    folder = models[0].save_pretrained(tmp_path / "m")
    with Save(folder), pytest.raises(WeightsError, match=r"another save into .* is running"):
        models[1].save_pretrained(folder)
    models[1].save_pretrained(folder)  # the lock goes with the save
    assert same(scalenet.from_pretrained(folder), models[1])


def test_concurrent_writers_and_readers(tmp_path: Path, models) -> None:
    """Two processes save into one folder in a loop, while this one loads it: each save
    succeeds or is refused as concurrent, and each load is one of the two models, exactly."""
    folder = models[0].save_pretrained(tmp_path / "m")
    errors = tmp_path / "errors"
    errors.mkdir()

    def writer(model: scalenet.ScaleNetModel, name: str) -> None:  # pragma: no cover - child
        saved = refused = 0
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                model.save_pretrained(folder)
                saved += 1
            except WeightsError as err:  # noqa: PERF203 - the refusal is what is counted
                if "another save into" not in str(err):
                    (errors / name).write_text(str(err))
                    return
                refused += 1
        (errors / f"{name}.count").write_text(f"{saved} {refused}")

    pids = [fork(lambda m=m, n=n: writer(m, n)) for m, n in zip(models, "ab", strict=True)]
    loads = {0: 0, 1: 0}
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        loaded = scalenet.from_pretrained(folder)
        matches = [i for i, m in enumerate(models) if loaded.config == m.config]
        assert len(matches) == 1
        assert same(loaded, models[matches[0]])
        loads[matches[0]] += 1
    for pid in pids:
        os.waitpid(pid, 0)
    assert sorted(p.name for p in errors.iterdir()) == ["a.count", "b.count"]
    counts = [tuple(map(int, (errors / f"{n}.count").read_text().split())) for n in "ab"]
    assert all(saved > 0 for saved, _ in counts), counts
    assert sum(refused for _, refused in counts) > 0, counts  # the saves did overlap
    assert loads[0], loads
    assert loads[1], loads
    assert [p.name for p in folder.iterdir() if p.name.startswith(".scalenet")] == []


def test_a_path_too_long_is_a_named_error(tmp_path: Path, models) -> None:
    long = tmp_path / ("x" * 300)
    for path in (long, long / "m"):
        with pytest.raises(WeightsError, match="File name too long"):
            scalenet.from_pretrained(path)
        with pytest.raises(ConfigError, match=r"^save_directory=.*File name too long"):
            models[0].save_pretrained(path)  # refused before anything is made
    for target in (str(long), str(long / "config.json")):
        result = CliRunner().invoke(main, ["summary", target])
        assert result.exit_code == 2, result.output
        assert "File name too long" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)

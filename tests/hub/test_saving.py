"""One commit point: killed at every step and at random moments, a folder loads exactly.

The saves run in forked children (no re-import of torch: a fork costs milliseconds), which are
SIGKILLed: deterministically at each file operation of a save (fault injection, tests/faults.py),
and at random moments while they save large models in a loop. After each kill the folder must
load to the old model or the new one, exactly, in scalenet; timm's ``local-dir:`` must load
exactly one of them or raise; and the next save must leave nothing of the killed one behind.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import stat
import sys
import time
from pathlib import Path

import pytest
import timm
import torch

import scalenet
from faults import fork, in_child, kill_at, was_killed
from scalenet import WeightsError
from scalenet.hub.load import read_checkpoint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL are POSIX")


def same_model(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]) for k in sa
    )


def which(folder: Path, models: dict[str, scalenet.ScaleNetModel]) -> str:
    """The name of the model the folder loads as; fails if it loads as none of them."""
    loaded = scalenet.from_pretrained(folder)
    matches = [name for name, m in models.items() if loaded.config == m.config]
    assert len(matches) == 1, matches
    assert same_model(loaded, models[matches[0]]), "config of one model, weights of another"
    return matches[0]


def which_in_timm(folder: Path, models: dict[str, scalenet.ScaleNetModel]) -> str:
    """The model timm's local-dir: loads, or "refused" (a WeightsError naming both files)."""
    try:
        loaded = timm.create_model(f"local-dir:{folder}", pretrained=True)
    except WeightsError as err:
        message = str(err)
        refusal = "config.json does not describe the weights in model.safetensors"
        return "refused" if refusal in message else message
    matches = [name for name, m in models.items() if loaded.config == m.config]
    assert len(matches) == 1, matches
    assert same_model(loaded, models[matches[0]]), "config of one model, weights of another"
    return matches[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".scalenet"))


def test_killed_at_every_step_of_a_save_the_folder_loads_old_or_new(tmp_path: Path) -> None:
    old, new = scalenet.create("resnet20_cifar"), scalenet.create("resnet32_cifar")
    models = {"old": old, "new": new}
    # The file operations of one save over an existing folder, companions included.
    state = {"old": {"state.bin": b"old state"}, "new": {"state.bin": b"new state"}}
    reference = tmp_path / "reference"
    old.save_pretrained(reference, companions=state["old"])
    with kill_at(step=10**9) as done:
        new.save_pretrained(reference, companions=state["new"])
    steps = len(done)
    # The companion (sync, name, link, unlink, sync folder), then each of the three files
    # (sync, name, rename, sync folder), then the old companion removed (unlink, sync folder).
    assert steps == 19, done
    commit = next(i for i, op in enumerate(done) if "rename" in op and "'model.safetensors'" in op)
    config = next(i for i, op in enumerate(done) if "rename" in op and "'config.json'" in op)
    seen, seen_by_timm = [], []
    for step in range(steps + 1):
        folder = tmp_path / f"d{step}"
        old.save_pretrained(folder, companions=state["old"])
        (folder / "notes.txt").write_text("mine")

        def save_and_die(step: int = step, folder: Path = folder) -> None:
            with kill_at(step):
                new.save_pretrained(folder, companions=state["new"])

        status = in_child(save_and_die)
        assert was_killed(status) == (step < steps), (step, status)
        seen.append(which(folder, models))
        seen_by_timm.append(which_in_timm(folder, models))
        # The weights and the companions committed with them are one unit.
        assert read_checkpoint(folder)[1] == state[seen[-1]]
        # The next save removes what the killed one left, and nothing else.
        old.save_pretrained(folder, companions=state["old"])
        assert leftovers(folder) == []
        assert (folder / "notes.txt").read_text() == "mine"
        assert len(list(folder.iterdir())) == 5  # 3 files, the companion, notes.txt
        assert which(folder, models) == "old"
        assert which_in_timm(folder, models) == "old"
    # scalenet: old until the weights' rename, new from it on (never a mixture). timm: old,
    # then a refusal while config.json is the previous one, then new.
    assert seen == ["old"] * (commit + 1) + ["new"] * (steps - commit)
    refused = config - commit
    assert seen_by_timm == (
        ["old"] * (commit + 1) + ["refused"] * refused + ["new"] * (steps - config)
    )


def test_killed_at_random_moments_while_saving_large_models(tmp_path: Path) -> None:
    models = {"resnet50": scalenet.create("resnet50"), "resnet101": scalenet.create("resnet101")}
    folder = tmp_path / "m"
    models["resnet50"].save_pretrained(folder)
    start = time.perf_counter()
    models["resnet101"].save_pretrained(folder)
    one_save = time.perf_counter() - start
    current = "resnet101"
    rng = random.Random(0)
    outcomes = {"old": 0, "new": 0}
    kills = 0
    # Each child saves the other model, then both in turn, until it is killed at a random
    # moment of its first save or so. At most 30 kills; stop once both outcomes were seen.
    while kills < 30 and (kills < 8 or not (outcomes["old"] and outcomes["new"])):
        order = [name for name in models if name != current] + [current]

        def save_forever(order: list[str] = order) -> None:  # pragma: no cover - the child
            while True:
                for name in order:
                    models[name].save_pretrained(folder)

        pid = fork(save_forever)
        time.sleep(rng.uniform(0.02, 1.5 * one_save))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        loaded = which(folder, models)  # exactly one of the two models
        outcomes["old" if loaded == current else "new"] += 1
        current = loaded
    assert outcomes["old"], outcomes
    assert outcomes["new"], outcomes
    models["resnet50"].save_pretrained(folder)
    assert leftovers(folder) == []
    assert which(folder, models) == "resnet50"


def test_an_exception_while_writing_leaves_the_previous_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = scalenet.create("resnet20_cifar"), scalenet.create("resnet32_cifar")
    old.save_pretrained(tmp_path / "d")
    (tmp_path / "d" / "notes.txt").write_text("mine")

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(scalenet.io.safetensors, "_bytes", full)
    with pytest.raises(WeightsError, match="No space left on device"):
        new.save_pretrained(tmp_path / "d")
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "README.md", "config.json", "model.safetensors", "notes.txt"
    ]  # fmt: skip
    assert which(tmp_path / "d", {"old": old, "new": new}) == "old"


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_permissions_follow_the_umask(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        folder = scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "a" / "b")
    finally:
        os.umask(previous)
    for directory in (tmp_path / "a", folder):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o777 & ~umask
    for file in folder.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask, file.name


def test_a_file_in_the_way_is_a_weights_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    model = scalenet.create("resnet20_cifar")
    with pytest.raises(WeightsError, match=r"file[/\\]model: .*file is a file, not a directory"):
        model.save_pretrained(tmp_path / "file" / "model")
    with pytest.raises(WeightsError, match="is a file, not a directory"):
        model.save_pretrained(tmp_path / "file")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    assert (tmp_path / "file").read_text() == "x"


def test_a_folder_that_cannot_be_created_is_a_weights_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "mkdir", read_only)
    with pytest.raises(WeightsError, match=r"cannot create .*new: Read-only file system"):
        scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "new")


def test_a_save_writes_only_inside_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Everything a save opens for writing, makes, renames, links or removes (seen by an audit
    # hook) lies inside the target: names relative to the folder's descriptor, or /proc paths
    # of the folder's files. Run from another folder, which must stay empty.
    target = tmp_path / "target"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    events: list[tuple[str, str]] = []
    recording = [False]

    def where(path: object) -> str:
        text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
        return os.path.realpath(text) if text.startswith("/proc/") else text

    def hook(event: str, args: tuple[object, ...]) -> None:
        if not recording[0]:
            return
        if event == "open" and isinstance(args[0], (str, Path)):
            mode, flags = args[1], args[2]
            if (mode or "r") != "r" or (isinstance(flags, int) and flags & 0o3):
                events.append((event, where(args[0])))
        elif event in ("os.mkdir", "os.rename", "os.link", "os.remove", "os.rmdir"):
            events.extend((event, where(a)) for a in args if isinstance(a, (str, Path)))

    sys.addaudithook(hook)
    model = scalenet.create("resnet20_cifar")
    model.save_pretrained(target, companions={"a.bin": b"1"})
    recording[0] = True
    try:
        model.save_pretrained(target, companions={"a.bin": b"2"})
    finally:
        recording[0] = False
    assert events
    inside = target.resolve()
    outside = [
        e for e in events if "/" in e[1] and not Path(e[1].split(" (")[0]).is_relative_to(inside)
    ]
    assert outside == []
    assert list(elsewhere.iterdir()) == []

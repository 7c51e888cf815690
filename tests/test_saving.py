"""All-or-nothing saves: killed at every step and at random moments, a folder loads exactly.

The saves run in forked children (no re-import of torch: a fork costs milliseconds), which are
SIGKILLed: deterministically at each file operation of a save (fault injection), and at random
moments while they save large models in a loop. After each kill the folder must load to the
old model or the new one, exactly, and the next save must leave no staging behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import scalenet
from scalenet import WeightsError, _atomic

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


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".scalenet"))


def fork(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child; returns the child's pid (the child never returns)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            work()
        finally:
            os._exit(0)
    return pid


def in_child(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child and wait for it; returns its wait status."""
    return os.waitpid(fork(work), 0)[1]


@contextlib.contextmanager
def kill_at(step: int) -> Iterator[list[str]]:
    """SIGKILL this process after the ``step``-th file operation of a save (0: before any)."""
    done: list[str] = []
    originals = {"replace": os.replace, "rename": os.rename, "_fsync": _atomic._fsync}

    def wrap(name: str, call: Callable[..., object]) -> Callable[..., object]:
        def step_once(*args: object) -> object:
            if len(done) == step:
                os.kill(os.getpid(), signal.SIGKILL)
            result = call(*args)
            done.append(f"{name}{args}")
            return result

        return step_once

    os.replace = wrap("replace", originals["replace"])  # type: ignore[assignment]
    os.rename = wrap("rename", originals["rename"])  # type: ignore[assignment]
    _atomic._fsync = wrap("fsync", originals["_fsync"])  # type: ignore[assignment]
    try:
        yield done
    finally:
        os.replace, os.rename = originals["replace"], originals["rename"]  # type: ignore[assignment]
        _atomic._fsync = originals["_fsync"]  # type: ignore[assignment]


def test_killed_at_every_step_of_a_save_the_folder_loads_old_or_new(tmp_path: Path) -> None:
    old, new = scalenet.create("resnet20_cifar"), scalenet.create("resnet32_cifar")
    models = {"old": old, "new": new}
    # How many file operations one save over an existing folder makes.
    reference = tmp_path / "reference"
    old.save_pretrained(reference)
    with kill_at(step=10**9) as done:
        new.save_pretrained(reference)
    steps = len(done)
    assert steps >= 8  # 3 files and the staging folder synced, the commit, 3 moves, the folder
    seen = []
    for step in range(steps + 1):
        folder = tmp_path / f"d{step}"
        old.save_pretrained(folder)

        def save_and_die(step: int = step, folder: Path = folder) -> None:
            with kill_at(step):
                new.save_pretrained(folder)

        status = in_child(save_and_die)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        assert killed == (step < steps), (step, status)
        seen.append(which(folder, models))
        # The next save finishes or discards what the killed one left, and leaves nothing.
        old.save_pretrained(folder)
        assert leftovers(folder) == []
        assert which(folder, models) == "old"
    # Killed before the commit: the old model; after it: the new one (never a mixture).
    commit = next(i for i, op in enumerate(done) if "rename" in op and ".scalenet-commit" in op)
    assert seen == ["old"] * (commit + 1) + ["new"] * (steps - commit)


def test_killed_at_random_moments_while_saving_large_models(tmp_path: Path) -> None:
    models = {"resnet50": scalenet.create("resnet50"), "resnet101": scalenet.create("resnet101")}
    folder = tmp_path / "m"
    models["resnet50"].save_pretrained(folder)
    start = time.perf_counter()
    models["resnet101"].save_pretrained(folder)
    one_save = time.perf_counter() - start
    current = "resnet101"
    rng = random.Random(0)
    outcomes = {"old": 0, "new": 0, "staging left": 0}
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
        outcomes["staging left"] += any(".scalenet-staging" in p for p in leftovers(folder))
        loaded = which(folder, models)  # exactly one of the two models
        outcomes["old" if loaded == current else "new"] += 1
        current = loaded
    assert outcomes["old"], outcomes
    assert outcomes["new"], outcomes
    assert outcomes["staging left"], "no kill landed while a save was writing"
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

    monkeypatch.setattr(scalenet._safetensors, "_bytes", full)
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

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(WeightsError, match=r"cannot create .*new: Read-only file system"):
        scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "new")


def test_a_save_writes_only_inside_its_folder(tmp_path: Path) -> None:
    # Everything a save opens for writing, makes, renames or removes (seen by an audit hook)
    # lies inside the target: so a read-only parent or a mount point as the target is fine.
    events: list[tuple[str, str]] = []
    recording = [False]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if not recording[0]:
            return
        if event == "open" and isinstance(args[0], (str, Path)):
            mode, flags = args[1], args[2]
            writing = (mode or "r") != "r" or (isinstance(flags, int) and flags & 0o3)
            if writing:
                events.append((event, str(args[0])))
        elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir"):
            events.extend((event, str(a)) for a in args if isinstance(a, (str, Path)))

    sys.addaudithook(hook)
    target = tmp_path / "target"
    model = scalenet.create("resnet20_cifar")
    model.save_pretrained(target)
    recording[0] = True
    try:
        model.save_pretrained(target)
    finally:
        recording[0] = False
    assert events
    outside = [e for e in events if not Path(e[1]).resolve().is_relative_to(target.resolve())]
    assert outside == []

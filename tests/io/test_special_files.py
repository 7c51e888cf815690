"""Special files where a saved folder's files should be (issue "Reliability round 3", rows 1
and 2): a FIFO blocks the process that opens it until something writes, and ``/dev/zero``
never ends. Every reader of a folder opens regular files only, without blocking, and reads a
companion no further than its size: each case is a ``WeightsError`` at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import scalenet
from helpers import time_bound
from scalenet import WeightsError
from scalenet.hub.load import read_checkpoint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX")

READERS: dict[str, Callable[[Path], object]] = {
    "from_pretrained": scalenet.from_pretrained,
    "read_checkpoint": read_checkpoint,
    "load_weights": lambda d: scalenet.load_weights(
        scalenet.create("resnet20_cifar"), d / "model.safetensors"
    ),
}


def saved(tmp_path: Path) -> Path:
    folder = scalenet.create("resnet20_cifar").save_pretrained(
        tmp_path / "m", companions={"state.json": b"{}"}
    )
    return folder


@pytest.mark.parametrize("reader", list(READERS))
def test_a_fifo_for_the_weights_is_refused_at_once(tmp_path: Path, reader: str) -> None:
    folder = saved(tmp_path)
    (folder / "model.safetensors").unlink()
    os.mkfifo(folder / "model.safetensors")
    with time_bound(10), pytest.raises(WeightsError, match=r"model\.safetensors"):
        READERS[reader](folder)


def test_a_fifo_companion_is_refused_at_once(tmp_path: Path) -> None:
    folder = saved(tmp_path)
    (companion,) = folder.glob("state.*.json")
    companion.unlink()
    os.mkfifo(companion)
    with time_bound(10), pytest.raises(WeightsError, match="not a regular file"):
        read_checkpoint(folder)


def test_a_companion_linked_to_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    """In a child process with a memory limit and a timeout: reading /dev/zero to its end
    (what a regression would do) fills memory, which must not take the test run with it."""
    folder = saved(tmp_path)
    (companion,) = folder.glob("state.*.json")
    companion.unlink()
    companion.symlink_to("/dev/zero")
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
        "from scalenet.hub.load import read_checkpoint\n"
        "from scalenet import WeightsError\n"
        "try:\n"
        "    read_checkpoint(sys.argv[1])\n"
        "except WeightsError as err:\n"
        "    print(err)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not a regular file" in result.stdout

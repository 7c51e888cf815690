"""examples/train.py's checkpoints are one unit: killed at every file operation of writing
``last/``, a resume gets one epoch's weights with that epoch's optimizer, scheduler, RNG and
metrics, or refuses with one line; a damaged or mismatched ``last/`` is refused the same way.

In process (train.py's own ``checkpoint`` and ``resume``) on a tiny model, in forked children
SIGKILLed by tests/faults.py; test_examples.py runs a stopped and resumed run end to end.
"""

from __future__ import annotations

import importlib
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import scalenet
from faults import in_child, kill_at, was_killed

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
train = importlib.import_module("train")
training_state = importlib.import_module("training_state")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL are POSIX")

TINY = scalenet.ResNetConfig(depths=(1, 1), width=4, stem="cifar", input_size=8, num_classes=3)


class Run:
    """A model, optimizer and scheduler as train.py makes them, stepped on random batches."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.model = TINY.build()
        self.opt = torch.optim.Adam(self.model.parameters(), 0.01)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda step: 0.9**step)

    def epoch(self) -> None:
        for _ in range(3):
            x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 3, (4,))
            loss = torch.nn.functional.cross_entropy(self.model(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.sched.step()

    def save(self, folder: Path, epoch: int) -> None:
        state = training_state.pack_state(
            optimizer=self.opt.state_dict(),
            scheduler=self.sched.state_dict(),
            epoch=epoch,
            best=epoch / 10,
            history=[{"epoch": e + 1} for e in range(epoch)],
        )
        train.checkpoint(self.model, folder, companions={training_state.STATE_NAME: state})

    def snapshot(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "weights": {k: v.clone() for k, v in self.model.state_dict().items()},
            "momentum": [s["exp_avg"].clone() for s in self.opt.state_dict()["state"].values()],
            "lr": self.sched.get_last_lr(),
            "rng": (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()),
        }


def resumed(folder: Path) -> dict[str, Any]:
    run = Run()
    start, best, history = train.resume(run.model, run.opt, run.sched, folder)
    assert best == start / 10
    assert [row["epoch"] for row in history] == list(range(1, start + 1))
    return run.snapshot(start)


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    checks = {
        "epoch": a["epoch"] == b["epoch"],
        "weights": all(torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"]),
        "momentum": all(
            torch.equal(x, y) for x, y in zip(a["momentum"], b["momentum"], strict=True)
        ),
        "lr": a["lr"] == b["lr"],
        "torch rng": torch.equal(a["rng"][0], b["rng"][0]),
        "python rng": a["rng"][1] == b["rng"][1],
        "numpy rng": np.array_equal(a["rng"][2], b["rng"][2]),
    }
    return [name for name, ok in checks.items() if not ok]


def test_killed_at_every_file_operation_of_a_checkpoint_a_resume_is_one_epoch(tmp_path: Path):
    run = Run()
    run.epoch()
    first = tmp_path / "first"
    run.save(first, 1)
    expected = {1: run.snapshot(1)}
    run.epoch()
    with kill_at(10**9) as done:
        run.save(tmp_path / "reference", 1)  # a first save: to count the operations
        run.save(tmp_path / "reference", 2)
    # Which snapshot equals a resume from epoch 2's save is checked after the kills.
    steps = len(done) - len(done) // 2
    # Epoch 2 as a resumed run makes it (the state a checkpoint of epoch 2 must restore).
    run_2 = Run()
    train.resume(run_2.model, run_2.opt, run_2.sched, first)
    run_2.epoch()
    expected[2] = run_2.snapshot(2)
    rng = (torch.get_rng_state(), random.getstate(), np.random.get_state())
    kills = 0
    outcomes = []
    for step in range(steps + 1):
        folder = tmp_path / f"last{step}"
        shutil.copytree(first, folder)

        def save_and_die(step: int = step, folder: Path = folder) -> None:
            # A forked child reseeds Python's RNG; the state saved is the parent's.
            torch.set_rng_state(rng[0])
            random.setstate(rng[1])
            np.random.set_state(rng[2])
            with kill_at(step):
                run_2.save(folder, 2)

        status = in_child(save_and_die)
        kills += was_killed(status)
        got = resumed(folder)
        outcomes.append(got["epoch"])
        assert differences(got, expected[got["epoch"]]) == [], (step, got["epoch"])
    assert kills == steps >= 15
    assert outcomes[0] == 1
    assert outcomes[-1] == 2


def test_a_damaged_or_mismatched_last_is_one_error_line(tmp_path: Path) -> None:
    run = Run()
    run.epoch()
    last = tmp_path / "last"
    run.save(last, 1)
    (stored,) = last.glob("training_state.*.state")
    data = stored.read_bytes()
    stored.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(train.Fail, match=r"--resume: no usable checkpoint .*is not the file"):
        resumed(last)
    stored.write_bytes(data)
    other = Run()
    other.model = TINY.replace(width=8).build()
    with pytest.raises(train.Fail, match=r"--resume: .* is not a checkpoint of this model"):
        train.resume(other.model, other.opt, other.sched, last)
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "plain")
    with pytest.raises(train.Fail, match=r"no training state committed with them"):
        resumed(tmp_path / "plain")
    with pytest.raises(train.Fail, match=r"no usable checkpoint in .*missing"):
        resumed(tmp_path / "missing")

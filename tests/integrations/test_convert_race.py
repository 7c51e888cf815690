"""Two ``scalenet convert`` runs of different models into one new folder at once (issue
"Reliability round 3", row 3): both passed the emptiness check before either wrote, and one
model silently replaced the other. The check and the write are one step now (the folder
appears by one rename, which fails onto a folder another run filled): one wins, the other
fails with the folder-holds-files error, and the folder holds the winner whole.

Each pair is made to race: both runs pass the check and build their model before either
writes (a barrier in ``create``). Ten pairs of converts, and ten pairs of saves of different
models into one existing folder (save_pretrained's lock: the second fails at once, the folder
holds one model whole)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

import scalenet
from scalenet import ConfigError
from scalenet.integrations import export as export_module

PAIRS = 10
NAMES = ("resnet20_cifar", "resnet32_cifar")


def race(*jobs: Any) -> list[BaseException | None]:
    """Run ``jobs`` in threads at once; what each raised (None if nothing)."""
    outcome: list[BaseException | None] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            jobs[i]()
        except BaseException as err:
            outcome[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return outcome


def test_two_converts_into_one_new_folder_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = {name: scalenet.create(name) for name in NAMES}  # random weights: no download
    for pair in range(PAIRS):
        barrier = threading.Barrier(2, timeout=60)

        def create(
            name: str, barrier: threading.Barrier = barrier, **_: Any
        ) -> scalenet.ScaleNetModel:
            model = models[name.split(".")[0]]
            barrier.wait()  # both past the emptiness check, neither written yet
            return model

        monkeypatch.setattr(export_module, "create", create)
        monkeypatch.setattr(export_module, "resolve", lambda name: _Record(name))
        target = tmp_path / f"pair{pair}"
        errors = race(*(lambda n=n, t=target: export_module.export(n, t) for n in NAMES))
        failed = [e for e in errors if e is not None]
        assert len(failed) == 1, errors
        assert isinstance(failed[0], ConfigError)
        assert "another process wrote a model into it" in str(failed[0])
        winner = NAMES[errors.index(None)]
        loaded = scalenet.from_pretrained(target)
        assert loaded.config == models[winner].config
        for key, value in models[winner].state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


class _Record:
    """What ``export`` needs of a catalogue record: its name."""

    def __init__(self, name: str) -> None:
        self.name = name


def test_two_saves_into_one_folder_leave_one_model_whole(tmp_path: Path) -> None:
    """save_pretrained holds the folder's lock while it writes: a save that finds it taken
    fails at once (it does not wait, nor write), so the folder holds one model, whole."""
    models = [scalenet.create(name) for name in NAMES]
    for pair in range(PAIRS):
        target = tmp_path / f"pair{pair}"
        target.mkdir()
        errors = race(*(lambda m=m, t=target: m.save_pretrained(t) for m in models))
        for error in errors:
            assert error is None or "another save into" in str(error), error
        assert errors.count(None) >= 1
        loaded = scalenet.from_pretrained(target)
        (held,) = [m for m in models if m.config == loaded.config]
        if None in errors and errors.count(None) == 1:  # the one that committed
            assert held is models[errors.index(None)]
        for key, value in held.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key

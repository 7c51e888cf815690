"""Inputs an attacker (or an accident) hands to scalenet: each gets scalenet's own error, at
once, instead of a hang, a memory bomb or a raw exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import scalenet
import scalenet.cli
from helpers import time_bound
from scalenet.cli import main
from scalenet.saving import read_config


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    return fifo


def test_a_fifo_named_as_a_config_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    with time_bound(20), pytest.raises(scalenet.ConfigError, match="a regular file"):
        read_config(fifo)


def test_the_cli_refuses_a_fifo_config_as_a_usage_error(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    with time_bound(30):
        result = CliRunner().invoke(main, ["summary", str(fifo)])
    assert result.exit_code == 2, result.output
    assert "a regular file" in result.output


def test_a_path_too_long_for_the_filesystem_is_a_config_error(tmp_path: Path) -> None:
    long = tmp_path / ("x" * 300 + ".json")  # one name past the 255-byte limit
    with pytest.raises(scalenet.ConfigError, match="File name too long"):
        read_config(long)


@pytest.mark.parametrize(
    "args",
    [["--batch-size", "100000"], ["--input-size", "32768"]],
    ids=["batch", "input-size"],
)
def test_fvcore_summary_refuses_what_would_not_fit_before_allocating(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # It once tried to allocate 6-13 GB, then failed; the estimate comes first now.
    monkeypatch.setattr(scalenet.cli, "_available_memory", lambda: 8 * 2**30)
    result = CliRunner().invoke(main, ["summary", "resnet20_cifar", "--method", "fvcore", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "--method fvcore runs the model on this machine: about" in result.output
    assert "8.59 GB of memory is free" in result.output
    # What fits runs (a batch of 2: a few MB).
    ok = CliRunner().invoke(main, ["summary", "resnet20_cifar", "--method", "fvcore"])
    assert ok.exit_code == 0, ok.output


def test_available_memory_is_read_from_the_system() -> None:
    free = scalenet.cli._available_memory()
    assert free is not None
    assert 2**20 < free <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")

"""Inputs an attacker (or an accident) hands to scalenet: each gets scalenet's own error, at
once, instead of a hang, a memory bomb or a raw exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import scalenet
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

"""Inputs an attacker (or an accident) hands to scalenet: each gets scalenet's own error, at
once, instead of a hang, a memory bomb or a raw exception."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path

import pytest
import safetensors.torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalenet
import scalenet.cli
import scalenet.spec.scaling
from helpers import time_bound
from scalenet import ResNetConfig
from scalenet.cli import main
from scalenet.hub.save import read_config


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
    monkeypatch.setattr(scalenet.cli.summary, "_available_memory", lambda: 8 * 2**30)
    result = CliRunner().invoke(main, ["summary", "resnet20_cifar", "--method", "fvcore", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "--method fvcore runs the model on this machine: about" in result.output
    assert "8.59 GB of memory is free" in result.output
    # What fits runs (a batch of 2: a few MB).
    ok = CliRunner().invoke(main, ["summary", "resnet20_cifar", "--method", "fvcore"])
    assert ok.exit_code == 0, ok.output


def test_available_memory_is_read_from_the_system() -> None:
    free = scalenet.cli.summary._available_memory()
    assert free is not None
    assert 2**20 < free <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


# --- fuzzed config dicts: scalenet's errors only, each at once --------------------------------

_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["resnet", "simple_cnn", "cifar", "imagenet", "basic", "bottleneck",
                     "pad", "projection", "same", "max", "avg", "none"]),
)  # fmt: skip
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
_SMALL_INTS = st.lists(st.integers(min_value=-1, max_value=12), min_size=0, max_size=5)


def _mostly(valid: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """A field's value: usually of the right kind (so later checks are reached), else junk."""
    return st.one_of(valid, valid, valid, _JSON)


_FIELDS = {
    "depths": _mostly(_SMALL_INTS),
    "channels": _mostly(_SMALL_INTS.map(lambda xs: [8 * x for x in xs])),
    "hidden": _mostly(_SMALL_INTS),
    "width": _mostly(st.integers(min_value=-4, max_value=300)),
    "stem": _mostly(st.sampled_from(["imagenet", "cifar"])),
    "block": _mostly(st.sampled_from(["basic", "bottleneck"])),
    "downsample": _mostly(st.sampled_from(["pad", "projection"])),
    "kernel_size": _mostly(st.integers(min_value=-1, max_value=80)),
    "padding": _mostly(st.sampled_from(["same", 0, 1, 63, 10**9])),
    "pool": _mostly(st.sampled_from(["max", "avg", "none"])),
    "num_classes": _mostly(st.integers(min_value=-1, max_value=1 << 25)),
    "in_chans": _mostly(st.integers(min_value=-1, max_value=70_000)),
    "input_size": _mostly(st.integers(min_value=-1, max_value=40_000)),
    "dropout": _mostly(st.floats(min_value=-1, max_value=2)),
    "global_pool": _mostly(st.booleans()),
    "shortcut": _mostly(st.booleans()),
}
_FAMILY = st.sampled_from(["resnet", "simple_cnn"])
_CONFIG_DICTS = st.one_of(
    st.fixed_dictionaries({"family": _FAMILY}, optional=_FIELDS),
    st.fixed_dictionaries({"family": _FAMILY}, optional=_FIELDS),
    st.fixed_dictionaries({}, optional={"family": _JSON, **_FIELDS}),
    st.dictionaries(st.text(max_size=8), _JSON, max_size=4),
    _JSON,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_CONFIG_DICTS)
def test_fuzzed_config_dicts_give_a_config_or_scalenets_error(data: object) -> None:
    with time_bound(10), contextlib.suppress(scalenet.ScaleNetError):
        scalenet.config_from_dict(data)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=_CONFIG_DICTS)
def test_fuzzed_config_json_through_from_pretrained(tmp_path: Path, data: object) -> None:
    # A folder as a download or a clone delivers it: someone's config.json beside weights
    # that carry no config of their own (another tool wrote them).
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_args": data}, allow_nan=True))
    if not (folder / "model.safetensors").exists():
        state = scalenet.create("resnet20_cifar").state_dict()
        safetensors.torch.save_file(state, str(folder / "model.safetensors"))
    with time_bound(20), contextlib.suppress(scalenet.ScaleNetError):
        scalenet.from_pretrained(folder)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=_CONFIG_DICTS)
def test_fuzzed_config_files_through_the_cli(tmp_path: Path, data: object) -> None:
    path = tmp_path / "fuzzed.json"
    path.write_text(json.dumps(data, allow_nan=True))
    with time_bound(30):
        result = CliRunner().invoke(main, ["summary", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:  # a usage error: said on stderr, nothing on stdout
        assert result.stdout == ""
        assert "Error:" in result.stderr


def test_a_fifo_as_a_saved_models_config_json_does_not_hang_from_pretrained(
    tmp_path: Path,
) -> None:
    folder = scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "m")
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    with time_bound(20), pytest.raises(scalenet.ConfigError, match="a regular file"):
        scalenet.from_pretrained(folder)


# --- scaling: every search ends, every multiplier is checked ---------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        # MACs constant in phi: the search for the budget's edge never ended
        (
            lambda: scalenet.fit_budget(ResNetConfig(), 4e9, alpha=1.0, beta=1.0, gamma=1.0),
            "alpha, beta, gamma",
        ),
        (
            lambda: scalenet.fit_budget(ResNetConfig(), 4e9, alpha=0.9, beta=1.0, gamma=1.0),
            "alpha, beta, gamma",
        ),
        (lambda: scalenet.fit_budget(ResNetConfig(), 4e9, tolerance=0.0), "tolerance"),
        (lambda: scalenet.fit_budget(ResNetConfig(), 4e9, tolerance=math.nan), "tolerance"),
        (lambda: scalenet.fit_budget(ResNetConfig(), 4e9, tolerance=True), "tolerance"),
        (lambda: scalenet.fit_budget(ResNetConfig(), 4e9, alpha=math.inf), "alpha"),
        # overflows: 1.2**5000, int(inf), ceil(2e308)
        (lambda: scalenet.compound_scale(ResNetConfig(), 5000), "phi"),
        (lambda: scalenet.compound_scale(ResNetConfig(), -5000), "phi"),
        (lambda: scalenet.scale(ResNetConfig(), width=math.inf), "width"),
        (lambda: scalenet.scale(ResNetConfig(), width=math.nan), "width"),
        (lambda: scalenet.scale(ResNetConfig(), depth=1e308), "depth"),
        (lambda: scalenet.scale(ResNetConfig(), resolution=10**400), "resolution"),
        (lambda: scalenet.scale(ResNetConfig(), resolution=1e6), "resolution"),
    ],
)
def test_scaling_refuses_what_would_never_end_or_overflow(call: object, field: str) -> None:
    with time_bound(20), pytest.raises(scalenet.ConfigError) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field


def test_the_finest_tolerance_still_ends_at_the_budgets_edge() -> None:
    with time_bound(60):
        fine = scalenet.spec.scaling.bracket_budget(ResNetConfig(), 4e9, tolerance=1e-9)
    assert fine.under_macs <= 4e9 < fine.over_macs  # type: ignore[operator]
    assert 0 < fine.over_phi - fine.under_phi <= 1e-9  # type: ignore[operator]
    coarse = scalenet.spec.scaling.bracket_budget(ResNetConfig(), 4e9)
    assert (coarse.under, coarse.over) == (fine.under, fine.over)


def test_a_budget_past_the_model_size_limit_is_refused_at_once() -> None:
    """``fit_budget(cfg, 10**400)`` took 15 s and returned a config of 12.8 T parameters (no
    model of which builds): the members past MAX_PARAMS count as over any budget, and a budget
    past the largest member within the limits is an error that names it."""
    from scalenet.config import MAX_PARAMS
    from scalenet.spec.plan import count_params

    started = time.perf_counter()
    with pytest.raises(scalenet.ConfigError, match=r"macs=an integer of 401 digits .* at most "):
        scalenet.fit_budget(scalenet.ResNetConfig(), 10**400)
    assert time.perf_counter() - started < 5
    big = scalenet.fit_budget(scalenet.ResNetConfig(), 10**12)  # within the limits: fits
    assert count_params(big) <= MAX_PARAMS


def test_convert_into_a_folder_name_too_long_is_a_usage_error(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["convert", "resnet20_cifar", str(tmp_path / ("x" * 300))])
    assert out.exit_code == 2, out.output
    assert "File name too long" in out.output
    assert "Traceback" not in out.output

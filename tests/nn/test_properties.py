"""Property tests over random configs: valid ones build and agree with their plan, invalid ones
raise ConfigError or ShapeError and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import scalenet
from scalenet import ConfigError, ResNetConfig, ShapeError, SimpleCNNConfig
from strategies import resnet_configs, simple_cnn_configs

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stage_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    names = [n for n, m in model.named_children() if hasattr(m, "is_stage")]
    names += [f"features.{i}" for i in range(len(getattr(model, "features", [])))]
    seen: dict[str, tuple[int, ...]] = {}
    for name in names:
        module = model.get_submodule(name)
        module.register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, tuple(out.shape))
        )
    model(x)
    return seen


def check_against_plan(cfg: ResNetConfig | SimpleCNNConfig) -> None:
    model = cfg.build().eval()
    x = torch.randn(2, cfg.in_chans, cfg.input_size, cfg.input_size)
    with torch.no_grad():
        assert model(x).shape == (2, cfg.num_classes)
        seen = stage_outputs(model, x)
    specs = scalenet.plan(cfg)
    # The plan's parameter count is the module's, and names the modules that hold them.
    assert sum(s.params for s in specs) == sum(p.numel() for p in model.parameters())
    assert {s.name for s in specs if s.params} == {
        n for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))
    }
    assert seen
    for name, shape in seen.items():
        last = [s for s in specs if s.name.startswith(name + ".")][-1]
        assert shape == (2, last.out_channels, *last.out_size), name


@SETTINGS
@given(resnet_configs())
def test_random_resnets_build_run_and_match_their_plan(cfg: ResNetConfig) -> None:
    check_against_plan(cfg)


@SETTINGS
@given(simple_cnn_configs())
def test_random_simple_cnns_build_run_and_match_their_plan(cfg: SimpleCNNConfig) -> None:
    check_against_plan(cfg)


ANY = st.one_of(
    st.integers(-3, 300),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-2, 4), max_size=3),
    st.tuples(st.integers(-2, 4)),
)


@settings(max_examples=300, deadline=None)
@given(
    family=st.sampled_from([ResNetConfig, SimpleCNNConfig]),
    changes=st.dictionaries(
        st.sampled_from(
            [
                "depths", "width", "stem", "block", "shortcut", "downsample", "channels",
                "kernel_size", "padding", "pool", "hidden", "num_classes", "in_chans",
                "input_size", "dropout", "global_pool", "typo", "groups", "base_width",
                "preact", "widen_factor", "block_dropout", "drop_path_rate",
            ]
        ),
        ANY,
        min_size=1,
        max_size=3,
    ),
)  # fmt: skip
def test_random_field_values_raise_only_config_or_shape_errors(
    family: type[ResNetConfig] | type[SimpleCNNConfig], changes: dict[str, Any]
) -> None:
    data = family().to_dict() | changes
    try:
        cfg = family.from_dict(data)
    except (ConfigError, ShapeError):
        return
    # Accepted: then it must build and run at its declared size (shapes only, on meta), unless
    # it describes more than MAX_PARAMS parameters: a config may describe any size (to count
    # it), the builder refuses past the limit (widen_factor=14 on resnet18: 2.19e9).
    if sum(s.params for s in scalenet.plan(cfg)) > scalenet.config.MAX_PARAMS:
        with pytest.raises(ConfigError, match="MAX_PARAMS"):
            cfg.build()
        return
    with torch.device("meta"):
        model = cfg.build()
    x = torch.empty(1, cfg.in_chans, cfg.input_size, cfg.input_size, device="meta")
    assert model(x).shape == (1, cfg.num_classes or model.head_hidden_size)

"""Hypothesis strategies for random valid configs of each family (tests/nn/test_properties.py,
tests/analysis/test_profile.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import scalenet
from scalenet import ResNetConfig, ShapeError, SimpleCNNConfig


@st.composite
def resnet_configs(draw: st.DrawFn) -> ResNetConfig:
    """Any stem, block, shortcut and variant: pre-activation, widened (WRN), grouped or
    widened inside (ResNeXt, wide bottleneck), with block dropout."""
    stem = draw(st.sampled_from(["imagenet", "cifar", "deep"]))
    stages = draw(st.integers(1, 4))
    block = draw(st.sampled_from(["basic", "bottleneck"]))
    bottleneck = block == "bottleneck"
    shortcut = draw(st.booleans())
    cfg = ResNetConfig(
        depths=tuple(draw(st.lists(st.integers(1, 2), min_size=stages, max_size=stages))),
        width=draw(st.integers(2 if stem == "deep" else 1, 6)),
        stem=stem,
        block=block,
        shortcut=shortcut,
        downsample=draw(st.sampled_from(["projection", "pad", "avgpool"])),
        num_classes=draw(st.integers(1, 12)),
        in_chans=draw(st.integers(1, 4)),
        input_size=16 if stem == "cifar" else 32,
        dropout=draw(st.sampled_from([0.0, 0.3])),
        preact=draw(st.booleans()),
        widen_factor=draw(st.integers(1, 3)),
        block_dropout=0.0 if bottleneck else draw(st.sampled_from([0.0, 0.2])),
        groups=draw(st.sampled_from([1, 2])) if bottleneck else 1,
        base_width=draw(st.sampled_from([64, 128])) if bottleneck else 64,
        drop_path_rate=draw(st.sampled_from([0.0, 0.2])) if shortcut else 0.0,
    )
    sizes = scalenet.valid_input_sizes(cfg, 1, 80)
    return cfg.replace(input_size=draw(st.sampled_from(sizes[:3])))


@st.composite
def simple_cnn_configs(draw: st.DrawFn) -> SimpleCNNConfig:
    fields: dict[str, Any] = {
        "channels": tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))),
        "kernel_size": draw(st.sampled_from([1, 3, 5])),
        "padding": draw(st.sampled_from(["same", 0, 1])),
        "pool": draw(st.sampled_from(["max", "avg", "none"])),
        "batch_norm": draw(st.booleans()),
        "dropout": draw(st.sampled_from([0.0, 0.2])),
        "hidden": tuple(draw(st.lists(st.integers(1, 8), max_size=2))),
        "num_classes": draw(st.integers(1, 12)),
        "in_chans": draw(st.integers(1, 4)),
        "global_pool": draw(st.booleans()),
        "conv_bias": draw(st.booleans()),
    }
    # Find the valid sizes by trial (independently of valid_input_sizes): the smallest, and
    # the one after it.
    sizes = []
    for size in range(1, 2048):
        try:
            SimpleCNNConfig(**fields, input_size=size)
        except ShapeError:
            continue
        sizes.append(size)
        if len(sizes) == 2:
            break
    return SimpleCNNConfig(**fields, input_size=draw(st.sampled_from(sizes)))

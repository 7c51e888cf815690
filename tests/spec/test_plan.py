"""The layer plan against the built module: names one to one, sizes equal to real shapes."""

from __future__ import annotations

import pytest
import torch
from timm.layers import DropPath
from torch import nn

import scalenet
from helpers import time_bound
from scalenet import ResNetConfig, SimpleCNNConfig
from scalenet.spec.plan import count_state

# Kinds of operation that have no module of their own in the built model.
NO_MODULE = {"add", "flatten"}

CONFIGS = {
    "resnet18": ResNetConfig(),
    "resnet50_64px": ResNetConfig(depths=(3, 4, 6, 3), block="bottleneck", input_size=64),
    "resnet20_pad": ResNetConfig(
        depths=(3, 3, 3), width=16, stem="cifar", downsample="pad", num_classes=10, input_size=32
    ),
    "plain_bottleneck": ResNetConfig(
        depths=(1, 2), width=8, stem="cifar", block="bottleneck", shortcut=False, input_size=16
    ),
    "bottleneck_pad": ResNetConfig(
        depths=(2, 1, 1),
        width=4,
        stem="imagenet",
        block="bottleneck",
        downsample="pad",
        dropout=0.5,
        input_size=64,
    ),
    "resnext_64px": ResNetConfig(
        depths=(1, 2, 1, 1), block="bottleneck", groups=8, base_width=8, input_size=64
    ),
    "wide_bottleneck_cifar": ResNetConfig(
        depths=(1, 1), width=8, stem="cifar", block="bottleneck", base_width=128, input_size=16
    ),
    # ResNet-D: deep stem, average-pool shortcuts (one stride-1 with no pool, two strided).
    "resnet_d_bottleneck": ResNetConfig(
        depths=(1, 1, 1),
        width=4,
        stem="deep",
        block="bottleneck",
        downsample="avgpool",
        input_size=64,
    ),
    # Stochastic depth: a drop_path module on each block's branch but the first (rate 0).
    "drop_path_basic": ResNetConfig(
        depths=(2, 2),
        width=4,
        stem="cifar",
        downsample="pad",
        input_size=16,
        drop_path_rate=0.2,
        block_dropout=0.1,
    ),
    "drop_path_preact_bottleneck": ResNetConfig(
        depths=(1, 2),
        width=4,
        block="bottleneck",
        preact=True,
        input_size=32,
        drop_path_rate=0.1,
    ),
    "simple_seed": SimpleCNNConfig(channels=(32, 64, 128), dropout=0.25),
    "simple_444": SimpleCNNConfig(
        channels=(8, 16, 32, 64, 128, 256),
        kernel_size=5,
        padding=0,
        hidden=(1000, 500, 100),
        num_classes=2,
        input_size=444,
    ),
    "simple_gap_avg": SimpleCNNConfig(
        channels=(4, 8), pool="avg", batch_norm=False, global_pool=True, hidden=(7,), dropout=0.1
    ),
    "simple_nopool": SimpleCNNConfig(channels=(4, 4), pool="none", padding=0, input_size=9),
}


def leaf_modules(model: nn.Module) -> dict[str, nn.Module]:
    return {
        name: m
        for name, m in model.named_modules()
        if not list(m.children()) and not isinstance(m, (nn.Identity, nn.Sequential))
    }


@pytest.mark.parametrize("key", list(CONFIGS))
def test_plan_names_match_the_built_modules_one_to_one(key: str) -> None:
    cfg = CONFIGS[key]
    with torch.device("meta"):
        model = cfg.build()
    specs = scalenet.plan(cfg)
    planned = {s.name for s in specs if s.kind not in NO_MODULE}
    modules = leaf_modules(model)
    assert planned == set(modules)
    kinds = {
        "conv": nn.Conv2d,
        "bn": nn.BatchNorm2d,
        "relu": nn.ReLU,
        "maxpool": nn.MaxPool2d,
        "avgpool": (nn.AvgPool2d, nn.AdaptiveAvgPool2d),
        "pad": scalenet.nn.layers.PadShortcut,
        "dropout": nn.Dropout,
        "drop_path": DropPath,
        "linear": nn.Linear,
    }
    for s in specs:
        if s.kind in NO_MODULE:
            continue
        m = modules[s.name]
        assert isinstance(m, kinds[s.kind]), s.name
        if isinstance(m, nn.Conv2d):
            assert (m.in_channels, m.out_channels) == (s.in_channels, s.out_channels)
            assert (m.kernel_size, m.stride, m.padding) == (
                (s.kernel, s.kernel),
                (s.stride, s.stride),
                (s.padding, s.padding),
            )
            assert (m.bias is not None) == s.bias
            assert m.groups == s.groups, s.name
        if isinstance(m, nn.Linear):
            assert (m.in_features, m.out_features) == (s.in_channels, s.out_channels)
        if isinstance(m, DropPath):
            assert m.drop_prob > 0, s.name
    # The plan's count of the state's elements (which bounds a published file's size).
    held = sum(t.numel() for t in model.state_dict().values())
    assert count_state(cfg) == held


@pytest.mark.parametrize("key", list(CONFIGS))
def test_plan_sizes_equal_real_output_shapes(key: str) -> None:
    """Every module's real output shape (run on the meta device) equals the plan's."""
    cfg = CONFIGS[key]
    with torch.device("meta"):
        model = cfg.build().eval()
    seen: dict[str, tuple[int, ...]] = {}

    def hook(name: str):  # type: ignore[no-untyped-def]
        def record(_m: nn.Module, _i: object, out: torch.Tensor) -> None:
            seen.setdefault(name, tuple(out.shape))

        return record

    for name, m in leaf_modules(model).items():
        m.register_forward_hook(hook(name))
    model(torch.empty(2, cfg.in_chans, cfg.input_size, cfg.input_size, device="meta"))
    for s in scalenet.plan(cfg):
        if s.kind in NO_MODULE or s.kind == "relu":  # a shared ReLU runs at several sizes
            continue
        # The classifier (its dropout, its linear) works on (N, features); a block's dropout
        # (block_dropout) on maps.
        flat = s.kind == "linear" or (s.kind == "dropout" and not s.name.startswith("layer"))
        expected = (2, s.out_channels) if flat else (2, s.out_channels, *s.out_size)
        assert seen[s.name] == expected, s.name


def test_first_linear_input_of_the_444px_cnn() -> None:
    specs = scalenet.plan(CONFIGS["simple_444"])
    flatten = next(s for s in specs if s.kind == "flatten")
    assert flatten.in_size == (3, 3)
    assert flatten.out_channels == 2304  # 3 x 3 x 256, hand-derived in the issue
    first_linear = next(s for s in specs if s.kind == "linear")
    assert (first_linear.in_channels, first_linear.out_channels) == (2304, 1000)


@pytest.mark.parametrize(
    ("cfg", "stride"),
    [
        (ResNetConfig(), 32),
        (ResNetConfig(depths=(1, 1, 1), stem="cifar", input_size=32), 4),
        (ResNetConfig(depths=(1, 1, 1), stem="imagenet", input_size=32), 16),
        (ResNetConfig(depths=(1,), stem="cifar", input_size=5), 1),
        (SimpleCNNConfig(channels=(4, 4, 4)), 8),
        (SimpleCNNConfig(channels=(4, 4, 4, 4, 4), input_size=64), 32),
        (SimpleCNNConfig(channels=(4, 4), pool="none", input_size=7), 1),
    ],
)
def test_output_stride(cfg: ResNetConfig | SimpleCNNConfig, stride: int) -> None:
    assert scalenet.output_stride(cfg) == stride


def test_valid_sizes_hand_derived() -> None:
    assert scalenet.nearest_valid_sizes(ResNetConfig(), 250) == (224, 256)
    assert scalenet.nearest_valid_sizes(ResNetConfig(), 224) == (224, 224)
    assert scalenet.nearest_valid_sizes(ResNetConfig(), 20) == (None, 32)
    assert scalenet.min_input_size(ResNetConfig()) == 32
    # 6-block 5x5 valid-conv CNN: f -> 2f + 4 six times gives 64 f + 252.
    cnn = CONFIGS["simple_444"]
    assert scalenet.min_input_size(cnn) == 316
    assert scalenet.valid_input_sizes(cnn, 300, 520) == [316, 380, 444, 508]
    assert scalenet.nearest_valid_sizes(cnn, 400) == (380, 444)


@pytest.mark.parametrize(
    "key", ["resnet18", "resnet20_pad", "resnet_d_bottleneck", "simple_444", "simple_nopool"]
)
def test_valid_sizes_are_exactly_those_where_every_stride_divides(key: str) -> None:
    """Brute force on the meta device: a size is valid iff every strided module's real
    output is exactly its input divided by its stride, and the network runs."""
    cfg = CONFIGS[key]
    with torch.device("meta"):
        model = cfg.build().eval()
    strided = [
        m
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
        and (m.stride if isinstance(m.stride, int) else m.stride[0]) > 1
    ]
    exact = True

    def check(m: nn.Module, inp: tuple[torch.Tensor], out: torch.Tensor) -> None:
        nonlocal exact
        s = m.stride if isinstance(m.stride, int) else m.stride[0]  # type: ignore[union-attr]
        exact &= inp[0].shape[-1] == out.shape[-1] * s

    for m in strided:
        m.register_forward_hook(check)
    top, step = {
        "resnet18": (600, 7),
        "resnet20_pad": (130, 1),
        "resnet_d_bottleneck": (200, 1),
    }.get(key, (600, 1))
    valid = set(scalenet.valid_input_sizes(cfg, 1, top))
    for size in range(1, top, step):
        exact = True
        try:
            model.forward_features(torch.empty(1, cfg.in_chans, size, size, device="meta"))
            runs = True
        except RuntimeError:
            runs = False
        assert (size in valid) == (runs and exact), size


def test_plan_reports_where_the_map_vanishes() -> None:
    with pytest.raises(scalenet.ShapeError, match=r"features\.5\.conv.*smallest valid.*316"):
        scalenet.plan(CONFIGS["simple_444"], 200)


def test_plan_is_instant_for_huge_networks() -> None:
    # ResNet-1202 at 4096 px: tens of thousands of specs, no tensor.
    cfg = ResNetConfig(depths=(200, 200, 200), width=16, stem="cifar", input_size=4096)
    specs = scalenet.plan(cfg)
    assert specs[-1].name == "fc"
    assert next(s for s in specs if s.name == "layer3.199.conv2").out_size == (1024, 1024)


def test_size_rule_of_a_deep_padded_stack_is_solved_not_searched() -> None:
    # 20,000 1x1 convs with padding 63: each adds 126 px, so every input size from 1 up is
    # valid and an input of 1 px ends as 1 + 126 * 20,000. Counting the last map's size up one
    # by one (as the size rule once did) takes hours here; the closed form, one pass.
    n = 20_000
    data = {"family": "simple_cnn", "channels": [1] * n, "kernel_size": 1, "padding": 63,
            "pool": "none", "input_size": 1}  # fmt: skip
    with time_bound(60):
        cfg = scalenet.config_from_dict(data)
        assert scalenet.min_input_size(cfg) == 1
        assert scalenet.valid_input_sizes(cfg, 1, 4) == [1, 2, 3, 4]
        assert scalenet.output_stride(cfg) == 1
        last_conv = [s for s in scalenet.plan(cfg) if s.kind == "conv"][-1]
        assert last_conv.out_size == (1 + 126 * n, 1 + 126 * n)

"""Depth/width/resolution scaling, the compound rule and budget fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import timm
import torch
from timm.models.resnet import Bottleneck as TimmBottleneck
from timm.models.resnet import ResNet as TimmResNet
from torch import nn

import scalenet
from helpers import count_params
from scalenet import ResNetConfig
from scalenet.spec.scaling import ALPHA, BETA, GAMMA, round_width, width_divisor

BASE = ResNetConfig()  # ResNet-18 at 224 = scalenet_b0


def test_compound_coefficients_are_efficientnets() -> None:
    assert (ALPHA, BETA, GAMMA) == (1.2, 1.1, 1.15)  # Tan & Le 2019, section 3.3


def test_rounding_rules() -> None:
    # EfficientNet's round_filters: nearest multiple of 8, never more than 10% below.
    assert [round_width(w) for w in (64, 70.4, 77.44, 85.18, 93.7)] == [64, 72, 80, 88, 96]
    assert round_width(3) == 8
    assert round_width(12.1) == 16  # 8 would be 34% below
    for phi in (0.5, 1, 2, 3, 4):
        cfg = scalenet.compound_scale(BASE, phi)
        assert cfg.depths == tuple(math.ceil(d * ALPHA**phi - 1e-9) for d in BASE.depths)
        assert cfg.width % 8 == 0
        assert cfg.width >= 0.9 * 64 * BETA**phi
        assert abs(cfg.width - 64 * BETA**phi) <= 8
        # Resolution: the valid size nearest to 224 * gamma^phi (a multiple of 32).
        target = 224 * GAMMA**phi
        assert cfg.input_size % 32 == 0
        assert abs(cfg.input_size - target) <= 16


def test_b0_to_b4_are_the_compound_family() -> None:
    b = [scalenet.get_config(f"scalenet_b{phi}") for phi in range(5)]
    assert b[0] == BASE
    assert [(c.depths[0], c.width, c.input_size) for c in b] == [
        (2, 64, 224), (3, 72, 256), (3, 80, 288), (4, 88, 352), (5, 96, 384),
    ]  # fmt: skip
    for phi, cfg in enumerate(b):
        assert cfg == scalenet.compound_scale(BASE, phi)


def test_each_compound_step_multiplies_macs_by_about_alpha_beta2_gamma2() -> None:
    ideal = ALPHA * BETA**2 * GAMMA**2
    assert ideal == pytest.approx(1.92, abs=0.01)
    macs = [scalenet.profile(f"scalenet_b{phi}").macs for phi in range(5)]
    cfgs = [scalenet.get_config(f"scalenet_b{phi}") for phi in range(5)]
    for prev, cur, p_cfg, c_cfg in zip(macs, macs[1:], cfgs, cfgs[1:], strict=False):
        # The ratio the rounded multipliers predict (conv MACs ~ depth x width^2 x size^2).
        predicted = (
            (sum(c_cfg.depths) / sum(p_cfg.depths))
            * (c_cfg.width / p_cfg.width) ** 2
            * (c_cfg.input_size / p_cfg.input_size) ** 2
        )
        assert cur / prev == pytest.approx(predicted, rel=0.12)
    # Over four steps the rounding evens out: geometric mean within 10% of 1.92.
    assert (macs[4] / macs[0]) ** 0.25 == pytest.approx(ideal, rel=0.10)


def test_single_axis_scaling() -> None:
    deep = scalenet.scale(BASE, depth=2.0)
    assert (deep.depths, deep.width, deep.input_size) == ((4, 4, 4, 4), 64, 224)
    wide = scalenet.scale(BASE, width=1.5)
    assert (wide.depths, wide.width) == ((2, 2, 2, 2), 96)
    big = scalenet.scale(BASE, resolution=1.3)  # 291.2 -> 288
    assert big.input_size == 288
    assert scalenet.scale(BASE) == BASE
    cifar = scalenet.scale(scalenet.get_config("resnet20_cifar"), resolution=1.5)
    assert cifar.input_size == 48  # CIFAR stem: multiples of 4
    with pytest.raises(scalenet.ConfigError, match="depth"):
        scalenet.scale(BASE, depth=0)
    with pytest.raises(scalenet.ConfigError, match="ResNetConfig"):
        scalenet.scale(scalenet.get_config("simple_cnn_cifar"), width=2.0)  # type: ignore[arg-type]


def resnext_params(depths: tuple[int, ...], width: int, groups: int, d: int) -> int:
    """Parameters of an ImageNet-stem ResNeXt with projection shortcuts and 1000 classes, by
    hand: ``groups`` groups of ``d`` channels in layer1's 3x3 conv, doubling per stage."""
    total = 3 * 7 * 7 * width + 2 * width  # stem conv and BN
    cin = width
    for i, n in enumerate(depths):
        inner, out = (groups * d) << i, (4 * width) << i
        for j in range(n):
            total += cin * inner + inner * inner * 9 // groups + inner * out  # 1x1, 3x3/g, 1x1
            total += 2 * (inner + inner + out)  # three BNs
            if j == 0:
                total += cin * out + 2 * out  # projection shortcut and its BN
            cin = out
    return total + cin * 1000 + 1000


def test_compound_scaling_grows_a_resnext_on_every_axis_and_keeps_its_cardinality() -> None:
    base = scalenet.get_config("resnext50_32x4d")
    assert resnext_params(base.depths, 64, 32, 4) == 25_028_904  # torchvision's ResNeXt-50
    cfg = scalenet.compound_scale(base, 2)
    # depth: ceil((3, 4, 6, 3) x 1.44) = ceil(4.32, 5.76, 8.64, 4.32); width: 64 x 1.21 =
    # 77.44 -> 80, the nearest multiple of 16 (4 channels per group at width 64 become 5, a
    # whole number); resolution: 224 x 1.3225 = 296.24 -> 288, the nearest multiple of 32.
    assert (cfg.depths, cfg.width, cfg.input_size) == ((5, 6, 9, 5), 80, 288)
    assert (cfg.groups, cfg.base_width, cfg.block, cfg.stem) == (32, 4, "bottleneck", "imagenet")
    assert cfg.bottleneck_widths == (160, 320, 640, 1280)  # ResNeXt-50 32x5d
    assert resnext_params(cfg.depths, 80, 32, 5) == 58_871_960
    assert scalenet.profile(cfg).params == 58_871_960
    with torch.device("meta"):
        model = cfg.build()
    assert count_params(model) == 58_871_960
    grouped = [
        (name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.groups > 1
    ]
    assert len(grouped) == sum(cfg.depths)  # one per block: its conv2
    for name, conv in grouped:
        stage = int(name[len("layer")]) - 1
        assert name.endswith(".conv2")
        channels = 160 << stage
        assert (conv.groups, conv.in_channels, conv.out_channels) == (32, channels, channels)
        assert conv.in_channels % conv.groups == 0  # 5 << stage channels per group


@pytest.mark.parametrize("name", ["resnext50_32x4d", "resnext101_64x4d", "resnext101_32x8d",
                                  "wide_resnet50_2", "resnet50"])  # fmt: skip
def test_width_scaling_scales_every_conv_by_one_factor(name: str) -> None:
    base = scalenet.get_config(name)
    divisor = {"resnext50_32x4d": 16, "resnext101_64x4d": 16}.get(name, 8)  # 64 / gcd(d, 64)
    assert width_divisor(base) == divisor
    for multiplier in (0.1, 0.3, 0.8, 1.1, 1.125, 1.21, 1.5, 2.0, 3.7):
        cfg = scalenet.scale(base, width=multiplier)
        assert cfg.width % divisor == 0
        assert cfg.width >= 0.9 * 64 * multiplier
        assert (cfg.groups, cfg.base_width) == (base.groups, base.base_width)
        # The grouped conv grows by width / 64 exactly: no channel per group floored away.
        for inner, base_inner in zip(cfg.bottleneck_widths, base.bottleneck_widths, strict=True):
            assert inner * 64 == base_inner * cfg.width
            assert inner % cfg.groups == 0


def test_a_widened_grouped_bottleneck_counts_its_widen_factor() -> None:
    # widen_factor 2 x base_width 2: 4 channels per group at width 64, so width must be a
    # multiple of 16 (base_width alone would ask for 32).
    base = ResNetConfig(
        depths=(1, 1, 1), stem="cifar", block="bottleneck", width=16,
        groups=8, base_width=2, widen_factor=2, num_classes=10, input_size=32,
    )  # fmt: skip
    assert base.bottleneck_widths == (8, 16, 32)  # int(16 * 2 * 2 / 64) = 1 channel per group
    assert width_divisor(base) == 16
    # 16.8 -> 16; 19.2 -> 32 (16 is 17% below); 32 -> 32; 41.6 -> 48; 64 -> 64
    for multiplier, width in ((1.05, 16), (1.2, 32), (2.0, 32), (2.6, 48), (4.0, 64)):
        cfg = scalenet.scale(base, width=multiplier)
        assert cfg.width == width
        assert cfg.bottleneck_widths == (width // 2, width, width * 2)  # width / 16 per group


def test_a_resnext_at_phi_1_keeps_its_width() -> None:
    # 64 x 1.1 = 70.4: 64 is the nearest multiple of 16 (72 would floor layer1's 4.5 channels
    # per group to 4, leaving its grouped conv at 128 while the rest grew by 72 / 64).
    cfg = scalenet.compound_scale(scalenet.get_config("resnext50_32x4d"), 1)
    assert (cfg.depths, cfg.width, cfg.input_size) == ((4, 5, 8, 4), 64, 256)


def test_compound_scaling_of_a_resnet_d_keeps_its_deep_stem_as_timm_builds_it() -> None:
    cfg = scalenet.compound_scale(scalenet.get_config("resnet50d"), 1)
    # (3, 4, 6, 3) x 1.2 rounded up; 64 x 1.1 = 70.4 -> 72; 224 x 1.15 = 257.6 -> 256.
    assert (cfg.depths, cfg.width, cfg.input_size) == ((4, 5, 8, 4), 72, 256)
    assert (cfg.stem, cfg.downsample, cfg.stem_widths) == ("deep", "avgpool", (36, 36, 72))
    with torch.device("meta"):
        ours = cfg.build()
        ref = TimmResNet(TimmBottleneck, (4, 5, 8, 4), stem_type="deep", stem_width=36,
                         avg_down=True, channels=(72, 144, 288, 576))  # fmt: skip
    shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert shapes == {k: v.shape for k, v in ref.state_dict().items()}
    assert scalenet.profile(cfg).params == count_params(ref)


def test_a_scaled_resnet_d_computes_what_timm_computes() -> None:
    # Small enough to run: one block a stage, width 32 (stem 16, 16, 32); 224 x 0.5 = 112 is
    # halfway between the valid 96 and 128, and a tie goes up.
    base = scalenet.get_config("resnet50d").replace(depths=(1, 1, 1, 1), num_classes=10)
    cfg = scalenet.scale(base, width=0.5, resolution=0.5)
    assert (cfg.width, cfg.stem_widths, cfg.input_size) == (32, (16, 16, 32), 128)
    ours = cfg.build().eval()
    ref = timm.create_model(
        "resnet50d", layers=(1, 1, 1, 1), stem_width=16, channels=(32, 64, 128, 256),
        num_classes=10,
    ).eval()  # fmt: skip
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parametrize("budget", [1_000_000_000, 4_000_000_000, 10_000_000_000])
def test_fit_budget_is_the_largest_member_within_budget(budget: int) -> None:
    fitted = scalenet.fit_budget(BASE, macs=budget)
    fitted_macs = scalenet.profile(fitted).macs
    assert fitted_macs <= budget
    # Independently scan the family on a fine grid of phi: no member within the budget is
    # bigger than the fitted one.
    best = max(
        m
        for m in (
            scalenet.profile(scalenet.compound_scale(BASE, phi / 100)).macs
            for phi in range(-300, 500, 2)
        )
        if m <= budget
    )
    assert fitted_macs == best


def _scan(config: ResNetConfig, macs: int) -> tuple[int, int]:
    """The largest member's MACs within ``macs`` and the smallest one's over it, on a fine grid
    of phi (independent of the bisection)."""
    costs = [
        scalenet.profile(scalenet.compound_scale(config, phi / 200)).macs
        for phi in range(-400, 800)
    ]
    return max(m for m in costs if m <= macs), min(m for m in costs if m > macs)


def test_a_budget_the_next_step_overshoots_returns_the_config_and_says_why() -> None:
    # width 80, 11 classes at 4 GMACs: any phi > 0 adds a block per stage (2 x 1.2^phi rounds
    # up to 3), 4.24 G; so the config itself, 2.80 G, is the fit.
    base = ResNetConfig(width=80, num_classes=11)
    under, over = _scan(base, 4_000_000_000)
    bracket = scalenet.spec.scaling.bracket_budget(base, 4e9)
    assert (bracket.under, bracket.under_macs) == (base, scalenet.profile(base).macs)
    assert bracket.under_macs == under
    assert bracket.over is not None
    assert bracket.over_macs == over == scalenet.profile(bracket.over).macs
    assert bracket.over == base.replace(depths=(3, 3, 3, 3))
    assert bracket.unchanged
    with pytest.warns(UserWarning, match="returned unchanged") as caught:
        fitted = scalenet.fit_budget(base, 4e9)
    assert fitted == base
    (warning,) = caught
    message = str(warning.message)
    assert message == f"fit_budget: {bracket.note}"
    assert f"the config itself ({under:,} MACs)" in message
    assert f"needs {over:,} MACs" in message
    assert "depths (2, 2, 2, 2) -> (3, 3, 3, 3)" in message


@pytest.mark.parametrize("budget", [1_000_000_000, 4_000_000_000, 10_000_000_000])
def test_bracket_budget_is_the_closest_members_on_both_sides(budget: int) -> None:
    bracket = scalenet.spec.scaling.bracket_budget(BASE, budget)
    assert (bracket.under_macs, bracket.over_macs) == _scan(BASE, budget)
    assert bracket.under == scalenet.fit_budget(BASE, budget)
    assert not bracket.unchanged
    assert bracket.note == ""
    assert bracket.under == scalenet.compound_scale(BASE, bracket.under_phi)
    assert bracket.over == scalenet.compound_scale(BASE, bracket.over_phi)


def test_fit_budget_takes_an_integral_float() -> None:
    assert scalenet.fit_budget(BASE, 4e9) == scalenet.fit_budget(BASE, 4_000_000_000)
    assert scalenet.fit_budget(BASE, np.int64(4_000_000_000)) == scalenet.fit_budget(BASE, 4e9)


@pytest.mark.parametrize("budget", [4.5e9 + 0.5, 4.5, math.nan, math.inf, True, "4e9", 0, -4e9])
def test_fit_budget_refuses_what_is_not_a_positive_whole_number(budget: object) -> None:
    with pytest.raises(scalenet.ConfigError) as caught:
        scalenet.fit_budget(BASE, budget)  # type: ignore[arg-type]
    assert caught.value.field == "macs"
    assert str(caught.value) == (
        f"macs={budget!r} is not allowed: a positive whole number of MACs: an int, or an "
        "integral float such as 4e9"
    )


def test_fit_budget_errors() -> None:
    with pytest.raises(scalenet.ConfigError, match="macs"):
        scalenet.fit_budget(BASE, macs=10)
    with pytest.raises(scalenet.ConfigError, match="macs"):
        scalenet.fit_budget(BASE, macs=-1)

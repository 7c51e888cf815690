"""Depth/width/resolution scaling, the compound rule and budget fitting."""

from __future__ import annotations

import math

import pytest

import scalenet
from scalenet import ResNetConfig
from scalenet.scaling import ALPHA, BETA, GAMMA, round_width

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


def test_fit_budget_errors() -> None:
    with pytest.raises(scalenet.ConfigError, match="macs"):
        scalenet.fit_budget(BASE, macs=10)
    with pytest.raises(scalenet.ConfigError, match="macs"):
        scalenet.fit_budget(BASE, macs=-1)

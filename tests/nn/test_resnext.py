"""Grouped and wide bottlenecks (ResNeXt, wide ResNet) against torchvision and timm.

The truth: torchvision's ``resnext50_32x4d``, ``resnext101_32x8d``, ``resnext101_64x4d``,
``wide_resnet50_2`` and ``wide_resnet101_2`` (keys, shapes, parameter counts, logits with the
same weights, the MACs of their weight metadata), timm's ``resnext50_32x4d``, torchvision's
own ``BasicBlock`` (which refuses grouping), fvcore's conv counts and a hand-derived count.
The 101-layer models are compared on the meta device; logits at 64 px.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from fvcore.nn import FlopCountAnalysis
from torch import nn
from torchvision.models import resnet as tv_resnet

import scalenet
from helpers import count_params, randomise
from scalenet import ConfigError, ResNetConfig

GROUPED = {
    # zoo name: (torchvision builder, its weights enum, groups, base_width)
    "resnext50_32x4d": (tv_resnet.resnext50_32x4d, tv_resnet.ResNeXt50_32X4D_Weights, 32, 4),
    "resnext101_32x8d": (tv_resnet.resnext101_32x8d, tv_resnet.ResNeXt101_32X8D_Weights, 32, 8),
    "resnext101_64x4d": (tv_resnet.resnext101_64x4d, tv_resnet.ResNeXt101_64X4D_Weights, 64, 4),
    "wide_resnet50_2": (tv_resnet.wide_resnet50_2, tv_resnet.Wide_ResNet50_2_Weights, 1, 128),
    "wide_resnet101_2": (tv_resnet.wide_resnet101_2, tv_resnet.Wide_ResNet101_2_Weights, 1, 128),
}
SMALL = ("resnext50_32x4d", "wide_resnet50_2")  # logits compared at 64 px


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", list(GROUPED))
def test_keys_shapes_and_params_are_torchvisions(name: str) -> None:
    builder, _, groups, base_width = GROUPED[name]
    with torch.device("meta"):
        ours = scalenet.create(name)
        reference = builder()
    assert shapes(ours) == shapes(reference)
    assert count_params(ours) == count_params(reference) == scalenet.profile(name).params
    convs = {n: m.groups for n, m in ours.named_modules() if isinstance(m, nn.Conv2d)}
    assert convs == {n: m.groups for n, m in reference.named_modules() if isinstance(m, nn.Conv2d)}
    assert {convs[f"layer{i}.0.conv2"] for i in range(1, 5)} == {groups}
    assert (ours.config.groups, ours.config.base_width) == (groups, base_width)


@pytest.mark.parametrize("name", list(GROUPED))
def test_params_and_macs_are_torchvisions_published_figures(name: str) -> None:
    """torchvision's weight metadata: ``num_params`` and ``_ops`` (GMACs at 224 px, 3 places)."""
    meta = GROUPED[name][1].IMAGENET1K_V1.meta
    p = scalenet.profile(name)
    assert p.params == meta["num_params"]
    assert round(p.macs / 1e9, 3) == pytest.approx(meta["_ops"], abs=1e-9)


@pytest.mark.parametrize("name", SMALL)
def test_logits_are_torchvisions_bit_for_bit(name: str) -> None:
    reference = randomise(GROUPED[name][0](), seed=0)
    ours = scalenet.create(name, input_size=64).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x)
        got = ours(x)
    assert torch.equal(got, expected)
    assert expected.std() > 0  # a non-trivial output, not two zero tensors


def test_logits_are_timms_resnext50_32x4d_bit_for_bit() -> None:
    reference = randomise(timm.create_model("resnext50_32x4d"), seed=2)
    ours = scalenet.create("resnext50_32x4d", input_size=64).eval()
    assert shapes(ours) == shapes(reference)
    assert count_params(ours) == count_params(reference)
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))


def test_builder_gives_the_zoo_configs() -> None:
    with torch.device("meta"):
        for name, (_, _, groups, base_width) in GROUPED.items():
            depth = 50 if "50" in name else 101
            built = scalenet.resnet(depth=depth, groups=groups, base_width=base_width)
            assert built.config == scalenet.get_config(name), name


def test_a_grouped_convs_macs_hand_derived_and_fvcores() -> None:
    """layer1.0.conv2 of ResNeXt-50 32x4d at 224 px: 56x56 outputs, 128 channels, each seeing
    128 / 32 = 4 inputs through a 3x3 window: 56 * 56 * 128 * 4 * 9 MACs, 128 * 4 * 9 weights."""
    cfg = scalenet.get_config("resnext50_32x4d")
    spec = next(s for s in scalenet.plan(cfg) if s.name == "layer1.0.conv2")
    assert (spec.groups, spec.in_channels, spec.out_channels) == (32, 128, 128)
    assert spec.macs == 56 * 56 * 128 * 4 * 9 == 14_450_688
    assert spec.params == 128 * 4 * 9
    # The whole net at a small size, against fvcore run on the built module.
    small = cfg.replace(depths=(1, 1, 1, 1), input_size=64)
    model = small.build().eval()
    analysis = FlopCountAnalysis(model, torch.randn(1, 3, 64, 64))
    analysis.unsupported_ops_warnings(False)
    ops = analysis.by_operator()
    assert scalenet.profile(small).macs == ops["conv"] + ops["linear"]
    assert scalenet.profile(small).params == count_params(model)


@pytest.mark.parametrize(("groups", "base_width"), [(2, 64), (1, 32)])
def test_basic_blocks_refuse_grouping_as_torchvision_does(groups: int, base_width: int) -> None:
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        tv_resnet.ResNet(
            tv_resnet.BasicBlock, [1, 1, 1, 1], groups=groups, width_per_group=base_width
        )
    field = "groups" if groups != 1 else "base_width"
    with pytest.raises(ConfigError, match="with block='basic'") as info:
        scalenet.resnet(depth=18, groups=groups, base_width=base_width)
    assert info.value.field == field


def test_a_base_width_that_leaves_no_channels_is_refused() -> None:
    # int(8 * 4 / 64) = 0 channels per group in the first stage.
    with pytest.raises(ConfigError, match=r"base_width=4.*at least 8 with 8 channels in the first"):
        ResNetConfig(depths=(1, 1), width=8, block="bottleneck", groups=2, base_width=4,
                     input_size=32)  # fmt: skip


def test_configs_without_the_new_fields_load_as_before(tmp_path: Path) -> None:
    """A plain ResNet's dict has no ``groups``/``base_width`` (so configs saved before them
    are byte-identical and older releases read new saves), and one without them loads as the
    plain ResNet; a grouped config writes both and reads them back, through config.json."""
    for name in ("resnet50", "resnet20_cifar", "scalenet_w80"):
        data = scalenet.get_config(name).to_dict()
        assert not {"groups", "base_width"} & set(data), name
        back = scalenet.config_from_dict(data)
        assert isinstance(back, ResNetConfig)
        assert (back.groups, back.base_width) == (1, 64)
    grouped = scalenet.get_config("resnext50_32x4d").replace(input_size=64)
    assert grouped.to_dict()["groups"] == 32
    torch.manual_seed(0)
    model = grouped.build().eval()
    scalenet.save_pretrained(model, tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert (saved["model_args"]["groups"], saved["model_args"]["base_width"]) == (32, 4)
    loaded = scalenet.from_pretrained(tmp_path / "saved").eval()
    assert loaded.config == grouped
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_timm_registers_them_without_shadowing_timms_own() -> None:
    for name in GROUPED:
        entry = scalenet.get_entry(name)
        assert entry.timm_name == f"scalenet_{name}"
        with torch.device("meta"):
            ours = timm.create_model(entry.timm_name)
            theirs = timm.create_model(name)
        assert isinstance(ours, scalenet.ResNet)
        assert type(theirs).__module__.startswith("timm.")
        assert shapes(ours) == shapes(theirs)
    assert torchvision.models.get_model_builder("resnext50_32x4d") is tv_resnet.resnext50_32x4d

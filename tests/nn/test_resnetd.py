"""ResNet-C/D (the deep stem and average-pool shortcuts of He et al. 2019) against timm.

The truth is timm's ``resnet50d``/``resnet18d``... built side by side: state dict keys and
shapes, parameter counts, logits with the same weights loaded ``strict=True``, feature-map sizes
at sizes near the size rule's limits, and timm's ``resnet50c`` for the deep stem alone.
"""

from __future__ import annotations

import json

import pytest
import timm
import torch
from torch import nn

import scalenet
from helpers import count_params
from scalenet import ConfigError, ResNetConfig, ShapeError

D_NETS = ("resnet18d", "resnet26d", "resnet34d", "resnet50d", "resnet101d", "resnet152d")
BIG_D_NETS = ("resnet101d", "resnet152d", "resnet200d")


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def randomise_bn(model: nn.Module, seed: int) -> None:
    """Non-trivial BN statistics and affine weights: a mislaid BN would show in the logits."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(n, generator=gen) * 0.2 - 0.1)


@pytest.mark.parametrize("name", ["resnet18d", "resnet50d"])
def test_timm_weights_load_strict_and_give_identical_logits(name: str) -> None:
    torch.manual_seed(0)
    ref = timm.create_model(name)
    randomise_bn(ref, seed=1)
    ours = scalenet.create(name)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert shapes(ours) == shapes(ref)
    assert count_params(ours) == count_params(ref) == scalenet.profile(name).params
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(ours.eval()(x), ref.eval()(x))
        # 65 px: the average-pool shortcuts' ceil mode rounds up, as the strided convs do.
        odd = torch.randn(1, 3, 65, 65, generator=torch.Generator().manual_seed(3))
        assert torch.equal(ours(odd), ref(odd))


@pytest.mark.parametrize("name", BIG_D_NETS)
def test_big_d_nets_keys_shapes_and_params_equal_timms(name: str) -> None:
    with torch.device("meta"):
        ours = scalenet.create(name)
        ref = timm.create_model(name)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert shapes(ours) == shapes(ref)
    assert count_params(ours) == count_params(ref) == scalenet.profile(name).params


@pytest.mark.parametrize("name", D_NETS[:-1])
def test_every_d_net_is_resnet_depth_variant_d_and_timms_layout(name: str) -> None:
    depth = int(name[6:-1])
    with torch.device("meta"):
        built = scalenet.resnet(depth=depth, variant="d")
        ref = timm.create_model(name)
    zoo = scalenet.get_config(name)  # the deep ones at timm's default size, 256
    assert built.config == zoo.replace(input_size=built.config.input_size)
    assert zoo.input_size == ref.pretrained_cfg["input_size"][-1]
    assert shapes(built) == shapes(ref)


def test_variant_c_is_the_deep_stem_alone_timms_resnet50c() -> None:
    with torch.device("meta"):
        c = scalenet.resnet(depth=50, variant="c")
        ref = timm.create_model("resnet50c")
        stem_only = scalenet.resnet(depth=50, stem="deep")
    assert (c.config.stem, c.config.downsample) == ("deep", "projection")
    assert c.config == stem_only.config
    assert shapes(c) == shapes(ref)
    assert scalenet.resnet(depth=50, variant="b").config == scalenet.get_config("resnet50")


def test_deep_stem_modules_are_timms() -> None:
    model = scalenet.create("resnet50d")
    ref = timm.create_model("resnet50d")
    assert str(model.conv1) == str(ref.conv1)
    assert str(model.layer2[0].downsample) == str(ref.layer2[0].downsample)
    assert str(model.layer1[0].downsample) == str(ref.layer1[0].downsample)  # Identity first
    assert isinstance(model.layer1[0].downsample[0], nn.Identity)
    assert model.pretrained_cfg["first_conv"] == "conv1.0"
    assert timm.get_pretrained_cfg("resnet50d").first_conv == "conv1.0"


def test_config_fields_validate_and_round_trip() -> None:
    cfg = scalenet.get_config("resnet50d")
    assert (cfg.stem, cfg.downsample, cfg.stem_widths) == ("deep", "avgpool", (32, 32, 64))
    assert ResNetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    # Existing configs are unchanged: the plain ResNet-50 still has the 7x7 stem.
    assert scalenet.get_config("resnet50").to_dict()["stem"] == "imagenet"
    with pytest.raises(ConfigError, match=r"stem='stacked'.*'imagenet', 'cifar', 'deep'"):
        ResNetConfig(stem="stacked")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"downsample='avg'.*'projection', 'pad', 'avgpool'"):
        ResNetConfig(downsample="avg")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"width=1 .*at least 2 with stem='deep'"):
        ResNetConfig(stem="deep", width=1)
    assert (
        scalenet.resnet(stem="deep", width=2, depths=(1,), input_size=8).conv1[0].out_channels == 1
    )


def test_variant_errors_name_the_conflict() -> None:
    with pytest.raises(ConfigError, match=r"variant='e'.*'b', 'c', 'd'"):
        scalenet.resnet(depth=50, variant="e")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"downsample='pad'.*'avgpool' \(or unset\)"):
        scalenet.resnet(depth=50, variant="d", downsample="pad")
    with pytest.raises(ConfigError, match=r"stem='cifar'.*'deep' \(or unset\)"):
        scalenet.resnet(depth=50, variant="c", stem="cifar")


def _timm_feature_sizes(model: nn.Module, size: int) -> dict[str, int]:
    """The real spatial size after timm's stem and each stage, and whether every strided
    module (conv or pool, main path or shortcut) halved its input exactly."""
    seen: dict[str, int] = {}
    exact = True

    def strided(m: nn.Module, inp: tuple[torch.Tensor], out: torch.Tensor) -> None:
        nonlocal exact
        s = m.stride if isinstance(m.stride, int) else m.stride[0]  # type: ignore[union-attr]
        exact &= inp[0].shape[-1] == out.shape[-1] * s

    for name in ("maxpool", "layer1", "layer2", "layer3", "layer4"):
        model.get_submodule(name).register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, out.shape[-1])
        )
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            if s > 1:
                m.register_forward_hook(strided)
    model(torch.empty(1, 3, size, size, device="meta"))
    return seen | {"exact": int(exact)}


@pytest.mark.parametrize("size", [1, 16, 31, 32, 33, 63, 64, 65, 95, 96, 97, 224, 225, 250])
def test_size_rule_against_timms_model(size: int) -> None:
    """The rule accepts a size iff timm's resnet50d halves the map exactly at every stride;
    the plan's sizes are timm's real ones at every size, accepted or not."""
    with torch.device("meta"):
        ref = timm.create_model("resnet50d").eval()
    real = _timm_feature_sizes(ref, size)
    cfg = scalenet.get_config("resnet50d")
    planned = {s.name: s.out_size[0] for s in scalenet.plan(cfg, size)}
    for name in ("maxpool", "layer1", "layer2", "layer3", "layer4"):
        last = max(k for k in planned if k == name or k.startswith(name + "."))
        block_out = planned[name] if name == "maxpool" else planned[last]
        assert block_out == real[name], (size, name)
    accepted = size in scalenet.valid_input_sizes(cfg, 1, 300)
    assert accepted == bool(real["exact"]) == (size % 32 == 0)
    if accepted:
        scalenet.check_input_size(cfg, size)
        return
    with pytest.raises(ShapeError) as err:
        cfg.replace(input_size=size)
    below, above = scalenet.nearest_valid_sizes(cfg, size)
    assert (below, above) == ((size // 32 * 32) or None, -(-size // 32) * 32)
    assert f"the nearest valid sizes are {below or above}" in str(err.value)


def test_plan_counts_equal_the_module_and_timm_at_odd_sizes() -> None:
    """MACs at a size the rule refuses (the ceil-mode pools then matter): the plan's equal
    fvcore's count on timm's own model."""
    from helpers import fvcore_conv_linear

    cfg = scalenet.get_config("resnet18d")
    ref = timm.create_model("resnet18d")
    assert scalenet.profile(cfg, input_size=64).macs == fvcore_conv_linear(ref, 64)
    for size in (64, 81, 99):
        assert sum(s.macs for s in scalenet.plan(cfg, size)) == fvcore_conv_linear(ref, size)

"""ResNet-N by its name: ``scalenet.resnet(depth=N)``, its rules, errors and stem defaults.

The truth: torchvision's ``ResNet(block, layers)`` and timm's ``resnet26``/``resnet200`` for
the ImageNet depths, the published CIFAR counts (ResNet-56: 853,018 parameters with option-A
shortcuts), a count of the built model's weighted layers, and brute-force enumeration of the
6n+2 / 9n+2 rules.
"""

from __future__ import annotations

import pydoc
import re

import pytest
import timm
import torch
import torchvision
from hypothesis import given
from hypothesis import strategies as st
from torchvision.models.resnet import BasicBlock, Bottleneck

import scalenet
from scalenet.config import MAX_BLOCKS
from scalenet.config.depth import nearest_depths


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def weighted_layers(model: torch.nn.Module) -> int:
    """Convs on the main path plus the classifier: how the papers count a ResNet's depth."""
    return sum(
        isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and "downsample" not in name
        for name, m in model.named_modules()
    )


# torchvision's ResNet class builds any (block, layers); timm names the plain-stem 26 and 200.
IMAGENET = {
    10: (BasicBlock, [1, 1, 1, 1]),
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    14: (Bottleneck, [1, 1, 1, 1]),
    26: (Bottleneck, [2, 2, 2, 2]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
    200: (Bottleneck, [3, 24, 36, 3]),
}


@pytest.mark.parametrize("depth", sorted(IMAGENET))
def test_imagenet_depths_are_torchvisions_resnets(depth: int) -> None:
    block, layers = IMAGENET[depth]
    with torch.device("meta"):
        ours = scalenet.resnet(depth=depth)
        reference = torchvision.models.resnet.ResNet(block, layers)
    assert ours.config.depths == tuple(layers)
    assert ours.config.block == ("basic" if block is BasicBlock else "bottleneck")
    assert ours.config.depth == depth == weighted_layers(reference)
    assert weighted_layers(ours) == depth
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()
    }


def test_resnet50_is_torchvisions_by_count() -> None:
    with torch.device("meta"):
        assert count(scalenet.resnet(depth=50)) == count(torchvision.models.resnet50())


@pytest.mark.parametrize("name", ["resnet26", "resnet200"])
def test_timms_plain_stem_depths(name: str) -> None:
    with torch.device("meta"):
        assert count(scalenet.resnet(depth=int(name[6:]))) == count(timm.create_model(name))


def test_resnet56_cifar_is_the_zoos_and_the_papers() -> None:
    model = scalenet.resnet(depth=56, stem="cifar")
    assert model.config == scalenet.create("resnet56_cifar").config
    assert count(model) == 853_018  # He et al. 2015, option A: 0.85 M
    assert weighted_layers(model) == 56


CIFAR_RESNETS = [n for n in scalenet.list_models() if re.fullmatch(r"(resnet|plain)\d+_cifar", n)]


@pytest.mark.parametrize("name", CIFAR_RESNETS)
def test_every_cifar_zoo_resnet_is_resnet_by_depth(name: str) -> None:
    assert len(CIFAR_RESNETS) == 11  # resnet20..1202 and plain20..110
    depth = int(re.sub(r"\D", "", name))
    config = scalenet.get_config(name)
    built = scalenet.resnet_layout(depth, "cifar")
    assert (config.depths, config.block) == built
    assert config.depth == depth
    with torch.device("meta"):
        model = scalenet.resnet(
            depth=depth,
            stem="cifar",
            shortcut=name.startswith("resnet"),
            zero_init_residual=config.zero_init_residual,
        )
    assert model.config == config


def test_bottleneck_cifar_depths_are_9n_plus_2() -> None:
    with torch.device("meta"):
        model = scalenet.resnet(depth=164, stem="cifar", block="bottleneck")
    assert model.config.depths == (18, 18, 18)
    assert weighted_layers(model) == 164


def test_cifar_bottleneck_50_is_rejected_with_the_rule() -> None:
    with pytest.raises(scalenet.ConfigError, match=r"9n\+2") as err:
        scalenet.resnet(depth=50, stem="cifar", block="bottleneck")
    assert err.value.field == "depth"
    assert "nearest valid depths: 47 or 56" in str(err.value)
    assert "bottleneck" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "nearest"),
    [
        ({"depth": 21, "stem": "cifar"}, "20 or 26"),
        ({"depth": 5, "stem": "cifar"}, "8"),
        ({"depth": 0, "stem": "cifar"}, "8"),
        ({"depth": 20}, "18 or 26"),
        ({"depth": 250}, "200"),
        ({"depth": 18, "block": "bottleneck"}, "14 or 26"),
        ({"depth": 50, "block": "basic"}, "34"),
        ({"depth": 6 * MAX_BLOCKS + 8, "stem": "cifar"}, str(6 * MAX_BLOCKS + 2)),
    ],
)
def test_depth_errors_name_the_nearest_valid_depths(kwargs: dict, nearest: str) -> None:
    with pytest.raises(scalenet.ConfigError) as err:
        scalenet.resnet(**kwargs)
    assert err.value.field == "depth"
    assert f"nearest valid depths: {nearest}" in str(err.value)


def valid_cifar_depths(block: str, limit: int) -> list[int]:
    """Brute force: the depths d whose (d - 2) splits into 3 stages of n >= 1 blocks."""
    convs = 2 if block == "basic" else 3
    return [d for d in range(limit) if any(3 * convs * n + 2 == d for n in range(1, d))]


@given(depth=st.integers(-10, 400), block=st.sampled_from(["basic", "bottleneck"]))
def test_cifar_rule_and_nearest_match_enumeration(depth: int, block: str) -> None:
    valid = valid_cifar_depths(block, 500)
    if depth in valid:
        depths, kind = scalenet.resnet_layout(depth, "cifar", block)  # type: ignore[arg-type]
        assert kind == block
        assert len(set(depths)) == 1
        return
    below = [d for d in valid if d < depth][-1:]
    above = [d for d in valid if d > depth][:1]
    assert nearest_depths(depth, "cifar", block) == tuple(below + above)  # type: ignore[arg-type]
    with pytest.raises(scalenet.ConfigError, match=rf"{6 if block == 'basic' else 9}n\+2"):
        scalenet.resnet_layout(depth, "cifar", block)  # type: ignore[arg-type]


def test_depth_and_depths_together_is_an_error() -> None:
    with pytest.raises(scalenet.ConfigError, match="either depth or depths") as err:
        scalenet.resnet(depths=(3, 3, 3), depth=20, stem="cifar")
    assert err.value.field == "depth"


@pytest.mark.parametrize("bad", [20.0, "20", True])
def test_depth_must_be_an_integer(bad: object) -> None:
    with pytest.raises(scalenet.ConfigError, match="depth="):
        scalenet.resnet(depth=bad)  # type: ignore[arg-type]


def test_depth_none_means_not_given() -> None:
    assert scalenet.resnet(depth=None).config == scalenet.resnet().config


def test_an_int_for_depths_points_at_depth() -> None:
    with pytest.raises(scalenet.ConfigError, match="use depth=") as err:
        scalenet.resnet(56, stem="cifar")  # type: ignore[arg-type]
    assert err.value.field == "depths"


def test_cifar_stem_defaults_are_the_papers_resnet20() -> None:
    model = scalenet.resnet(stem="cifar")
    assert model.config == scalenet.get_config("resnet20_cifar")
    assert count(model) == 269_722  # He et al. 2015: 0.27 M
    layout = scalenet.resnet(depths=(3, 3, 3), stem="cifar").config
    assert (layout.width, layout.downsample) == (16, "pad")


def test_imagenet_stem_keeps_torchvisions_defaults() -> None:
    config = scalenet.resnet().config
    assert (config.depths, config.width, config.downsample) == ((2, 2, 2, 2), 64, "projection")
    assert (config.num_classes, config.input_size) == (1000, 224)


def test_explicit_values_win_over_the_stem_defaults() -> None:
    config = scalenet.resnet(
        depth=20, stem="cifar", width=32, downsample="projection", num_classes=100, input_size=64
    ).config
    assert (config.width, config.downsample) == (32, "projection")
    assert (config.num_classes, config.input_size) == (100, 64)
    assert scalenet.resnet(depth=18, width=32, downsample="pad").config.width == 32


def test_help_shows_the_literal_values_and_the_defaults() -> None:
    text = pydoc.render_doc(scalenet.resnet, renderer=pydoc.plaintext)
    assert "stem: Literal['imagenet', 'cifar', 'deep'] = 'imagenet'" in text
    assert "Literal['basic', 'bottleneck']" in text
    assert "Literal['projection', 'pad', 'avgpool']" in text
    assert "variant: Optional[Literal['b', 'c', 'd']] = None" in text
    assert re.search(r"`width`\s*\|\s*64\s*\|\s*16", text)
    assert re.search(r"`downsample`\s*\|\s*`\"projection\"`.*\|\s*`\"pad\"`", text)
    assert "6n + 2" in text
    assert "9n + 2" in text


@pytest.mark.parametrize(
    ("name", "depth"),
    [("resnet26_cifar", 26), ("plain74_cifar", 74), ("resnet200", 200), ("resnet164_cifar", 164)],
)
def test_unknown_depth_names_point_at_a_call_that_works(name: str, depth: int) -> None:
    with pytest.raises(scalenet.ConfigError) as err:
        scalenet.create(name)
    call = re.search(r"scalenet\.resnet\([^)]*\)", str(err.value))
    assert call is not None, str(err.value)
    with torch.device("meta"):
        model = eval(call.group(0), {"scalenet": scalenet})  # the call the message suggests
    assert model.config.depth == depth
    assert model.config.shortcut == name.startswith("resnet")
    assert model.config.stem == ("cifar" if name.endswith("_cifar") else "imagenet")


def test_an_impossible_depth_name_states_the_rule_and_the_nearest() -> None:
    with pytest.raises(scalenet.ConfigError) as err:
        scalenet.create("resnet21_cifar")
    message = str(err.value)
    assert "6n+2" in message
    assert 'scalenet.resnet(depth=20, stem="cifar")' in message
    assert 'scalenet.resnet(depth=26, stem="cifar")' in message


def test_a_cifar_name_without_its_suffix_is_suggested() -> None:
    with pytest.raises(scalenet.ConfigError, match="did you mean 'resnet56_cifar'"):
        scalenet.create("resnet56")


def test_zoo_descriptions_call_a_model_resnet_n_only_when_resnet_depth_n_builds_it() -> None:
    """One name, one meaning: a zoo description's "ResNet-N" (or "Plain-N", "ResNeXt-N") is
    the layout ``scalenet.resnet(depth=N)`` builds with the entry's stem, a written-out layout
    such as "basic (3, 3, 3, 3)" is the entry's, and an entry with grouped or wide bottlenecks
    (ResNeXt-50 32x4d is ``resnet(depth=50, groups=32, base_width=4)``, not ``resnet(depth=50)``)
    writes its "groups G, base_width B" out; "WRN-d-k" is ``scalenet.wrn(d, k)``, and the
    pre-activation nets say so."""
    named = 0
    for entry in scalenet.zoo.ZOO.values():
        c = entry.config
        text = entry.description
        if not isinstance(c, scalenet.ResNetConfig):
            assert not re.search(r"ResNet-\d", text), entry.name
            continue
        for depth in {int(n) for n in re.findall(r"(?:ResNet|ResNeXt|Plain)-(\d+)", text)}:
            with torch.device("meta"):  # the builder, with no memory for the weights
                built = scalenet.resnet(depth=depth, stem=c.stem).config
            assert (built.depths, built.block) == (c.depths, c.block), (entry.name, depth)
            named += 1
        for block, depths in re.findall(r"(basic|bottleneck) \(([\d, ]+)\)", text):
            assert (block, tuple(int(d) for d in depths.split(", "))) == (c.block, c.depths)
            named += 1
        grouping = re.findall(r"groups (\d+), base_width (\d+)", text)
        if (c.groups, c.base_width) != (1, 64):
            assert grouping == [(str(c.groups), str(c.base_width))], entry.name
        for groups, base_width in grouping:
            assert (int(groups), int(base_width)) == (c.groups, c.base_width), entry.name
        # "WRN-d-k" is scalenet.wrn(d, k), the paper's count; "Pre-activation" says preact.
        for depth, k in re.findall(r"WRN-(\d+)-(\d+)", text):
            with torch.device("meta"):
                built = scalenet.wrn(int(depth), int(k)).config
            assert built == c, entry.name
            named += 1
        assert ("Pre-activation" in text or "WRN-" in text) == c.preact, entry.name
    assert named >= 20
    # timm's ResNet-26 is a bottleneck (2, 2, 2, 2); the zoo's (3, 3, 3, 3) basic net is not it.
    assert scalenet.resnet_layout(26) == ((2, 2, 2, 2), "bottleneck")
    assert "ResNet-26" not in scalenet.get_entry("scalenet_d3333").description

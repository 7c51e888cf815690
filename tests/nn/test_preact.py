"""Pre-activation ResNets, wide ResNets (WRN) and CIFAR ResNeXts against pytorchcv and timm.

The truth: pytorchcv's ``CIFARPreResNet``, ``CIFARWRN`` and ``CIFARResNeXt`` run side by side
(keys after the converter, shapes, parameter counts, logits with the same weights), the
parameter counts pytorchcv publishes for its trained weights (``model_metainfos.csv``), timm's
``resnetv2_*`` (the ImageNet pre-activation nets, plain and with the deep stem and average-pool
shortcut), and fvcore's conv and linear counts of the built modules.
"""

from __future__ import annotations

import csv
import importlib.resources
from collections.abc import Callable
from typing import Any

import pytest
import timm
import torch
from fvcore.nn import FlopCountAnalysis
from pytorchcv.models.preresnet_cifar import get_preresnet_cifar
from pytorchcv.models.resnext_cifar import get_resnext_cifar
from pytorchcv.models.wrn_cifar import get_wrn_cifar
from torch import nn

import scalenet
from helpers import count_params, randomise
from scalenet import ConfigError, ResNetConfig
from scalenet.weights.layouts import from_pytorchcv


def assert_same_logits(ours: nn.Module, ref: nn.Module, size: int = 32) -> None:
    x = torch.randn(3, 3, size, size)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    # pytorchcv pools with AvgPool2d(8), scalenet with AdaptiveAvgPool2d(1): float rounding.
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item())


# -- pytorchcv, two depths of each variant, logits with the same weights -----------------------

#: (pytorchcv builder, scalenet builder): small widths where the variant allows, for speed.
PYTORCHCV: dict[str, tuple[Callable[[], nn.Module], Callable[[], nn.Module]]] = {
    "preresnet20": (
        lambda: get_preresnet_cifar(10, 20, bottleneck=False),
        lambda: scalenet.resnet(depth=20, stem="cifar", preact=True, downsample="projection"),
    ),
    "preresnet56": (
        lambda: get_preresnet_cifar(100, 56, bottleneck=False),
        lambda: scalenet.resnet(
            depth=56, stem="cifar", preact=True, downsample="projection", num_classes=100
        ),
    ),
    "preresnet11bn": (
        lambda: get_preresnet_cifar(10, 11, bottleneck=True),
        lambda: scalenet.resnet(
            depth=11, stem="cifar", preact=True, downsample="projection", block="bottleneck"
        ),
    ),
    "preresnet164bn": (
        lambda: get_preresnet_cifar(10, 164, bottleneck=True),
        lambda: scalenet.resnet(depth=164, stem="cifar", preact=True, downsample="projection"),
    ),
    "wrn16_2": (lambda: get_wrn_cifar(10, 16, 2), lambda: scalenet.wrn(16, 2)),
    "wrn28_2": (lambda: get_wrn_cifar(10, 28, 2), lambda: scalenet.wrn(28, 2)),
    "resnext11_4x8d": (
        lambda: get_resnext_cifar(10, 11, 4, 8),
        lambda: scalenet.resnet(
            depth=11,
            stem="cifar",
            block="bottleneck",
            width=64,
            groups=4,
            base_width=8,
            downsample="projection",
        ),
    ),
    "resnext29_32x4d": (
        lambda: get_resnext_cifar(10, 29, 32, 4),
        lambda: scalenet.create("resnext29_32x4d_cifar"),
    ),
}


@pytest.mark.parametrize("name", list(PYTORCHCV))
def test_same_weights_give_pytorchcvs_logits(name: str) -> None:
    make_ref, make_ours = PYTORCHCV[name]
    ref, ours = randomise(make_ref()), make_ours().eval()
    state = from_pytorchcv(ref.state_dict())
    assert {k: v.shape for k, v in state.items()} == {
        k: v.shape for k, v in ours.state_dict().items()
    }
    ours.load_state_dict(state, strict=True)
    assert count_params(ours) == count_params(ref) == scalenet.profile(ours.config).params
    assert_same_logits(ours, ref)


def _pytorchcv_params() -> dict[str, int]:
    text = importlib.resources.files("pytorchcv.models.common").joinpath("model_metainfos.csv")
    rows = list(csv.reader(text.read_text(encoding="utf-8").splitlines()))
    return {row[0]: int(row[1]) for row in rows[1:] if row[1].isdigit()}


#: scalenet's zoo name -> pytorchcv's model name (its CIFAR-10 row).
ZOO_TO_PYTORCHCV = {
    "preresnet20_cifar": "preresnet20",
    "preresnet56_cifar": "preresnet56",
    "preresnet110_cifar": "preresnet110",
    "preresnet164_cifar": "preresnet164bn",
    "preresnet272_cifar": "preresnet272bn",
    "preresnet542_cifar": "preresnet542bn",
    "preresnet1001_cifar": "preresnet1001",
    "preresnet1202_cifar": "preresnet1202",
    "wrn16_10_cifar": "wrn16_10",
    "wrn28_10_cifar": "wrn28_10",
    "wrn40_8_cifar": "wrn40_8",
    "resnext29_32x4d_cifar": "resnext29_32x4d",
    "resnext29_16x64d_cifar": "resnext29_16x64d",
    "resnext272_1x64d_cifar": "resnext272_1x64d",
    "resnext272_2x32d_cifar": "resnext272_2x32d",
}


@pytest.mark.parametrize("name", list(ZOO_TO_PYTORCHCV))
def test_zoo_counts_are_pytorchcvs_published_figures(name: str) -> None:
    """pytorchcv's own parameter counts of its trained nets (e.g. wrn28_10_cifar10
    36,479,194; resnext29_32x4d_cifar10 4,775,754; preresnet20_cifar10 272,282), for 10 and
    100 classes, equal the plan's and the built module's (built on the meta device)."""
    published = _pytorchcv_params()
    for classes, dataset in ((10, "cifar10"), (100, "cifar100")):
        config = scalenet.get_config(name).replace(num_classes=classes)
        with torch.device("meta"):
            model = config.build()
        expected = published[f"{ZOO_TO_PYTORCHCV[name]}_{dataset}"]
        assert scalenet.profile(config).params == count_params(model) == expected


def test_issue_figures() -> None:
    """The three figures the issue quotes, by the builders people call."""
    assert count_params(scalenet.wrn(28, 10)) == 36_479_194
    assert scalenet.profile("resnext29_32x4d_cifar").params == 4_775_754
    assert count_params(scalenet.create("preresnet20_cifar")) == 272_282


# -- timm's resnetv2 (ImageNet pre-activation), plain and ResNet-D style ----------------------


def timm_v2_to_scalenet(key: str) -> str:
    """timm's ``ResNetV2`` names to scalenet's (the test's own mapping, written from timm's
    module tree: ``stem.conv``/``stem.convK``/``stem.normK``, ``stages.S.blocks.B.{normK,
    convK, downsample.conv}``, ``norm``, ``head.fc``)."""
    stem = {"stem.conv": "conv1", "stem.conv1": "conv1.0", "stem.norm1": "conv1.1"}
    stem |= {"stem.conv2": "conv1.3", "stem.norm2": "conv1.4", "stem.conv3": "conv1.6"}
    module, _, leaf = key.rpartition(".")
    if module in stem:
        return f"{stem[module]}.{leaf}"
    if module == "norm":
        return f"final_bn.{leaf}"
    if module == "head.fc":
        return f"fc.{leaf}"
    parts = module.split(".")
    assert (parts[0], parts[2]) == ("stages", "blocks"), key
    block = f"layer{int(parts[1]) + 1}.{parts[3]}"
    rest = ".".join(parts[4:])
    if rest == "downsample.conv":
        rest = "downsample.0"
    return f"{block}.{rest.replace('norm', 'bn')}.{leaf}"


TIMM_V2: dict[str, dict[str, Any]] = {
    "resnetv2_18": {"depth": 18},
    "resnetv2_50": {"depth": 50},
    "resnetv2_18d": {"depth": 18, "variant": "d"},
    "resnetv2_50d": {"depth": 50, "variant": "d"},
}


@pytest.mark.parametrize("name", list(TIMM_V2))
def test_same_weights_give_timm_resnetv2_logits(name: str) -> None:
    ref = randomise(timm.create_model(name))
    ours = scalenet.resnet(preact=True, **TIMM_V2[name]).eval()
    avg = TIMM_V2[name].get("variant") == "d"
    state = {}
    for key, value in ref.state_dict().items():
        new = timm_v2_to_scalenet(key)
        if avg and ".downsample.0." in new:  # the pool is downsample.0, the conv .1
            new = new.replace(".downsample.0.", ".downsample.1.")
        state[new] = value.flatten(1) if new == "fc.weight" else value  # timm's is a 1x1 conv
    assert {k: v.shape for k, v in state.items()} == {
        k: v.shape for k, v in ours.state_dict().items()
    }
    ours.load_state_dict(state, strict=True)
    assert count_params(ours) == count_params(ref) == scalenet.profile(ours.config).params
    assert_same_logits(ours, ref, size=64)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():  # features: timm's forward_features ends with its final norm too
        torch.testing.assert_close(ours.forward_features(x), ref.forward_features(x))


# -- analytic counts, shapes, the variants' own behaviour -------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        ResNetConfig(depths=(2, 1, 1), width=8, stem="cifar", preact=True, input_size=32,
                     downsample="projection", num_classes=10),
        ResNetConfig(depths=(1, 2, 1), width=4, stem="cifar", preact=True, widen_factor=3,
                     downsample="pad", num_classes=10, input_size=32, block_dropout=0.2),
        ResNetConfig(depths=(1, 1, 1, 1), width=16, stem="deep", downsample="avgpool",
                     block="bottleneck", preact=True, groups=4, base_width=16, input_size=64),
        ResNetConfig(depths=(1, 1), width=8, block="bottleneck", preact=True, shortcut=False,
                     input_size=32),
    ],
)  # fmt: skip
def test_analytic_params_and_macs_are_fvcores_and_the_modules(config: ResNetConfig) -> None:
    model = config.build().eval()
    size = config.input_size
    analysis = FlopCountAnalysis(model, torch.randn(1, config.in_chans, size, size))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    ops = analysis.by_operator()
    profile = scalenet.profile(config)
    assert profile.params == count_params(model)
    assert profile.macs == ops["conv"] + ops["linear"]
    # The plan names every module with parameters, one to one.
    planned = {s.name for s in scalenet.plan(config) if s.params}
    built = {n for n, m in model.named_modules() if any(True for _ in m.parameters(False))}
    assert planned == built


def test_preact_blocks_put_bn_before_each_conv_and_nothing_after_the_add() -> None:
    model = scalenet.resnet(depths=(1, 1), width=4, stem="cifar", preact=True,
                            downsample="projection", input_size=8)  # fmt: skip
    block = model.layer2[0]
    assert [n for n, _ in block.named_children()] == [
        "bn1", "conv1", "bn2", "conv2", "relu", "downsample",
    ]  # fmt: skip
    assert (block.bn1.num_features, block.bn2.num_features) == (4, 8)
    assert [type(m) for m in block.downsample] == [nn.Conv2d]  # no BN on the shortcut
    assert [type(model.bn1), type(model.relu)] == [nn.Identity, nn.Identity]
    assert isinstance(model.final_bn, nn.BatchNorm2d)
    assert model.final_bn.num_features == 8
    # The projection reads the pre-activated input: changing bn1 changes the shortcut's input.
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        pre = torch.relu(block.bn1.eval()(x))
        block.eval()
        expected = block.conv2(torch.relu(block.bn2(block.conv1(pre)))) + block.downsample(pre)
        torch.testing.assert_close(block(x), expected)


def test_wrn_builder_names_and_errors() -> None:
    model = scalenet.wrn(16, 4, block_dropout=0.3)
    cfg = model.config
    assert (cfg.depth, cfg.depths, cfg.width) == (16, (2, 2, 2), 16)
    assert cfg.stage_widths == (64, 128, 256)
    drop = model.layer1[0].drop
    assert isinstance(drop, nn.Dropout)
    assert drop.p == 0.3
    wide = scalenet.resnet(
        depth=28, stem="cifar", preact=True, widen_factor=10, downsample="projection"
    )
    assert wide.config == scalenet.wrn(28, 10).config
    with pytest.raises(ConfigError, match=r"depth=26.*6n\+4 for a wide ResNet.*: 22 or 28"):
        scalenet.wrn(26, 10)
    with pytest.raises(ConfigError, match=r"block_dropout=0\.3.*0 with block='bottleneck'"):
        scalenet.resnet(depth=50, block_dropout=0.3)
    with pytest.raises(ConfigError, match="widen_factor=0"):
        scalenet.wrn(28, 0)


def test_default_bottleneck_depths() -> None:
    """ResNet-164 is the bottleneck net of He et al. 2016; 110 (also 9n+2) stays basic."""
    assert scalenet.resnet_layout(164, "cifar") == ((18, 18, 18), "bottleneck")
    assert scalenet.resnet_layout(110, "cifar") == ((18, 18, 18), "basic")
    assert scalenet.resnet_layout(164, "cifar", "basic") == ((27, 27, 27), "basic")


def test_intermediates_and_pruning_follow_timm_for_the_final_norm() -> None:
    model = scalenet.resnet(depths=(1, 1), width=4, stem="cifar", preact=True,
                            downsample="projection", input_size=8).eval()  # fmt: skip
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        final, maps = model.forward_intermediates(x)
        _, normed = model.forward_intermediates(x, norm=True)
        torch.testing.assert_close(final, model.forward_features(x))
        torch.testing.assert_close(normed[-1], final)  # norm=True: the closed last map
        assert not torch.allclose(maps[-1], final)  # the stage's own map is before the norm
        model.prune_intermediate_layers(1, prune_norm=True)
        assert model.final_bn is None
        torch.testing.assert_close(model(x), maps[-1])


# -- the command line and compound scaling on the new variants -------------------------------


@pytest.mark.parametrize(
    "name",
    ["preresnet20_cifar", "preresnet164_cifar", "wrn16_10_cifar", "resnext29_32x4d_cifar"],
)
def test_summary_check_and_scale_work_on_each_variant(name: str) -> None:
    from click.testing import CliRunner

    from scalenet.cli import main

    runner = CliRunner()
    summary = runner.invoke(main, ["summary", name])
    assert summary.exit_code == 0, summary.output
    params = scalenet.profile(name).params
    assert f"Total params: {params:,}" in summary.output
    ok = runner.invoke(main, ["check", name, "--input-size", "36"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["check", name, "--input-size", "33"])
    assert bad.exit_code != 0
    assert "nearest valid sizes are 32 or 36" in bad.output
    scaled = runner.invoke(main, ["scale", name, "--phi", "2"])
    assert scaled.exit_code == 0, scaled.output
    grown = scalenet.compound_scale(scalenet.get_config(name), 2)
    assert f"{grown.input_size}" in scaled.output
    assert str(grown.depths) in scaled.output


def test_compound_scaling_keeps_the_variant() -> None:
    """A WRN grows in depth, width (stem and stages together: the widen factor is kept) and
    resolution; a ResNeXt keeps its groups and base width, so every grouped conv still
    divides. Params and MACs of the grown configs are their built modules'."""
    for name in ("wrn16_10_cifar", "resnext29_32x4d_cifar", "preresnet20_cifar"):
        base = scalenet.get_config(name)
        grown = scalenet.compound_scale(base, 3)
        assert (grown.depths > base.depths, grown.width > base.width) == (True, True), name
        assert grown.input_size > base.input_size, name
        keep = ("preact", "widen_factor", "groups", "base_width", "stem", "block", "downsample")
        assert {f: getattr(grown, f) for f in keep} == {f: getattr(base, f) for f in keep}
        with torch.device("meta"):
            model = grown.build()
        assert scalenet.profile(grown).params == count_params(model)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                assert (m.in_channels % m.groups, m.out_channels % m.groups) == (0, 0)


def test_the_cli_depth_option_and_name_hints_follow_the_wrn_rule() -> None:
    from click.testing import CliRunner

    from scalenet.cli import main

    result = CliRunner().invoke(main, ["summary", "wrn28_10_cifar", "--depth", "40"])
    assert result.exit_code == 0, result.output
    # WRN-40-10: 55.8M parameters in the WRN paper's table 1; exactly, the module's count.
    assert f"Total params: {count_params(scalenet.wrn(40, 10)):,}" in result.output
    assert round(count_params(scalenet.wrn(40, 10)) / 1e6, 1) == 55.8
    with pytest.raises(ConfigError, match=r"scalenet\.wrn\(22, 8\) builds it"):
        scalenet.create("wrn22_8_cifar")
    with pytest.raises(ConfigError, match=r"nearest: scalenet\.wrn\(22, 10\) or scalenet\.wrn"):
        scalenet.create("wrn26_10_cifar")
    with pytest.raises(ConfigError, match=r"resnet\(depth=32, stem=\"cifar\", preact=True"):
        scalenet.create("preresnet32_cifar")


# -- graph capture: every variant through compile, export, TorchScript and FX ----------------

VARIANTS: dict[str, dict[str, Any]] = {
    "preact_basic": {
        "depths": (1, 2), "width": 4, "stem": "cifar", "preact": True,
        "downsample": "projection", "input_size": 16,
    },
    "preact_bottleneck_deep_avgpool": {
        "depths": (1, 1), "width": 8, "stem": "deep", "block": "bottleneck", "preact": True,
        "downsample": "avgpool", "input_size": 32,
    },
    "wrn_block_dropout": {
        "depths": (1, 1), "width": 4, "stem": "cifar", "preact": True, "widen_factor": 3,
        "block_dropout": 0.3, "downsample": "projection", "input_size": 16,
    },
    "resnext_pad": {
        "depths": (1, 1), "width": 8, "stem": "cifar", "block": "bottleneck", "groups": 4,
        "base_width": 16, "downsample": "pad", "input_size": 16,
    },
}  # fmt: skip


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
@pytest.mark.parametrize("key", list(VARIANTS))
def test_each_variant_compiles_exports_scripts_and_traces(key: str) -> None:
    """torch.compile(fullgraph=True), torch.export with a dynamic batch, TorchScript and FX
    give the eager outputs, as for the plain ResNets (tests/nn/test_forward_checks.py)."""
    torch._dynamo.reset()
    model = scalenet.resnet(**VARIANTS[key]).eval()
    size = model.config.input_size
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = model(x)
        compiled = torch.compile(model, backend="eager", fullgraph=True)
        torch.testing.assert_close(compiled(x), expected)
        batch = torch.export.Dim("batch", min=1, max=64)
        exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
        y = torch.randn(5, 3, size, size)
        torch.testing.assert_close(exported.module()(y), model(y))
        torch.testing.assert_close(torch.jit.script(model)(x), expected)
        torch.testing.assert_close(torch.fx.symbolic_trace(model)(x), expected)
    # Training mode: the block dropout is live (two calls differ), and eval is deterministic.
    if model.config.block_dropout:
        model.train()
        torch.manual_seed(0)
        a = model(x)
        b = model(x)
        assert not torch.equal(a, b)


def test_group_matcher_puts_the_final_bn_last_as_timms_resnetv2_does() -> None:
    from timm.models import group_parameters

    ours = scalenet.resnet(depth=18, preact=True)
    ref = timm.create_model("resnetv2_18")
    groups = group_parameters(ours, ours.group_matcher())
    theirs = group_parameters(ref, ref.group_matcher())
    assert [len(g) for g in groups.values()] == [len(g) for g in theirs.values()]
    where = next(i for i, g in enumerate(groups.values()) if "final_bn.weight" in g)
    assert where == next(i for i, g in enumerate(theirs.values()) if "norm.weight" in g)

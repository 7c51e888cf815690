"""Profiles against published figures, fvcore run side by side, and autograd's saved tensors."""

from __future__ import annotations

import json

import pytest
import torch
from fvcore.nn import parameter_count
from hypothesis import given, settings
from torch import nn

import scalenet
from helpers import count_params, fvcore_conv_linear, swept
from scalenet import ResNetConfig, SimpleCNNConfig
from strategies import resnet_configs, simple_cnn_configs

# torchvision's weight metadata (1.814 / 4.089 GFLOPS) and the CIFAR ResNet literature.
PUBLISHED_MACS = {
    "resnet18": 1_814_073_344,
    "resnet50": 4_089_184_256,
    "resnet20_cifar": 40_551_040,
    "resnet56_cifar": 125_485_696,
    "resnet110_cifar": 252_887_680,
}


@pytest.mark.parametrize(("name", "macs"), list(PUBLISHED_MACS.items()))
def test_published_macs(name: str, macs: int) -> None:
    p = scalenet.profile(name)
    assert p.macs == macs
    assert p.flops == 2 * macs


def test_resnet20_projection_macs() -> None:
    # Option B ResNet-20: 40.81M MACs (e.g. chenyaofo/pytorch-cifar-models), and fvcore agrees.
    cfg = scalenet.get_config("resnet20_cifar").replace(downsample="projection")
    assert scalenet.profile(cfg).macs == 40_813_184
    assert fvcore_conv_linear(cfg.build(), 32) == 40_813_184


def test_simple_cnn_cifar_macs_and_the_thop_figure() -> None:
    p = scalenet.profile("simple_cnn_cifar")
    conv = sum(r.macs for r in p.rows if r.kind == "conv")
    linear = sum(r.macs for r in p.rows if r.kind == "linear")
    assert (p.params, conv, linear, p.macs) == (114_186, 10_321_920, 20_480, 10_342_400)
    # thop reports 10,571,776 "FLOPs" for this CNN written by hand: it counts 4 ops per
    # BatchNorm element on top of the conv and linear MACs.
    assert p.macs + 4 * p.other_ops["batchnorm"] == 10_571_776


def _blockwise_fvcore_macs(cfg: ResNetConfig) -> int:
    """fvcore's MACs of a deep ResNet from small ones: every block after a stage's first is
    the same, so MACs are affine in each stage's block count. fvcore counts the net with 2
    blocks a stage and, for each stage, with 3 in that stage: the base and one block's MACs
    per stage, which give the deep net's by extrapolation (exact, integers)."""
    base = (2,) * len(cfg.depths)
    m0 = fvcore_conv_linear(cfg.replace(depths=base).build(), cfg.input_size, cfg.in_chans)
    total = m0
    if len(set(cfg.depths)) == 1:  # n blocks in every stage: one bump of all stages will do
        m1 = fvcore_conv_linear(
            cfg.replace(depths=(3,) * len(base)).build(), cfg.input_size, cfg.in_chans
        )
        return m0 + (m1 - m0) * (cfg.depths[0] - 2)
    for i, d in enumerate(cfg.depths):
        bumped = (*base[:i], 3, *base[i + 1 :])
        mi = fvcore_conv_linear(cfg.replace(depths=bumped).build(), cfg.input_size, cfg.in_chans)
        total += (mi - m0) * (d - 2)
    return total


#: More blocks than this and fvcore's trace (tens of seconds for ResNet-1202 on 2 cores) is
#: replaced by the blockwise count; the module is then built on the meta device.
DEEP_BLOCKS = 60


@pytest.mark.parametrize("name", swept(scalenet.list_models()))
def test_every_zoo_entry_matches_fvcore(name: str) -> None:
    """Analytic MACs equal fvcore's conv + linear count at the entry's own input size: in the
    default run for one net per family (helpers.BIG), for every entry under sweep."""
    cfg = scalenet.get_config(name)
    p = scalenet.profile(cfg)
    if isinstance(cfg, ResNetConfig) and sum(cfg.depths) > DEEP_BLOCKS:
        assert p.macs == _blockwise_fvcore_macs(cfg)
    else:
        assert p.macs == fvcore_conv_linear(cfg.build(), cfg.input_size, cfg.in_chans)


@pytest.mark.parametrize("name", scalenet.list_models())
def test_every_zoo_entry_counts_the_modules_parameters(name: str) -> None:
    """Analytic parameters equal the built module's (and fvcore's count), in total and per
    layer, for every entry (built on the meta device: counting needs no values)."""
    cfg = scalenet.get_config(name)
    p = scalenet.profile(cfg)
    with torch.device("meta"):
        model = cfg.build()
    assert p.params == count_params(model) == parameter_count(model)[""]
    modules = dict(model.named_modules())
    for row in p.rows:
        if row.name in modules:
            assert row.params == count_params(modules[row.name]), row.name


@settings(max_examples=15, deadline=None)
@given(resnet_configs())
def test_random_resnets_match_fvcore(cfg: ResNetConfig) -> None:
    model = cfg.build()
    p = scalenet.profile(cfg, batch_size=2)
    assert p.macs == fvcore_conv_linear(model, cfg.input_size, cfg.in_chans, batch=2)
    assert p.params == count_params(model)


@settings(max_examples=15, deadline=None)
@given(simple_cnn_configs())
def test_random_simple_cnns_match_fvcore(cfg: SimpleCNNConfig) -> None:
    model = cfg.build()
    p = scalenet.profile(cfg)
    assert p.macs == fvcore_conv_linear(model, cfg.input_size, cfg.in_chans)
    assert p.params == count_params(model)


@pytest.mark.parametrize("method", ["fvcore", "torch"])
@pytest.mark.parametrize("name", ["resnet18", "resnet20_cifar", "simple_cnn6_k5"])
def test_measured_methods_agree_with_analytic(method: str, name: str) -> None:
    analytic = scalenet.profile(name, batch_size=2)
    measured = scalenet.profile(name, batch_size=2, method=method)  # type: ignore[arg-type]
    assert measured.method == method
    assert (measured.macs, measured.params) == (analytic.macs, analytic.params)
    assert [r.output_shape for r in measured.rows] == [r.output_shape for r in analytic.rows]
    assert [r.macs for r in measured.rows] == [r.macs for r in analytic.rows]
    assert measured.activations == analytic.activations
    if method == "fvcore":  # fvcore: 2 ops per BN element in eval, 1 per pooled input element
        assert measured.other_ops["batch_norm"] == 2 * analytic.other_ops["batchnorm"]


@pytest.mark.parametrize("method", ["fvcore", "torch"])
def test_measured_methods_profile_the_model_given(method: str) -> None:
    # The model itself, not its config rebuilt: frozen weights, folded BN and its dtype.
    model = scalenet.create("resnet20_cifar")
    for p in model.parameters():
        p.requires_grad_(False)
    measured = scalenet.profile(model, method=method)  # type: ignore[arg-type]
    assert measured.trainable_params == 0
    assert measured.params == sum(p.numel() for p in model.parameters())
    folded = scalenet.optimize_for_inference(scalenet.create("resnet20_cifar").eval())
    bias = sum(m.out_channels for m in folded.modules() if isinstance(m, nn.Conv2d))
    measured = scalenet.profile(folded, method=method)  # type: ignore[arg-type]
    # Folding drops each BN's 2 x C parameters and gives each conv a C-element bias.
    assert measured.params == 269_722 - 2 * bias + bias
    half = scalenet.profile(scalenet.create("resnet20_cifar").bfloat16(), method=method)  # type: ignore[arg-type]
    assert half.macs == scalenet.profile("resnet20_cifar").macs


def test_fvcore_restores_the_training_mode_after_an_error() -> None:
    model = scalenet.create("simple_cnn_cifar").train()
    with pytest.raises(scalenet.ShapeError):
        scalenet.profile(model, 64, method="fvcore")
    assert model.training


def test_analytic_builds_no_module(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a module was built")

    monkeypatch.setattr(nn.Module, "__init__", refuse)
    monkeypatch.setattr(torch, "empty", refuse)
    p = scalenet.profile("resnet1202_cifar", 4096)
    # CIFAR ResNets keep every conv at a fixed fraction of the input area, so conv MACs scale
    # exactly with it: (4096 / 32)^2 times those at 32x32; the classifier's stay the same.
    small = scalenet.profile("resnet1202_cifar")
    fc = 64 * 10
    assert p.macs - fc == (small.macs - fc) * 128**2
    assert p.params == small.params == 19_421_274


def saved_tensor_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the distinct non-parameter tensors autograd saves in a training forward."""
    owned = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in owned:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model.train()(x)
    return sum(seen.values())


@pytest.mark.parametrize(
    ("name", "batch"),
    [("resnet18", 2), ("resnet56_cifar", 8), ("preresnet164_cifar", 4), ("simple_cnn_cifar", 8)],
)
def test_saved_activation_bytes_within_10_percent_of_autograd(name: str, batch: int) -> None:
    model = scalenet.create(name)
    size = model.config.input_size
    measured = saved_tensor_bytes(model, torch.randn(batch, 3, size, size))
    analytic = scalenet.profile(name, batch_size=batch).saved_bytes()
    assert abs(analytic - measured) <= 0.10 * measured


def test_train_memory_adds_weights_gradients_state_and_activations() -> None:
    p = scalenet.profile("resnet20_cifar")
    weights = 4 * 269_722
    saved = p.saved_bytes(64)
    assert p.train_memory(64, "sgd") == 3 * weights + saved
    assert p.train_memory(64, "adam") == 4 * weights + saved
    assert p.train_memory(64, "sgd_nomomentum") == 2 * weights + saved
    assert p.train_memory(64, "sgd", torch.float16) == 3 * weights // 2 + p.saved_bytes(
        64, torch.float16
    )
    budget = 2 * 1024**3
    best = p.max_batch_size(budget, "adam")
    assert p.train_memory(best, "adam") <= budget < p.train_memory(best + 1, "adam")
    assert p.max_batch_size(1000) == 0
    with pytest.raises(scalenet.ConfigError, match="optimizer"):
        p.train_memory(1, "lbfgs")  # type: ignore[arg-type]


def test_rendering() -> None:
    p = scalenet.profile("resnet50")
    assert str(p) == "resnet50: 25.56 M params, 4.09 GMACs at 224x224"
    table = p.table()
    assert "layer4.2.conv3 (conv)" in table
    assert "[1, 2048, 7, 7]" in table
    assert "Total params: 25,557,032" in table
    assert "MACs (conv + linear): 4,089,184,256 (4.09 GMACs)" in table
    assert "Forward/backward pass size (MB)" in table
    md = p.to_markdown()
    assert "| `fc` | linear | [1, 1000] | 2,049,000 | 2,048,000 |" in md
    data = json.loads(p.to_json())
    assert data["macs"] == 4_089_184_256
    assert data["flops"] == 2 * 4_089_184_256
    assert data["params"] == 25_557_032
    assert len(data["rows"]) == len(p.rows)
    assert str(scalenet.profile("resnet18", batch_size=8)).endswith("at 224x224, batch 8")


def test_profile_targets_and_errors() -> None:
    model = scalenet.create("resnet20_cifar")
    assert scalenet.profile(model).name == "resnet20_cifar"
    assert scalenet.profile(model.config).macs == scalenet.profile("resnet20_cifar").macs
    # At 64 px every conv map has 4x the pixels; the 640-MAC classifier is unchanged.
    assert scalenet.profile("resnet20_cifar", 64).macs == (40_551_040 - 640) * 4 + 640
    with pytest.raises(scalenet.ShapeError, match="nearest valid sizes are 32 or 36"):
        scalenet.profile("resnet20_cifar", 34)
    with pytest.raises(scalenet.ConfigError, match="target"):
        scalenet.profile(nn.Linear(2, 2))  # type: ignore[arg-type]
    with pytest.raises(scalenet.ConfigError, match="method"):
        scalenet.profile("resnet18", method="thop")  # type: ignore[arg-type]
    with pytest.raises(scalenet.ConfigError, match="batch_size"):
        scalenet.profile("resnet18", batch_size=0)

"""timm's model-interface checks, run over every name scalenet registers with timm.

These follow timm's own ``tests/test_models.py`` (inference, forward, backward, default cfgs,
TorchScript, ``forward_features``, ``forward_intermediates``, feature extraction through the
hook, getter and FX paths, FX forward and backward, FX followed by TorchScript), with small
inputs: each model runs at twice its smallest valid input size (its fixed size where it has
one), which keeps every level of its feature pyramid at least 2x2.

The reference for each check is the model's own eager forward pass, computed in the same
test: every transformed model (scripted, traced, wrapped) must give exactly its outputs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import timm
import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config
from timm.layers import set_layer_config
from timm.models import FeatureInfo

import scalenet
from helpers import BIG, swept
from scalenet.integrations.timm_build import CUSTOM_ARCHITECTURE, CUSTOM_DEFAULT
from scalenet.integrations.timm_compat import REGISTERED

NAMES = sorted(REGISTERED)
# Each test below that runs a net through every block in several ways (TorchScript, FX,
# torch.compile, backward at full size, intermediates, pruning) costs seconds to minutes per
# net on 2 cores (TorchScript and FX take resnet1202_cifar 15-25 s each; pruning a 1000-layer
# net 40-130 s), and the zoo has 70 nets. They run on one representative per family; the
# others (BIG, tests/helpers.py: represented) are the same module types wired the same way,
# with other numbers (blocks per stage, width, widen_factor, groups, base_width, input size),
# which test_represented_nets_have_their_representatives_modules checks for each. Every net
# gets its data config checked, and the cfg and eval-mode checks: the representatives' in the
# default run, the others' under the sweep marker.
COMPILE_NAMES = [n for n in NAMES if n not in BIG]
ENTRIES = {e.timm_name: e for e in scalenet.zoo.ZOO.values()} | {
    CUSTOM_ARCHITECTURE: CUSTOM_DEFAULT
}
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")


def small_size(name: str) -> int:
    """Twice the smallest valid input size (the fixed size of a flattening classifier)."""
    config = ENTRIES[name].config
    fixed = isinstance(config, scalenet.SimpleCNNConfig) and not config.global_pool
    return config.input_size if fixed else 2 * scalenet.min_input_size(config)


def small_input(name: str, batch: int = 1) -> torch.Tensor:
    size = small_size(name)
    return torch.randn(batch, ENTRIES[name].config.in_chans, size, size)


def create(name: str, seed: int = 0, **kwargs: object) -> torch.nn.Module:
    """The model, with weights fixed by ``seed`` (two calls with one seed give equal models)."""
    torch.manual_seed(seed)
    return timm.create_model(name, **kwargs)


@functools.cache
def _built(name: str) -> torch.nn.Module:
    return create(name).eval()


@functools.cache
def _on_meta(name: str) -> torch.nn.Module:
    with torch.device("meta"):
        return create(name).eval()


def meta_model(name: str) -> scalenet.ScaleNetModel:
    """``create(name)`` on the meta device (shapes, no values), in eval mode, a fresh copy."""
    model = copy.deepcopy(_on_meta(name))
    assert isinstance(model, scalenet.ScaleNetModel)
    return model


def shapes_device(name: str) -> str:
    """Where shapes are checked most cheaply: the meta device, or the CPU for the entries of
    64 px or less. Their real forward at that size computes faster than meta's shape
    functions (BatchNorm's are Python decompositions: resnet1202_cifar takes 2 s a forward
    on meta, 0.4 s on 2 cores)."""
    return "cpu" if ENTRIES[name].config.input_size <= 64 else "meta"


def shapes_model(name: str) -> scalenet.ScaleNetModel:
    """``create(name)`` in eval mode, a fresh copy, on :func:`shapes_device`."""
    return model_of(name) if shapes_device(name) == "cpu" else meta_model(name)


def model_of(name: str) -> scalenet.ScaleNetModel:
    """``create(name)`` in eval mode, copied from a cache (building resnet1202 takes seconds)."""
    model = copy.deepcopy(_built(name))
    assert isinstance(model, scalenet.ScaleNetModel)
    return model


@contextlib.contextmanager
def fast_jit() -> Iterator[None]:
    """TorchScript's legacy executor, as timm's tests use: no profiling runs before a result."""
    mode = torch._C._jit_set_profiling_mode(False)
    try:
        yield
    finally:
        torch._C._jit_set_profiling_mode(mode)


@pytest.mark.parametrize("name", swept(NAMES))
def test_inference(name: str) -> None:
    """Eval mode: deterministic, batch-independent (BatchNorm uses running statistics), finite."""
    model = model_of(name)
    x = small_input(name, batch=2)
    with torch.inference_mode():
        out = model(x)
        again = model(x)
        alone = model(x[1:])
    assert out.shape == (2, model.num_classes)
    assert torch.equal(out, again)
    # Batched and alone differ only by rounding (deep random-init nets have large logits).
    scale = float(out.abs().max())
    torch.testing.assert_close(alone[0], out[1], rtol=1e-3, atol=1e-5 * max(scale, 1.0))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_forward_at_the_cfg_input_size(name: str) -> None:
    """timm's test_model_forward: one forward pass at the pretrained cfg's input size."""
    model = model_of(name)
    with torch.no_grad():
        out = model(torch.randn(1, *model.pretrained_cfg["input_size"]))
    assert out.shape == (1, model.pretrained_cfg["num_classes"])
    assert not torch.isnan(out).any()


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_backward(name: str) -> None:
    """timm's test_model_backward: num_classes=42, every parameter gets a gradient."""
    model = create(name, num_classes=42).train()
    out = model(small_input(name, batch=2))
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert out.shape == (2, 42)
    assert sum(p.grad.numel() for p in model.parameters() if p.grad is not None) == sum(
        p.numel() for p in model.parameters()
    )


@pytest.mark.parametrize("name", swept(NAMES))
def test_default_cfgs(name: str) -> None:
    """timm's test_model_default_cfgs, and the cfg describes the model built: shapes only, on
    the meta device or the CPU (:func:`shapes_device`). (Every name's registered cfg is the
    one the zoo computes: test_timm.py::test_registry_file_is_what_the_zoo_and_catalogue_
    compute.)"""
    model, device = shapes_model(name), shapes_device(name)
    cfg = model.pretrained_cfg
    entry = ENTRIES[name]
    config = entry.config
    assert cfg["input_size"] == (config.in_chans, config.input_size, config.input_size)
    assert cfg == model.default_cfg  # the alias
    registered = timm.models.get_pretrained_cfg(name).to_dict()
    for key in ("input_size", "min_input_size", "fixed_input_size", "pool_size", "first_conv"):
        assert cfg[key] == registered[key], key  # the registered cfg describes the default model
    x = torch.randn(1, *cfg["input_size"], device=device)
    with torch.no_grad():
        features = model.forward_features(x)  # always unpooled
        assert tuple(features.shape[1:]) == (model.num_features, *cfg["pool_size"])
        pre_logits = model.forward_head(features, pre_logits=True)
        assert pre_logits.shape == (1, model.head_hidden_size)
        model.reset_classifier(0)
        assert model(x).shape == (1, model.head_hidden_size)
        model.reset_classifier(0, "")
        assert tuple(model(x).shape) == (1, model.num_features, *cfg["pool_size"])
        # A classifier needs pooling back: asking for one while unpooled is an error, not a
        # head that never runs.
        with pytest.raises(scalenet.ConfigError, match="a classifier needs pooling"):
            model.reset_classifier(4)
    state = model.state_dict()
    assert cfg["first_conv"] + ".weight" in state
    assert isinstance(dict(model.named_modules())[cfg["first_conv"]], torch.nn.Conv2d)
    assert cfg["classifier"] == "fc"
    fresh = shapes_model(name)
    assert fresh.fc.weight.shape == (config.num_classes, model.head_hidden_size)
    # min_input_size is the smallest size the model takes: one pixel less is refused.
    low = cfg["min_input_size"][1]
    assert cfg["fixed_input_size"] == bool(model.fixed_input_size)
    if not cfg["fixed_input_size"]:
        with torch.no_grad():
            assert fresh(torch.randn(1, config.in_chans, low, low, device=device)).shape[0] == 1
            with pytest.raises(scalenet.ShapeError):
                fresh(torch.randn(1, config.in_chans, low - 1, low - 1, device=device))


@pytest.mark.parametrize("name", NAMES)
def test_data_config_and_transform(name: str) -> None:
    """timm's data pipeline takes the entry's own input size and normalisation."""
    entry = ENTRIES[name]
    data = resolve_data_config({}, model=_on_meta(name))
    size = entry.config.input_size
    assert data["input_size"] == (entry.config.in_chans, size, size)
    assert data["mean"] == entry.mean
    assert data["std"] == entry.std
    assert data["crop_pct"] == entry.crop_pct
    transform = create_transform(**data)
    rgb = (255, 128, 0)
    image = Image.new("RGB", (size * 2 + 3, size + 5), color=rgb)
    tensor = transform(image)
    assert tuple(tensor.shape) == data["input_size"]
    # A constant image normalises to (value - mean) / std per channel.
    expected = [(v / 255 - m) / s for v, m, s in zip(rgb, entry.mean, entry.std, strict=True)]
    torch.testing.assert_close(tensor.mean(dim=(1, 2)), torch.tensor(expected), atol=1e-3, rtol=0)


def test_data_config_follows_overridden_fields() -> None:
    model = timm.create_model("resnet20_cifar", in_chans=1, input_size=64, num_classes=100)
    data = resolve_data_config({}, model=model)
    assert data["input_size"] == (1, 64, 64)
    assert model.pretrained_cfg["pool_size"] == (16, 16)
    assert data["mean"] == scalenet.get_entry("resnet20_cifar").mean  # the entry's statistics
    assert model.pretrained_cfg["num_classes"] == 100


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_torchscript(name: str) -> None:
    """timm's test_model_forward_torchscript, output equal to eager, input still checked."""
    with set_layer_config(scriptable=True):
        model = create(name).eval()
    x = small_input(name)
    with torch.no_grad(), fast_jit():
        scripted = torch.jit.script(model)
        torch.testing.assert_close(scripted(x), model(x), rtol=1e-5, atol=1e-6)
        with pytest.raises(torch.jit.Error, match="input channels"):
            scripted(torch.randn(1, model.in_chans + 1, x.shape[2], x.shape[3]))


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_forward_intermediates(name: str) -> None:
    """timm's test_model_forward_intermediates, plus index selection and early stopping."""
    model = model_of(name)
    info = FeatureInfo(model.feature_info, range(len(model.feature_info)))
    x = small_input(name)
    with torch.no_grad():
        final, maps = model.forward_intermediates(x)
        assert [m.shape[1] for m in maps] == info.channels()
        if isinstance(model, scalenet.ResNet):  # exact division at a valid input size
            assert [x.shape[-1] // m.shape[-1] for m in maps] == info.reduction()
        for m, r in zip(maps, info.reduction(), strict=True):
            assert m.shape[2] <= math.ceil(x.shape[2] / r) + 1
            assert m.shape[3] <= math.ceil(x.shape[3] / r) + 1
            assert torch.isfinite(m).all()
        assert torch.equal(final, model.forward_features(x))
        # Selections: the last n, listed (negative) indices, and only the maps.
        n = len(maps)
        last_two = model.forward_intermediates(x, indices=2, intermediates_only=True)
        assert all(torch.equal(a, b) for a, b in zip(last_two, maps[-2:], strict=True))
        picked = model.forward_intermediates(x, indices=[0, -1], intermediates_only=True)
        assert torch.equal(picked[0], maps[0])
        assert torch.equal(picked[1], maps[-1])
        early, first = model.forward_intermediates(x, indices=[1], stop_early=True)
        assert torch.equal(first[0], maps[1])
        assert torch.equal(early, maps[1])  # stopped at level 1: its map is the last one
        for bad in (0, n + 1, [n], [-n - 1], [], "all"):
            with pytest.raises(scalenet.ConfigError, match="indices"):
                model.forward_intermediates(x, indices=bad)  # type: ignore[arg-type]
        with pytest.raises(scalenet.ConfigError, match="output_fmt"):
            model.forward_intermediates(x, output_fmt="NHWC")
    # The maps are what timm's hook-based feature extractor sees at the same modules.
    model.set_grad_checkpointing()
    with torch.no_grad():
        checkpointed, _ = model.forward_intermediates(x)
    torch.testing.assert_close(checkpointed, final, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_prune_intermediate_layers(name: str, tmp_path: Path) -> None:
    """timm's pruning: what is kept gives the same maps; the rest (and the head) is gone."""
    model = model_of(name)
    x = small_input(name)
    n = len(model.feature_info)
    with torch.no_grad():
        maps = model.forward_intermediates(x, intermediates_only=True)
    params = sum(p.numel() for p in model.parameters())
    pruned = copy.deepcopy(model)
    assert pruned.prune_intermediate_layers([1]) == [1]
    kept = sum(p.numel() for p in pruned.parameters())
    assert kept < params
    with torch.no_grad():
        out = pruned(x)
        assert torch.equal(out, maps[1])  # no head: the model now ends at level 1
        assert torch.equal(pruned.forward_intermediates(x, indices=[1])[1][0], maps[1])
    assert pruned.num_features == model.feature_info[1]["num_chs"]
    assert pruned.num_classes == 0
    # Keeping the last level and the head changes nothing.
    whole = copy.deepcopy(model)
    assert whole.prune_intermediate_layers(n, prune_head=False) == list(range(n))
    with torch.no_grad():
        assert torch.equal(whole(x), model(x))
    with pytest.raises(scalenet.WeightsError, match="prune_intermediate_layers"):
        pruned.save_pretrained(tmp_path / "pruned")
    assert not (tmp_path / "pruned").exists()


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_features_hook_getter_and_fx_agree(name: str) -> None:
    """features_only through timm's module-list, hook, getter and FX paths: the same maps,
    equal to forward_intermediates of the same weights."""
    x = small_input(name)
    reference = _built(name)
    with torch.no_grad():
        expected = reference.forward_intermediates(x, intermediates_only=True)
    channels = [m.shape[1] for m in expected]
    for cls in ("list", "hook", "getter", "fx"):
        net = create(name, features_only=True, feature_cls=cls).eval()
        assert net.feature_info.channels() == channels, cls
        with torch.no_grad():
            out = net(x)
        out = list(out.values()) if isinstance(out, dict) else out
        assert len(out) == len(expected), cls
        for level, (got, want) in enumerate(zip(out, expected, strict=True)):
            assert torch.equal(got, want), f"{cls}: level {level}"


def fx_graph(model: torch.nn.Module) -> torch.fx.GraphModule:
    """The model traced by torch.fx with timm's leaf modules and non-traced functions."""
    from timm.models._features_fx import get_notrace_functions, get_notrace_modules

    leaves = tuple(get_notrace_modules())

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
            return isinstance(m, leaves) or super().is_leaf_module(m, qualname)

    tracer = Tracer(autowrap_functions=tuple(get_notrace_functions()))
    return torch.fx.GraphModule(model, tracer.trace(model))


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_fx_forward_backward_and_torchscript(name: str) -> None:
    """timm's FX tests: the traced graph gives the eager outputs exactly, trains (every
    parameter gets a gradient), and compiles with torch.jit.script (giving them again)."""
    x = small_input(name, batch=2)
    model = create(name, num_classes=42).eval()
    graph = fx_graph(model)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(graph(x), expected)
    graph.train()
    out = graph(x)
    out.mean().backward()
    assert out.shape == (2, 42)
    assert all(p.grad is not None for p in graph.parameters())
    with set_layer_config(scriptable=True):
        model = create(name).eval()
    with torch.no_grad(), fast_jit():
        scripted = torch.jit.script(fx_graph(model))
        torch.testing.assert_close(scripted(x), model(x), rtol=1e-5, atol=1e-6)
        # The input check is traced as one call and compiled with the graph.
        with pytest.raises(torch.jit.Error, match="input channels"):
            scripted(torch.randn(1, model.in_chans + 1, x.shape[2], x.shape[3]))


def test_every_listed_name_builds_with_no_arguments() -> None:
    listed = timm.list_models(["scalenet*", "*_cifar", "*_cifar_proj", "simple_cnn6_k5"])
    assert set(listed) == set(NAMES)
    for name in NAMES:
        with torch.device("meta"):
            model = timm.create_model(name)
        assert isinstance(model, scalenet.ScaleNetModel)
    # scalenet_custom's documented default: ResNetConfig(), i.e. scalenet.resnet().
    assert timm.create_model(CUSTOM_ARCHITECTURE).config == scalenet.ResNetConfig()
    assert timm.create_model(CUSTOM_ARCHITECTURE).config == scalenet.resnet().config
    cnn = timm.create_model(CUSTOM_ARCHITECTURE, family="simple_cnn")
    assert cnn.config == scalenet.SimpleCNNConfig()


@pytest.mark.parametrize("name", sorted(BIG))
def test_represented_nets_have_their_representatives_modules(name: str) -> None:
    """What the through-every-block tests skip in a represented net is shown by its
    representatives: every module type of the net is in one of them, and where the first
    has the same block type the two configs differ only in numbers (blocks per stage, width,
    widen_factor, groups, base_width, input size), so the modules are wired the same way
    (resnet1202_cifar is resnet20_cifar with 200 blocks a stage; resnext29_32x4d_cifar takes
    its stem and shortcuts from resnet20_cifar_proj, its grouped bottlenecks from
    resnext50_32x4d)."""
    with torch.device("meta"):
        big = timm.create_model(name)
        smaller = [timm.create_model(n) for n in BIG[name]]
    # Every module type of the big net is compiled in a smaller one.
    assert {type(m) for m in big.modules()} <= {type(m) for s in smaller for m in s.modules()}
    small = smaller[0]
    if big.config.block == small.config.block:
        same = {
            k: getattr(small.config, k)
            for k in ("depths", "width", "groups", "base_width", "input_size", "widen_factor")
        }
        assert big.config.replace(**same, zero_init_residual=False) == small.config
    assert set(BIG[name]) <= set(COMPILE_NAMES)

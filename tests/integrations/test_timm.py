"""scalenet's names, keyword arguments and overrides through timm.

timm's own model-interface checks, over every registered name, are in test_timm_interface.py.
"""

from __future__ import annotations

import warnings

import pytest
import timm
import torch
from torch import nn

import scalenet
from helpers import BIG, swept
from scalenet.integrations.timm_build import CUSTOM_ARCHITECTURE, registry
from scalenet.integrations.timm_registry import REGISTRY_FILE, read_registry, to_json

ENTRIES = list(scalenet.zoo.ZOO.values())
NAMES = [e.timm_name for e in ENTRIES]
SHORT = {e.timm_name: e.name for e in ENTRIES}


def small_input(model: scalenet.ScaleNetModel, batch: int = 2) -> torch.Tensor:
    """The smallest input the model accepts that still leaves a 2x2 last map (if it can)."""
    cfg = model.config
    size = cfg.input_size if model.fixed_input_size else 2 * scalenet.min_input_size(cfg)
    return torch.randn(batch, cfg.in_chans, size, size)


def test_registered_names_do_not_shadow_timm_models() -> None:
    registry = timm.models._registry._model_to_module
    ours = {name for name, module in registry.items() if module == "timm_compat"}
    assert ours == {*NAMES, CUSTOM_ARCHITECTURE}
    # The torchvision layouts are registered under prefixed names; the short names stay timm's.
    shared = [e.name for e in scalenet.zoo.ZOO.values() if e.timm_name == f"scalenet_{e.name}"]
    assert {
        "resnet18", "resnet26", "resnet50d", "resnext50_32x4d", "wide_resnet50_2", "resnetv2_50",
        "resnetv2_18d",
    } <= set(shared)  # fmt: skip
    for short in shared:  # timm's own model of that name stays timm's
        assert registry[short] == ("resnetv2" if short.startswith("resnetv2_") else "resnet"), short
    assert set(timm.list_models("scalenet_*")) - {CUSTOM_ARCHITECTURE} >= {
        f"scalenet_{name}" for name in shared
    }


@pytest.mark.parametrize("name", swept(NAMES))
def test_same_architecture_through_both_entry_points(name: str) -> None:
    with torch.device("meta"):
        via_timm = timm.create_model(name)
        via_scalenet = scalenet.create(SHORT[name])
    assert via_timm.config == via_scalenet.config
    a, b = via_timm.state_dict(), via_scalenet.state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}


def test_overridden_input_size_moves_the_pretrained_cfg() -> None:
    model = scalenet.create("resnet18", input_size=256, num_classes=3, in_chans=1).eval()
    cfg = model.pretrained_cfg
    assert cfg["input_size"] == (1, 256, 256)
    assert cfg["num_classes"] == 3
    with torch.no_grad():
        features = model.forward_features(torch.randn(1, 1, 256, 256))
    assert tuple(features.shape[2:]) == tuple(cfg["pool_size"]) == (8, 8)  # 256 / 32


@pytest.mark.parametrize("name", [n for n in NAMES if n not in BIG])  # see BIG's comment
def test_grad_checkpointing_changes_nothing(name: str) -> None:
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=3).eval()
    x = small_input(model)
    reference = model(x)
    reference.sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    model.set_grad_checkpointing(True)
    checkpointed = model(x)
    checkpointed.sum().backward()
    torch.testing.assert_close(checkpointed, reference)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[n], msg=n)


def test_grad_checkpointing_really_recomputes() -> None:
    model = scalenet.create("resnet20_cifar", num_classes=3)
    calls = 0

    def count(*_args: object) -> None:
        nonlocal calls
        calls += 1

    model.layer1[0].conv1.register_forward_hook(count)
    x = torch.randn(2, 3, 32, 32)
    model(x).sum().backward()
    assert calls == 1
    model.set_grad_checkpointing(True)
    model(x).sum().backward()
    assert calls == 3  # forward, then the recomputation in backward


# TorchScript and FX on a representative set (the full zoo adds minutes, not coverage).
@pytest.mark.parametrize("name", ["scalenet_resnet18", "resnet20_cifar", "simple_cnn_cifar"])
def test_features_only_out_indices(name: str) -> None:
    # Every level on every path, over every name, is in test_timm_interface.py.
    net = timm.create_model(name, features_only=True)
    levels = len(net.feature_info.channels())
    assert levels == {"scalenet_resnet18": 5, "resnet20_cifar": 4, "simple_cnn_cifar": 3}[name]
    last_two = timm.create_model(name, features_only=True, out_indices=(levels - 2, levels - 1))
    assert last_two.feature_info.channels() == net.feature_info.channels()[-2:]
    size = scalenet.get_config(name).input_size
    assert len(last_two(torch.randn(1, 3, size, size))) == 2


@pytest.mark.parametrize("entry_point", ["timm", "scalenet"])
def test_in_chans_and_num_classes_overrides(entry_point: str) -> None:
    for short in ("resnet18", "resnet20_cifar", "simple_cnn_cifar"):
        entry = scalenet.get_entry(short)
        if entry_point == "timm":
            model = timm.create_model(entry.timm_name, in_chans=1, num_classes=5)
        else:
            model = scalenet.create(short, in_chans=1, num_classes=5)
        size = entry.config.input_size
        assert model(torch.randn(2, 1, size, size)).shape == (2, 5)
        first = dict(model.named_modules())[entry.first_conv]
        assert isinstance(first, nn.Conv2d)
        assert first.in_channels == 1


def test_generic_architecture_takes_every_config_field() -> None:
    cfg = scalenet.ResNetConfig(
        depths=(1, 2, 1), width=12, stem="cifar", block="bottleneck", downsample="pad",
        num_classes=7, input_size=24,
    )  # fmt: skip
    model = timm.create_model(CUSTOM_ARCHITECTURE, **cfg.to_dict())
    assert model.config == cfg
    assert model(torch.randn(1, 3, 24, 24)).shape == (1, 7)
    # Without a family it starts from ResNetConfig() (the documented default).
    assert timm.create_model(CUSTOM_ARCHITECTURE, width=8).config == scalenet.ResNetConfig(width=8)
    with pytest.raises(scalenet.ConfigError, match="family"):
        timm.create_model(CUSTOM_ARCHITECTURE, family="vgg")


def test_timm_kwargs() -> None:
    model = timm.create_model("scalenet_w48", drop_rate=0.25, num_classes=3)
    assert model.config.dropout == 0.25
    assert isinstance(model.drop, nn.Dropout)
    # timm's other regularisers scalenet does not implement are errors, not ignored.
    with pytest.raises(scalenet.ConfigError, match="drop_block_rate"):
        timm.create_model("scalenet_w48", drop_block_rate=0.1)
    # Stochastic depth is a config field (tests/nn/test_drop_path.py); a SimpleCNN has no
    # residual branches to drop.
    assert timm.create_model("scalenet_w48", drop_path_rate=0.1).config.drop_path_rate == 0.1
    with pytest.raises(scalenet.ConfigError, match="drop_path_rate"):
        timm.create_model("simple_cnn_cifar", drop_path_rate=0.1)
    fixed = timm.create_model("simple_cnn6_k5", img_size=508)
    assert fixed.config.input_size == 508
    with pytest.raises(scalenet.ShapeError, match="444 or 508"):
        timm.create_model("simple_cnn6_k5", img_size=450)


def test_group_matcher_covers_every_parameter() -> None:
    from timm.models import group_parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("scalenet_resnet18", "resnet20_cifar", "simple_cnn6_k5"):
            model = timm.create_model(name)
            groups = group_parameters(model, model.group_matcher(coarse=False))
            grouped = {p for params in groups.values() for p in params}
            assert grouped == {n for n, _ in model.named_parameters()}
            assert len(groups) > 3


def test_features_only_and_img_size_follow_overridden_fields() -> None:
    # The feature levels come from the config actually built, not the zoo entry's.
    model = timm.create_model("resnet20_cifar", features_only=True, depths=(3, 3))
    shapes = [f.shape for f in model(torch.randn(1, 3, 32, 32))]
    assert shapes == [(1, 16, 32, 32), (1, 16, 32, 32), (1, 32, 16, 16)]
    cnn = timm.create_model("simple_cnn_cifar", features_only=True, channels=(8, 16))
    assert [f.shape for f in cnn(torch.randn(1, 3, 32, 32))] == [(1, 8, 16, 16), (1, 16, 8, 8)]
    custom = timm.create_model(
        "scalenet_custom", family="resnet", depths=[1, 1], width=8, stem="cifar", img_size=16
    )
    assert custom.config.input_size == 16


def test_registry_file_is_what_the_zoo_and_catalogue_compute() -> None:
    """timm_registry.json, which `import timm` registers from, is the zoo's and the weights
    catalogue's: rewrite it with `python -m scalenet.integrations.timm_build` after changing
    either."""
    computed = registry()
    stale = "stale: python -m scalenet.integrations.timm_build rewrites it"
    assert read_registry() == computed, stale
    assert REGISTRY_FILE.read_text(encoding="utf-8") == to_json(computed)  # as written
    # What timm holds is that data: every name.tag's cfg, the default tag first.
    for name, model in computed.items():
        assert timm.models.get_pretrained_cfg(name) is not None, name
        for key, cfg in model["cfgs"].items():
            held = timm.models.get_pretrained_cfg(key)
            assert {k: getattr(held, k) for k in cfg} == cfg, key
        first = next(iter(model["cfgs"]))
        assert timm.models.get_pretrained_cfg(name).tag == (first.partition(".")[2] or None)
    # One cfg per published weight, in the catalogue's order (default first); else the name.
    for e in ENTRIES:
        tagged = [f"{e.timm_name}.{w.tag}" for w in e.weights]
        assert list(computed[e.timm_name]["cfgs"]) == (tagged or [e.timm_name])
    assert list(computed) == [*NAMES, CUSTOM_ARCHITECTURE]

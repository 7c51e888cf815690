"""Stochastic depth (``drop_path_rate``): timm's per-block rates, timm's ``DropPath`` on each
residual branch, nothing in eval mode, and every way out (TorchScript, ONNX) as without it.

The truth: timm's own ResNet and ResNetV2 built with the same ``drop_path_rate`` (their
blocks' ``DropPath`` rates), and the same network built without it (its outputs in eval
mode, with the same weights).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import timm
import torch
from timm.layers import DropPath

import scalenet
from onnx_runs import assert_same_logits, export, randomize_batchnorm
from scalenet import ConfigError


def block_rates(model: torch.nn.Module, prefix: str = "layer") -> list[float]:
    """The DropPath rate of each residual block, in order (0 for a block without one)."""
    rates = []
    for name, module in model.named_modules():
        parts = name.split(".")
        is_block = (len(parts) == 2 and parts[0].startswith("layer")) or (
            len(parts) == 4 and parts[0] == "stages" and parts[2] == "blocks"
        )
        if is_block and name.startswith(prefix):
            path = getattr(module, "drop_path", None)
            rates.append(path.drop_prob if isinstance(path, DropPath) else 0.0)
    return rates


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("resnet18", "resnet18"),
        ("resnet50", "resnet50"),
        ("resnet34d", "resnet34d"),
        ("resnetv2_50", "resnetv2_50"),
    ],
)
def test_each_blocks_rate_is_timms(ours: str, theirs: str) -> None:
    with torch.device("meta"):
        reference = timm.create_model(theirs, drop_path_rate=0.1)
        model = scalenet.create(ours, drop_path_rate=0.1)
    expected = block_rates(reference, "stages" if theirs.startswith("resnetv2") else "layer")
    assert len(expected) == sum(model.config.depths)
    assert block_rates(model) == pytest.approx(expected, rel=1e-6)  # timm's: float32
    assert expected[0] == 0.0
    assert expected[-1] == pytest.approx(0.1)


def test_timms_keyword_and_train_script_switch_build_it() -> None:
    """timm's train.py passes ``drop_path_rate=args.drop_path`` (None when not given)."""
    model = timm.create_model("resnet20_cifar", drop_path_rate=0.05, drop_block_rate=None)
    assert model.config.drop_path_rate == 0.05
    assert block_rates(model)[-1] == pytest.approx(0.05)
    assert timm.create_model("resnet20_cifar", drop_path_rate=None).config.drop_path_rate == 0.0


@pytest.mark.parametrize("name", ["resnet20_cifar", "preresnet20_cifar", "resnet26d"])
def test_eval_output_is_the_networks_without_it_and_training_is_stochastic(name: str) -> None:
    size = 32 if "cifar" in name else 64
    plain = scalenet.create(name, input_size=size)
    dropped = scalenet.create(name, input_size=size, drop_path_rate=0.3)
    dropped.load_state_dict(plain.state_dict())  # DropPath holds no weights: the same keys
    x = torch.randn(8, 3, size, size)
    with torch.no_grad():
        assert torch.equal(dropped.eval()(x), plain.eval()(x))
        # In training mode (BatchNorm on batch statistics) the plain network is deterministic
        # and the dropped one draws new paths each pass.
        a, b = copy.deepcopy(plain).train(), copy.deepcopy(dropped).train()
        assert torch.equal(a(x), a(x))
        assert not torch.equal(b(x), b(x))


def test_a_dropped_branch_is_skipped_and_kept_ones_are_scaled() -> None:
    """One block, its branch dropped for some samples (the output is the shortcut alone) and
    kept, divided by the keep probability, for the others: timm's ``drop_path``."""
    torch.manual_seed(0)
    model = scalenet.resnet(
        depths=(2,), width=4, stem="cifar", input_size=8, drop_path_rate=0.5, num_classes=2
    )
    block = model.layer1[1]  # rate 0.5 (the first block's is 0)
    assert block.drop_path.drop_prob == 0.5
    block.train()
    x = torch.randn(64, 4, 8, 8)
    with torch.no_grad():
        branch = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
        out = block(x)
    skipped = torch.isclose(out, torch.relu(x)).flatten(1).all(1)
    kept = torch.isclose(out, torch.relu(x + branch / 0.5), atol=1e-6).flatten(1).all(1)
    assert bool((skipped | kept).all())
    assert 16 < int(skipped.sum()) < 48  # about half of 64


def test_torchscript_and_onnx_run_as_without_it(tmp_path: Path) -> None:
    model = randomize_batchnorm(
        scalenet.resnet(depths=(1, 2), width=8, stem="cifar", input_size=16, drop_path_rate=0.2)
    )
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(torch.jit.script(model)(x), model(x))
    session = export(model, tmp_path / "m.onnx", {0: "batch"}, optimize=False)
    assert_same_logits(session, model, 16, batches=(1, 3))


def test_a_plain_network_and_a_bad_rate_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"drop_path_rate=0\.1 is not allowed: 0 with shortcut"):
        scalenet.resnet(depth=20, stem="cifar", shortcut=False, drop_path_rate=0.1)
    with pytest.raises(ConfigError, match=r"drop_path_rate=1 is not allowed: a number in \[0, 1\)"):
        scalenet.create("resnet20_cifar", drop_path_rate=1)
    # A saved config keeps the field only when set (configs saved before it load unchanged).
    assert "drop_path_rate" not in scalenet.get_config("resnet20_cifar").to_dict()
    cfg = scalenet.get_config("resnet20_cifar").replace(drop_path_rate=0.1)
    assert scalenet.config_from_dict(cfg.to_dict()) == cfg

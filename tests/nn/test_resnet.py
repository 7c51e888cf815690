"""ResNets against torchvision (keys, shapes, weights, logits) and published parameter counts."""

from __future__ import annotations

import pytest
import torch
import torchvision

import scalenet
from helpers import count_params

TV_LAYOUTS = {
    "resnet18": ((2, 2, 2, 2), "basic"),
    "resnet34": ((3, 4, 6, 3), "basic"),
    "resnet50": ((3, 4, 6, 3), "bottleneck"),
    "resnet101": ((3, 4, 23, 3), "bottleneck"),
    "resnet152": ((3, 8, 36, 3), "bottleneck"),
}


@pytest.mark.parametrize("name", list(TV_LAYOUTS))
def test_state_dict_keys_and_shapes_match_torchvision(name: str) -> None:
    depths, block = TV_LAYOUTS[name]
    with torch.device("meta"):
        ours = scalenet.resnet(depths=depths, width=64, stem="imagenet", block=block)
        ref = getattr(torchvision.models, name)(weights=None)
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)
    assert {k: v.shape for k, v in ours_sd.items()} == {k: v.shape for k, v in ref_sd.items()}
    assert count_params(ours) == count_params(ref)


@pytest.mark.parametrize(("name", "expected"), [("resnet18", 11_689_512), ("resnet50", 25_557_032)])
def test_published_imagenet_param_counts(name: str, expected: int) -> None:
    depths, block = TV_LAYOUTS[name]
    with torch.device("meta"):
        model = scalenet.resnet(depths=depths, block=block)
    assert count_params(model) == expected


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_torchvision_weights_load_strict_and_give_same_logits(name: str) -> None:
    depths, block = TV_LAYOUTS[name]
    ref = getattr(torchvision.models, name)(weights=None)
    # Non-trivial BN statistics, so that a mislaid running_mean would show in the logits.
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    ours = scalenet.resnet(depths=depths, block=block)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), ref.eval()(x), rtol=1e-4, atol=1e-5)
    # Training mode too: same batch statistics, same graph.
    ours.train()
    ref.train()
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


def test_resnet18_layout_with_10_classes() -> None:
    model = scalenet.resnet(depths=(2, 2, 2, 2), width=64, stem="imagenet", num_classes=10)
    # 11,689,512 (torchvision's resnet18) - 513,000 (1000-class fc) + 5,130 (10-class fc)
    assert count_params(model) == 11_181_642
    assert count_params(torchvision.models.resnet18(num_classes=10)) == 11_181_642


# Published counts: option A (pad) as in He et al. 2016 re-implementations, option B (projection)
# as in the pytorch-cifar-models / timm-style zoos.
CIFAR_COUNTS = {
    20: (269_722, 272_474),
    56: (853_018, 855_770),
    110: (1_727_962, 1_730_714),
    1202: (19_421_274, 19_424_026),
}


@pytest.mark.parametrize("depth", list(CIFAR_COUNTS))
def test_cifar_resnet_param_counts(depth: int) -> None:
    n = (depth - 2) // 6
    pad, projection = CIFAR_COUNTS[depth]
    with torch.device("meta"):
        a = scalenet.resnet(depths=(n, n, n), width=16, stem="cifar", downsample="pad")
        b = scalenet.resnet(depths=(n, n, n), width=16, stem="cifar", downsample="projection")
        plain = scalenet.resnet(depths=(n, n, n), width=16, stem="cifar", shortcut=False)
    assert (count_params(a), count_params(b)) == (pad, projection)
    assert count_params(plain) == pad
    # 6n + 2 weighted layers: convs on the main path plus the classifier.
    main_convs = [
        m
        for name, m in a.named_modules()
        if isinstance(m, torch.nn.Conv2d) and "downsample" not in name
    ]
    assert len(main_convs) + 1 == depth


def test_option_a_shortcut_is_strided_identity_with_zero_channels() -> None:
    # Hand-derived: for a block 16 -> 32 channels at stride 2, option A gives x[:, :, ::2, ::2]
    # with 8 zero channels before and after.
    shortcut = scalenet.nn.layers.PadShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 8, 8)
    y = shortcut(x)
    assert y.shape == (2, 32, 4, 4)
    torch.testing.assert_close(y[:, 8:24], x[:, :, ::2, ::2])
    assert not y[:, :8].any()
    assert not y[:, 24:].any()
    assert list(shortcut.parameters()) == []


def test_plain_network_has_no_identity_path() -> None:
    # With shortcut=False, zeroing the last BN of a block zeroes that block's output
    # (ReLU(0) = 0); with a shortcut the identity would pass through.
    plain = scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar", shortcut=False).eval()
    res = scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar", downsample="pad").eval()
    x = torch.randn(1, 4, 8, 8).abs()
    for model in (plain, res):
        torch.nn.init.zeros_(model.layer1[0].bn2.weight)
        torch.nn.init.zeros_(model.layer1[0].bn2.bias)
    with torch.no_grad():
        assert not plain.layer1(x).any()
        torch.testing.assert_close(res.layer1(x), x)


@pytest.mark.parametrize("block", ["basic", "bottleneck"])
def test_zero_init_residual_matches_torchvision(block: str) -> None:
    ours = scalenet.resnet(depths=(2, 1, 1, 1), block=block, zero_init_residual=True)
    tv_block = (
        torchvision.models.resnet.BasicBlock
        if block == "basic"
        else (torchvision.models.resnet.Bottleneck)
    )
    ref = torchvision.models.resnet.ResNet(tv_block, [2, 1, 1, 1], zero_init_residual=True)

    def zeroed(model: torch.nn.Module) -> set[str]:
        return {
            name
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.BatchNorm2d) and not m.weight.any()
        }

    assert zeroed(ours) == zeroed(ref)
    assert len(zeroed(ref)) == 5  # the last BN of each of the 5 blocks


@pytest.mark.parametrize("stages", [1, 2, 5])
def test_any_number_of_stages(stages: int) -> None:
    model = scalenet.resnet(depths=(1,) * stages, width=4, stem="cifar", num_classes=3)
    size = scalenet.min_input_size(model.config) * 2
    out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 3)
    assert model.fc.in_features == 4 * 2 ** (stages - 1)


def test_num_classes_zero_returns_pooled_features() -> None:
    model = scalenet.resnet(depths=(1, 1), width=8, stem="cifar", num_classes=0)
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 16)
    model.reset_classifier(5)
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 5)
    assert model.config.num_classes == 5


def test_builder_defaults_follow_the_stem() -> None:
    cifar = scalenet.resnet(depths=(1, 1, 1), width=4, stem="cifar")
    imagenet = scalenet.resnet(depths=(1, 1, 1, 1), width=4)
    assert (cifar.config.num_classes, cifar.config.input_size) == (10, 32)
    assert (imagenet.config.num_classes, imagenet.config.input_size) == (1000, 224)

"""timm's pre-activation ResNets (``resnetv2_*``) as scalenet's: the ``timm_resnetv2`` layouts
and their published weights.

The truth is timm's own ``ResNetV2``: its models with seeded weights (every BatchNorm off the
identity) in timm's names, converted by the layout, must compute timm's logits in scalenet's
model; a timm model published as timm publishes its Hub repositories
(``timm.models.save_for_hf``) on the session's local Hub server loads by its tag through
``scalenet.create`` and ``timm.create_model`` and computes what timm's model computes.
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path

import pytest
import timm
import torch
from torch import Tensor, nn

import scalenet
from hub_servers import HOST, HubServer, hf_hub_environment
from scalenet import WeightsError
from scalenet.weights import get_weights
from scalenet.weights.layouts import convert, from_timm_resnetv2

#: zoo name -> timm's model of that name; the ``d`` variants pool before the shortcut conv.
ARCHS = [
    "resnetv2_18",
    "resnetv2_18d",
    "resnetv2_34",
    "resnetv2_34d",
    "resnetv2_50",
    "resnetv2_101",
]
SIZE = 64  # input size: small, so resnetv2_101 runs in well under a second


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Seeded weights with every BatchNorm off the identity (a swapped or misplaced BN shows)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
            elif isinstance(m, nn.Conv2d) and m.bias is not None:  # timm's head: a 1x1 conv
                m.bias.normal_(0, 0.1)
    return model.eval()


def logits(model: nn.Module, x: Tensor) -> Tensor:
    with torch.no_grad():
        out: Tensor = model.eval()(x)
        return out


def assert_same_logits(got: Tensor, expected: Tensor) -> None:
    """timm's head is a 1x1 conv, scalenet's a linear layer: the same sums, rounded apart
    (relative to the logits' scale: an untrained deep net's reach the hundreds)."""
    scale = expected.abs().max().item()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * scale)


@functools.cache
def timm_model(arch: str) -> nn.Module:
    return randomise(timm.create_model(arch))


@pytest.mark.parametrize("arch", ARCHS)
def test_layout_turns_timms_model_into_scalenets(arch: str) -> None:
    """Every key of timm's model is mapped (none left, none missing, the shapes scalenet's),
    and scalenet's model with the converted weights computes timm's logits and features."""
    reference = timm_model(arch)
    weights = get_weights(arch)
    assert weights.layout == ("timm_resnetv2d" if arch.endswith("d") else "timm_resnetv2")
    state = convert(weights.layout, reference.state_dict())
    with torch.device("meta"):  # no initialisation for weights about to be replaced
        model = scalenet.create(arch).eval()
    assert {k: v.shape for k, v in state.items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }
    model.load_state_dict(state, strict=True, assign=True)
    x = torch.randn(2, 3, SIZE, SIZE)
    expected = logits(reference, x)
    assert_same_logits(logits(model, x), expected)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), reference.forward_features(x))


def test_the_two_layouts_place_the_shortcut_conv_apart() -> None:
    """``timm_resnetv2d`` puts the shortcut conv behind the average pool (``downsample.1``):
    the plain layout's names do not fit a ``d`` model, nor the other way round."""
    plain, avg = timm_model("resnetv2_18").state_dict(), timm_model("resnetv2_18d").state_dict()
    key = "stages.1.blocks.0.downsample.conv.weight"
    assert "layer2.0.downsample.0.weight" in convert("timm_resnetv2", plain)
    assert "layer2.0.downsample.1.weight" in convert("timm_resnetv2d", avg)
    assert torch.equal(convert("timm_resnetv2d", avg)["layer2.0.downsample.1.weight"], avg[key])
    d_model = scalenet.create("resnetv2_18d")
    with pytest.raises(WeightsError, match=r"downsample\.1\.weight"):
        scalenet.load_weights(d_model, convert("timm_resnetv2", avg), adapt=False)


def test_a_key_the_layout_does_not_name_is_an_error_naming_it() -> None:
    state = dict(timm_model("resnetv2_18").state_dict())
    state["stages.0.blocks.0.se.fc1.weight"] = torch.zeros(4, 64, 1, 1)
    state["head.extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError) as caught:
        convert("timm_resnetv2", state, source="x.safetensors")
    message = str(caught.value)
    assert "x.safetensors: 2 key(s) that the timm_resnetv2 layout does not name" in message
    assert "stages.0.blocks.0.se.fc1.weight" in message
    assert "head.extra.weight" in message
    with pytest.raises(WeightsError, match=r"head\.fc\.weight has shape \(10, 512, 3, 3\)"):
        from_timm_resnetv2({"head.fc.weight": torch.zeros(10, 512, 3, 3)})
    # A head already linear stays as it is; BatchNorms without a count get PyTorch's 0.
    out = from_timm_resnetv2(
        {"head.fc.weight": torch.ones(10, 512), "norm.running_mean": torch.zeros(2)}
    )
    assert out["fc.weight"].shape == (10, 512)
    assert out["final_bn.num_batches_tracked"].item() == 0


def publish(hub_server: HubServer, arch_tag: str, reference: nn.Module, folder: Path) -> str:
    """``reference`` saved as timm saves its Hub repositories, served as ``timm/<arch_tag>``."""
    from timm.models._hub import save_for_hf

    weights = get_weights(arch_tag)
    assert isinstance(weights.file, scalenet.weights.HubFile)
    repo = weights.file.repo_id
    if not hub_server.mirrors.exists(repo):
        save_for_hf(reference, str(folder), safe_serialization=True)
        hub_server.create_repo(repo, {p.name: p.read_bytes() for p in folder.iterdir()})
    return repo


def test_a_resnetv2_tag_loads_by_name_as_timm_computes_it(
    hub_server: HubServer, tmp_path: Path
) -> None:
    """``resnetv2_50.a1h_in1k`` as timm publishes it (timm's names, a 1x1-conv head): scalenet
    and timm's scalenet registration load it by name and compute timm's logits, with the
    tag's preprocessing (timm's cfg: bicubic, crop 0.95, mean and std 0.5, tested at 288)."""
    reference = timm_model("resnetv2_50")
    repo = publish(hub_server, "resnetv2_50.a1h_in1k", reference, tmp_path / "repo")
    x = torch.randn(2, 3, SIZE, SIZE)
    with hf_hub_environment(hub_server.endpoint, tmp_path / "hf"):
        models = {
            "create": scalenet.create("resnetv2_50.a1h_in1k", pretrained=True),
            "timm": timm.create_model("scalenet_resnetv2_50.a1h_in1k", pretrained=True),
        }
    expected = logits(reference, x)
    for how, model in models.items():
        assert isinstance(model, scalenet.ScaleNetModel), how
        assert_same_logits(logits(model, x), expected)
        cfg = model.pretrained_cfg
        assert (cfg["tag"], cfg["hf_hub_id"], cfg["license"]) == ("a1h_in1k", repo, "apache-2.0")
        assert (cfg["interpolation"], cfg["crop_pct"]) == ("bicubic", 0.95), how
        assert tuple(cfg["mean"]) == tuple(cfg["std"]) == (0.5, 0.5, 0.5), how
        assert tuple(cfg["test_input_size"]) == (3, 288, 288), how
        assert cfg["weights_digest"] == models["create"].pretrained_cfg["weights_digest"], how


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    return f"http://{HOST}:{port}"


def test_without_the_hub_the_remedy_offered_loads_timms_file(tmp_path: Path) -> None:
    """The error for an unreachable Hub offers to load a local copy; for a file in timm's
    ResNetV2 names that copy must be converted, and the code the message gives does that."""
    from timm.models._hub import save_for_hf

    reference = timm_model("resnetv2_18")
    save_for_hf(reference, str(tmp_path / "copy"), safe_serialization=True)
    local = str(tmp_path / "copy" / "model.safetensors")
    x = torch.randn(1, 3, SIZE, SIZE)
    loaders = {
        "create": lambda: scalenet.create("resnetv2_18", pretrained=True),
        "timm": lambda: timm.create_model("scalenet_resnetv2_18", pretrained=True),
    }
    for how, load in loaders.items():
        with (
            hf_hub_environment(closed_port(), tmp_path / "hf"),
            pytest.raises(WeightsError) as caught,
        ):
            load()
        # One public call, the same through timm: the copy is read in timm's names and
        # converted, as a download is.
        code = str(caught.value).split("or load a copy you have: ")[1]
        assert code == (
            "scalenet.create('resnetv2_18.ra4_e3600_r224_in1k', pretrained=True, "
            "pretrained_cfg_overlay=dict(file='path/to/model.safetensors'))"
        ), how
        model = eval(code.replace("path/to/model.safetensors", local), {"scalenet": scalenet})
        assert_same_logits(logits(model, x), logits(reference, x))

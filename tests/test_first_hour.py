"""What a newcomer did in their first hour (issue "First hour, round 3"), each as a test of
what they expected. Rows covered elsewhere: the docs' install lines (tests/test_docs.py),
the data folder train.py asks for (tests/examples/test_examples_data.py), and the suite under
the user's PYTHONWARNINGS (tests/integrations/test_autoload.py's clean environment)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import scalenet
from hub_servers import hf_hub_environment
from scalenet import ConfigError
from scalenet.cli import main

#: Offline tests ask no Hub; an endpoint nothing listens on, should one ask.
NO_HUB = "http://127.0.0.1:9"


def test_an_unknown_model_says_so_and_where_to_look() -> None:
    """``scalenet.create("nope")`` was "name='nope' is not allowed: a model in
    scalenet.list_models()", a config field's grammar for a name."""
    with pytest.raises(ConfigError) as info:
        scalenet.create("nope")
    assert str(info.value) == (
        "unknown model 'nope': scalenet.list_models() lists the zoo's names "
        "(`scalenet list` in a shell)"
    )
    assert (info.value.field, info.value.value) == ("name", "nope")
    with pytest.raises(
        ConfigError, match=r"^unknown model 'resnet20': did you mean 'resnet20_cifar'"
    ):
        scalenet.create("resnet20")
    out = CliRunner().invoke(main, ["summary", "nope"])
    assert out.exit_code == 2
    assert "unknown model 'nope'" in out.output
    assert "scalenet list" in out.output
    # the remedy it names works as written
    listed = CliRunner().invoke(main, ["list"])
    assert listed.exit_code == 0
    assert "resnet20_cifar" in listed.output
    assert "resnet20_cifar" in scalenet.list_models()


def test_a_path_for_pretrained_is_refused_with_how_to_load_it(tmp_path: Path) -> None:
    """``pretrained="/path/model.safetensors"`` was taken as True (it downloaded akamaster's
    file); a string is not a bool: the error names the calls that load a file or a folder,
    and both work as written."""
    folder = scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "m")
    path = str(folder / "model.safetensors")
    with pytest.raises(
        ConfigError,
        match=r"pretrained='.*model\.safetensors' is not allowed: "
        r"True or False \(to load a file of weights: scalenet\.load_weights",
    ):
        scalenet.create("resnet20_cifar", pretrained=path)
    model = scalenet.create("resnet20_cifar")
    scalenet.load_weights(model, path)
    saved = scalenet.from_pretrained(folder)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), saved.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_an_offline_cluster_reads_its_file_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HF_HUB_OFFLINE=1 SCALENET_WEIGHTS_MIRROR=file:///mirror`` was refused ("HF_HUB_OFFLINE
    is set, so it is not downloaded"): a file:// mirror is local, read (and hash-checked) with
    the switch on; a network mirror still is not."""
    from scalenet.hub import urls
    from stand_in_weights import patch_record, publish_akamaster

    stand_in = publish_akamaster(tmp_path / "mirror", "resnet20_cifar.akamaster_cifar10")
    patch_record(monkeypatch, stand_in.weights)
    with hf_hub_environment(NO_HUB, tmp_path / "hf") as env:  # a cache of the test's own
        env.set_offline()
        monkeypatch.setenv(urls.MIRROR_ENV, "http://127.0.0.1:9/")  # a server: not offline
        with pytest.raises(scalenet.WeightsError, match="HF_HUB_OFFLINE is set"):
            scalenet.create("resnet20_cifar.akamaster_cifar10", pretrained=True)
        monkeypatch.setenv(urls.MIRROR_ENV, (tmp_path / "mirror").as_uri())
        model = scalenet.create("resnet20_cifar.akamaster_cifar10", pretrained=True).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), stand_in.reference(x), atol=1e-5)


def test_checkpoint_path_loads_as_timms_create_model_does(tmp_path: Path) -> None:
    """``create(name, checkpoint_path=...)``, timm's argument, was "checkpoint_path=... is not
    allowed: a field of ResNetConfig". A training checkpoint (DDP prefixes, an EMA beside the
    weights) and a safetensors file load as ``timm.create_model(..., checkpoint_path=...)``
    loads them."""
    import safetensors.torch
    import timm

    torch.manual_seed(1)
    raw, ema = scalenet.create("resnet20_cifar"), scalenet.create("resnet20_cifar")
    wrapped = {
        "epoch": 3,
        "state_dict": {f"module.{k}": v for k, v in raw.state_dict().items()},
        "state_dict_ema": ema.state_dict(),
    }
    torch.save(wrapped, tmp_path / "checkpoint.pth.tar")
    safetensors.torch.save_file(raw.state_dict(), tmp_path / "weights.safetensors")
    for file, expected in (("checkpoint.pth.tar", ema), ("weights.safetensors", raw)):
        ours = scalenet.create("resnet20_cifar", checkpoint_path=tmp_path / file)
        theirs = timm.create_model("resnet20_cifar", checkpoint_path=str(tmp_path / file))
        for key, value in expected.state_dict().items():
            assert torch.equal(ours.state_dict()[key], value), (file, key)
            assert torch.equal(theirs.state_dict()[key], value), (file, key)
    # Pickles are read weights-only; a missing file fails before anything is built.
    torch.save({"state_dict": {"x": Path("evil")}}, tmp_path / "pickled.pth")
    with pytest.raises(scalenet.WeightsError, match="not a checkpoint timm's load_checkpoint"):
        scalenet.create("resnet20_cifar", checkpoint_path=tmp_path / "pickled.pth")
    with pytest.raises(scalenet.WeightsError, match=r"checkpoint_path='.*nope\.pth': no such file"):
        scalenet.create("resnet20_cifar", checkpoint_path=tmp_path / "nope.pth")
    wrong = tmp_path / "resnet32.safetensors"
    safetensors.torch.save_file(scalenet.create("resnet32_cifar").state_dict(), wrong)
    with pytest.raises(scalenet.WeightsError, match=r"checkpoint_path=.*layer1\.3"):
        scalenet.create("resnet20_cifar", checkpoint_path=wrong)


def test_a_published_file_you_already_have_loads_checked_and_converted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """akamaster's ``resnet20-12fca82f.th`` on disk, offline: ``load_weights`` said "unknown
    weights format '.th'" and nothing more. The error names the two ways, and both work: the
    file is checked against the source's hash and converted from akamaster's names."""
    from stand_in_weights import patch_record, publish_akamaster

    name = "resnet20_cifar.akamaster_cifar10"
    stand_in = publish_akamaster(tmp_path / "mirror", name)
    patch_record(monkeypatch, stand_in.weights)  # the stand-in's hash in the record
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    stack.enter_context(hf_hub_environment(NO_HUB, tmp_path / "hf")).set_offline()  # own cache
    path = str(stand_in.path)
    assert path.endswith("resnet20-12fca82f.th")
    with pytest.raises(scalenet.WeightsError) as info:
        scalenet.load_weights(scalenet.create("resnet20_cifar"), path)
    message = str(info.value)
    assert "unknown weights format '.th'" in message
    assert "pretrained_cfg_overlay=dict(file=path)" in message
    assert "scalenet convert arch.tag DIR --file path" in message
    x = torch.randn(2, 3, 32, 32)
    model = scalenet.create(name, pretrained=True, pretrained_cfg_overlay={"file": path}).eval()
    with torch.no_grad():
        assert torch.allclose(model(x), stand_in.reference(x), atol=1e-5)
    out = CliRunner().invoke(main, ["convert", name, str(tmp_path / "folder"), "--file", path])
    assert out.exit_code == 0, out.output
    with torch.no_grad():
        converted = scalenet.from_pretrained(tmp_path / "folder").eval()
        assert torch.allclose(converted(x), stand_in.reference(x), atol=1e-5)
    # Another file under that name is refused, naming both hashes; nothing is written.
    other = tmp_path / "resnet20-12fca82f.th"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(
        scalenet.WeightsError, match=r"is not https://github\.com/akamaster.*its sha256 is"
    ):
        scalenet.create(name, pretrained=True, pretrained_cfg_overlay={"file": str(other)})
    out = CliRunner().invoke(main, ["convert", name, str(tmp_path / "f2"), "--file", str(other)])
    assert out.exit_code == 1
    assert not (tmp_path / "f2").exists()
    with pytest.raises(ConfigError, match=r"pretrained_cfg_overlay=\['url'\] is not allowed"):
        scalenet.create(name, pretrained=True, pretrained_cfg_overlay={"url": "x"})


def test_weights_you_trained_get_no_licence_unless_you_give_one(tmp_path: Path) -> None:
    """``save_pretrained`` of the user's own model wrote ``license: apache-2.0`` into its card:
    scalenet licensed their weights for them. Now a licence is the user's to give
    (``license=``), recorded in config.json so that a reload saves it again; timm's registry
    gives a name without weights none (as timm's own cfgs do); published weights keep their
    source's (akamaster's repository is BSD-2-Clause, its LICENSE file)."""
    import timm
    from huggingface_hub import ModelCard

    def card_licence(folder: Path) -> object:
        return ModelCard.load(folder / "README.md").data.license

    model = scalenet.create("resnet20_cifar")
    assert "license" not in model.pretrained_cfg
    assert timm.models.get_pretrained_cfg("resnet20_cifar").license == "bsd-2-clause"
    assert timm.models.get_pretrained_cfg("scalenet_w80").license is None  # no weights
    assert timm.create_model("resnet20_cifar").pretrained_cfg.get("license") is None
    mine = model.save_pretrained(tmp_path / "mine")
    assert card_licence(mine) is None
    assert "license" not in json.loads((mine / "config.json").read_text())["pretrained_cfg"]
    given = model.save_pretrained(tmp_path / "given", license="mit")
    assert card_licence(given) == "mit"
    again = scalenet.from_pretrained(given).save_pretrained(tmp_path / "again")
    assert card_licence(again) == "mit"
    for bad in ("", "mit\nlicense: apache-2.0", 3):
        with pytest.raises(ConfigError, match=r"^license=.* is not allowed: a licence id"):
            model.save_pretrained(tmp_path / "bad", license=bad)
    assert not (tmp_path / "bad").exists()

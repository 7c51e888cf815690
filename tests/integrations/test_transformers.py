"""transformers loads what scalenet writes (docs/transformers.md): a ``save_pretrained``
folder, or a repository pushed to the (local) Hub, opens with ``AutoModelForImageClassification``
and ``AutoImageProcessor`` through transformers' timm wrapper, computes scalenet's logits, and
its image-classification pipeline answers with the data set's class names.

The truth each test holds transformers to is independent of it: the model scalenet built (its
logits on the same tensor), timm's own preprocessing of the model's data config (the same
image in, the same tensor out), and the class names as the data sets' releases give them
(written out here, not read from scalenet).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import timm
import torch
from PIL import Image

import scalenet
from hub_servers import HfEnv, PushServer
from scalenet import ConfigError

#: CIFAR-10's classes, from the release's batches.meta (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(scope="module")
def transformers() -> Any:
    """transformers, imported for this module only (it costs seconds to import)."""
    import transformers

    transformers.logging.set_verbosity_error()  # its notes on backends, not failures
    return transformers


def image(size: int, seed: int) -> Image.Image:
    """A random RGB image, larger than the model's input (the processor resizes and crops)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size + 8, size + 13, 3), np.uint8)
    return Image.fromarray(pixels)


def check_loads_in_transformers(
    transformers: Any, model: scalenet.ScaleNetModel, where: str, names: list[str]
) -> None:
    """``where`` (a folder or a Hub repo id) opens in transformers as ``model``: same logits on
    the same tensor, the processor's tensor timm's, and the pipeline's labels ``names``."""
    model.eval()
    loaded = transformers.AutoModelForImageClassification.from_pretrained(where).eval()
    assert type(loaded).__name__ == "TimmWrapperForImageClassification"
    assert loaded.config.id2label == dict(enumerate(names))
    size = model.config.input_size
    x = torch.randn(2, model.config.in_chans, size, size)
    with torch.no_grad():
        assert torch.equal(loaded(pixel_values=x).logits, model(x))

    processor = transformers.AutoImageProcessor.from_pretrained(where)
    picture = image(size, seed=size)
    pixels = processor(picture)["pixel_values"]
    transform = timm.data.create_transform(
        **timm.data.resolve_data_config({}, model=model), is_training=False
    )
    assert torch.equal(pixels, transform(picture).unsqueeze(0))

    pipe = transformers.pipeline("image-classification", model=where)
    answer = pipe(picture, top_k=len(names))
    assert len(answer) == len(names)
    with torch.no_grad():
        logits = model(pixels)[0]
    assert answer[0]["label"] == names[int(logits.argmax())]
    assert {a["label"] for a in answer} == set(names)


@pytest.mark.parametrize(
    "name", ["resnet20_cifar", "simple_cnn_cifar", "resnet18"], ids=["cifar", "simple", "imagenet"]
)
def test_a_saved_folder_loads_in_transformers(transformers: Any, name: str, tmp_path: Path) -> None:
    model = scalenet.create(name)
    model.save_pretrained(tmp_path / name)
    names = CIFAR10 if "cifar" in name else timm.data.ImageNetInfo().label_names()
    check_loads_in_transformers(transformers, model, str(tmp_path / name), list(names))


def test_a_pushed_repository_loads_in_transformers(
    transformers: Any, hf_env: HfEnv, push_server: PushServer
) -> None:
    hf_env.set_endpoint(push_server.endpoint)
    model = scalenet.create("resnet20_cifar")
    repo = "test-org/transformers-resnet20"
    model.push_to_hub(repo)
    check_loads_in_transformers(transformers, model, repo, CIFAR10)


def test_published_weights_converted_keep_their_data_sets_classes(tmp_path: Path) -> None:
    """A folder of published weights (as ``scalenet convert`` writes: their model and card)
    names the classes of the data set the weights were trained on."""
    for name, dataset in (
        ("resnet56_cifar_proj.pytorchcv_cifar100", "cifar100"),
        ("resnet20_cifar_proj.pytorchcv_svhn", "svhn"),
    ):
        model = scalenet.create(name)  # the weights' layout, random values: no download
        folder = model.save_pretrained(tmp_path / dataset)
        saved = json.loads((folder / "config.json").read_text())
        if dataset == "svhn":  # torchvision's SVHN: digit d is class d (the release's 10 is 0)
            assert saved["label_names"] == [str(d) for d in range(10)]
        else:  # the release's meta file lists the 100 fine labels in alphabetical order
            names = saved["label_names"]
            assert len(names) == len(set(names)) == 100
            assert names == sorted(names)
            assert names[:4] == ["apple", "aquarium_fish", "baby", "bear"]
            assert names[-3:] == ["wolf", "woman", "worm"]


def test_user_class_names_reach_the_pipeline(transformers: Any, tmp_path: Path) -> None:
    names = ["cat", "dog", "bird"]
    model = scalenet.create("resnet20_cifar", num_classes=3, label_names=names)
    assert model.pretrained_cfg["label_names"] == names
    check_loads_in_transformers(
        transformers, model, str(model.save_pretrained(tmp_path / "a")), names
    )
    # save_pretrained's own argument wins over the model's
    other = ["x", "y", "z"]
    model.save_pretrained(tmp_path / "b", label_names=other)
    assert json.loads((tmp_path / "b" / "config.json").read_text())["label_names"] == other
    assert scalenet.from_pretrained(tmp_path / "b").pretrained_cfg["label_names"] == other


def test_a_new_head_carries_no_class_names(transformers: Any, tmp_path: Path) -> None:
    """CIFAR-10's names do not name the classes of a 5-class head: none are written, and
    transformers falls back to its generic LABEL_i."""
    model = scalenet.create("resnet20_cifar", num_classes=5)
    assert "label_names" not in model.pretrained_cfg
    folder = model.save_pretrained(tmp_path / "five")
    assert "label_names" not in json.loads((folder / "config.json").read_text())
    loaded = transformers.AutoModelForImageClassification.from_pretrained(str(folder))
    assert loaded.config.id2label == {i: f"LABEL_{i}" for i in range(5)}
    # A loaded model given a new head drops the saved names as well.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the classifier was re-initialised"
        again = scalenet.from_pretrained(
            scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "ten"), num_classes=4
        )
    assert "label_names" not in again.pretrained_cfg


@pytest.mark.parametrize(
    ("names", "says"),
    [
        (["a", "b"], r"label_names=\['a', 'b'\] is not allowed: 3 names, one per class \(got 2\)"),
        (["a", "b", "a"], r"one unique name per class \('a' is given twice\)"),
        (["a", "", "c"], r"non-empty strings \(got ''\)"),
        (["a", "b", 3], r"non-empty strings \(got 3\)"),
        ("abc", r"a list of 3 class names"),
    ],
)
def test_bad_class_names_are_refused_before_anything_is_written(
    names: Any, says: str, tmp_path: Path, hf_env: HfEnv, push_server: PushServer
) -> None:
    with pytest.raises(ConfigError, match=says):
        scalenet.create("resnet20_cifar", num_classes=3, label_names=names)
    model = scalenet.create("resnet20_cifar", num_classes=3)
    with pytest.raises(ConfigError, match=says):
        model.save_pretrained(tmp_path / "m", label_names=names)
    assert not (tmp_path / "m").exists()
    hf_env.set_endpoint(push_server.endpoint)
    with pytest.raises(ConfigError, match=says):
        model.push_to_hub("test-org/bad-names", label_names=names)
    assert not push_server.requests

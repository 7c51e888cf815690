"""What ``load_weights`` cannot load is a ``WeightsError`` naming the key, the shapes and what
can be adapted (issue "Reliability round 3", row 4), and a warning says only what was done.
The adaptable first convs are timm's (``adapt_input_conv``): from 3 channels to any other
number; the others made timm raise AssertionError or NotImplementedError, return a weight of
the wrong size (6 to 1 gives 2 channels), or torch a size mismatch after a false "adapted"
warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

import scalenet
from scalenet import ConfigError, WeightsError


def state(in_chans: int = 3) -> dict[str, torch.Tensor]:
    return dict(scalenet.create("resnet20_cifar", in_chans=in_chans).state_dict())


def test_a_classifier_weight_that_is_no_matrix_names_the_key_and_shapes() -> None:
    model = scalenet.create("resnet20_cifar")
    with pytest.raises(
        WeightsError,
        match=r"fc\.weight has shape \(\) in the checkpoint, the "
        r"model's \(10, 64\): a classifier's weight is \(classes, features\)",
    ):
        scalenet.load_weights(model, {**state(), "fc.weight": torch.tensor(0.0)})


@pytest.mark.parametrize(("saved", "model_in"), [(2, 3), (4, 3), (4, 1), (2, 5), (1, 3), (6, 1)])
def test_a_first_conv_timm_cannot_adapt_is_an_error_and_no_warning(
    saved: int, model_in: int
) -> None:
    model = scalenet.create("resnet20_cifar", in_chans=model_in)
    before = model.conv1.weight.clone()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "adapted" warning for what was not done
        with pytest.raises(
            WeightsError,
            match=rf"conv1\.weight: the checkpoint's first conv takes {saved} input channels "
            rf"\(16, {saved}, 3, 3\), the model's {model_in} .*from 3 \(RGB\) to any other number",
        ):
            scalenet.load_weights(model, state(saved))
    assert torch.equal(model.conv1.weight, before)  # nothing loaded


@pytest.mark.parametrize(("saved", "model_in"), [(3, 1), (3, 4), (3, 2)])
def test_what_timm_adapts_loads_with_a_warning(saved: int, model_in: int) -> None:
    model = scalenet.create("resnet20_cifar", in_chans=model_in)
    with pytest.warns(UserWarning, match=f"adapted from {saved} to {model_in} input channels"):
        scalenet.load_weights(model, state(saved))


def test_a_source_of_another_type_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"^source=None is not allowed: a path .* or a state dict"):
        scalenet.load_weights(scalenet.create("resnet20_cifar"), None)  # type: ignore[arg-type]


def test_from_pretrained_refuses_an_in_chans_timm_cannot_adapt_before_reading(
    tmp_path: Path,
) -> None:
    folder = scalenet.create("resnet20_cifar", in_chans=4).save_pretrained(tmp_path / "m")
    with pytest.raises(ConfigError, match=r"in_chans=1 is not allowed: .*the saved model takes 4"):
        scalenet.from_pretrained(folder, in_chans=1)
    rgb = scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "rgb")
    with pytest.warns(UserWarning, match="adapted from 3 to 1"):
        assert scalenet.from_pretrained(rgb, in_chans=1).conv1.in_channels == 1

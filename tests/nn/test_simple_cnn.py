"""The zoo's simple CNNs: parameter counts and first-linear sizes derived by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import scalenet
from helpers import count_params


class HandWrittenCNN(nn.Module):
    """The 3-block CIFAR CNN (simple_cnn_cifar), written out by hand as users write it today."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(128 * 4 * 4, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return out


def test_simple_cnn_cifar_parameter_count_and_outputs_match_hand_written() -> None:
    model = scalenet.simple_cnn((32, 64, 128), kernel_size=3, padding=1, dropout=0.5)
    ref = HandWrittenCNN()
    assert count_params(model) == count_params(ref) == 114_186
    # Same parameters in the same order: copying them over gives the same function.
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters(), strict=True):
            p.copy_(q)
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(model.eval()(x), ref.eval()(x))


def test_six_block_444px_cnn_first_linear_input() -> None:
    model = scalenet.simple_cnn(
        (8, 16, 32, 64, 128, 256), kernel_size=5, padding=0,
        hidden=(1000, 500, 100), num_classes=2, input_size=444,
    )  # fmt: skip
    assert model.hidden[0].fc.in_features == 2304  # 3 * 3 * 256
    assert [h.fc.out_features for h in model.hidden] == [1000, 500, 100]
    assert model.fc.in_features == 100
    assert model(torch.randn(1, 3, 444, 444)).shape == (1, 2)


def test_tied_to_its_input_size_without_global_pool() -> None:
    model = scalenet.simple_cnn((4, 8), input_size=16)
    with pytest.raises(scalenet.ShapeError, match=r"built for 16x16.*got 32x32"):
        model(torch.randn(1, 3, 32, 32))
    with pytest.raises(scalenet.ShapeError, match=r"expected 3 input channels, got 1"):
        model(torch.randn(1, 1, 16, 16))


def test_global_pool_frees_the_input_size() -> None:
    model = scalenet.simple_cnn((4, 8), input_size=16, global_pool=True, num_classes=3)
    assert model.num_features == 8
    for size in (4, 16, 40):
        assert model(torch.randn(2, 3, size, size)).shape == (2, 3)
    with pytest.raises(scalenet.ShapeError, match=r"too small.*at least 4x4"):
        model(torch.randn(2, 3, 3, 3))


def test_map_that_vanishes_names_block_and_smallest_size() -> None:
    with pytest.raises(scalenet.ShapeError, match=r"features\.5\.pool.*316") as info:
        scalenet.simple_cnn((8, 16, 32, 64, 128, 256), kernel_size=5, padding=0, input_size=300)
    assert isinstance(info.value, ValueError)


def test_444_on_a_padded_cnn_names_nearest_sizes() -> None:
    # Six 2x2 pools after 'same' convs: valid sizes are multiples of 64.
    with pytest.raises(scalenet.ShapeError, match=r"input_size=444.*output stride 64.*384 or 448"):
        scalenet.simple_cnn((8, 16, 32, 64, 128, 256), input_size=444)


def test_pool_kinds_and_no_batch_norm() -> None:
    model = scalenet.simple_cnn((4,), pool="avg", batch_norm=False, input_size=8, conv_bias=False)
    assert isinstance(model.features[0].pool, nn.AvgPool2d)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.features[0].conv.bias is None
    assert model.num_features == 4
    assert model.flat_features == 4 * 4 * 4

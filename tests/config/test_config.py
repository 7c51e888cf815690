"""Config validation (field, value, what is allowed) and the JSON round trip."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import scalenet
from scalenet import ConfigError, ResNetConfig, ShapeError, SimpleCNNConfig


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("depths", (), "non-empty tuple"),
        ("depths", (2, 0, 2), "item 1 is 0"),
        ("depths", (2, 2.5), "integers"),
        ("depths", (True, 2), "integers"),
        ("depths", "2222", "tuple"),
        ("width", 0, r"\[1, 65536\]"),
        ("width", -3, "integer"),
        ("width", 64.0, "integer"),
        ("stem", "resnet", "'imagenet', 'cifar'"),
        ("block", "Basic", "'basic', 'bottleneck'"),
        ("downsample", "B", "'projection', 'pad'"),
        ("shortcut", 1, "True or False"),
        ("in_chans", 0, "integer"),
        ("num_classes", -1, "integer"),
        ("dropout", 1.0, r"\[0, 1\)"),
        ("dropout", -0.1, r"\[0, 1\)"),
        ("dropout", float("nan"), r"\[0, 1\)"),
        ("input_size", "224", "integer"),
        ("groups", 2, "1 with block='basic'"),
        ("base_width", 128, "64 with block='basic'"),
        ("groups", 0, r"\[1, 65536\]"),
        ("groups", True, "integer"),
        ("base_width", 4.0, "integer"),
    ],
)
def test_resnet_config_errors_name_field_value_and_allowed(
    field: str, value: object, allowed: str
) -> None:
    with pytest.raises(ConfigError, match=allowed) as info:
        ResNetConfig(**{field: value})
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}=")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channels", ()),
        ("kernel_size", 0),
        ("padding", "valid"),
        ("padding", -1),
        ("pool", "min"),
        ("batch_norm", "yes"),
        ("hidden", (10, 0)),
        ("global_pool", None),
    ],
)
def test_simple_cnn_config_errors(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        SimpleCNNConfig(**{field: value})
    assert info.value.field == field


def test_same_padding_needs_an_odd_kernel() -> None:
    with pytest.raises(ConfigError, match=r"padding.*even"):
        SimpleCNNConfig(kernel_size=4)
    # A 4x4 conv with padding 1 shrinks 32 to 31, which a 2x2 pool cannot halve exactly.
    with pytest.raises(ShapeError, match=r"input_size=32.*8k \+ 7.*31 or 39"):
        SimpleCNNConfig(kernel_size=4, padding=1, input_size=32)
    assert SimpleCNNConfig(kernel_size=4, padding=1, input_size=31).conv_padding == 1


def test_width_doubled_past_the_limit_is_caught() -> None:
    with pytest.raises(ConfigError, match="width"):
        ResNetConfig(depths=(1,) * 12, width=64, input_size=1 << 13)


def test_input_size_not_divisible_names_stride_and_nearest_sizes() -> None:
    with pytest.raises(ShapeError, match=r"input_size=250.*output stride 32.*224 or 256"):
        ResNetConfig(input_size=250)
    with pytest.raises(ShapeError, match=r"input_size=30.*output stride 4.*28 or 32"):
        ResNetConfig(depths=(3, 3, 3), width=16, stem="cifar", input_size=30)
    with pytest.raises(
        ShapeError, match=r"input_size=16.*smallest valid size 32.*32 \(the smallest\)"
    ):
        ResNetConfig(input_size=16)


@pytest.mark.parametrize(
    "cfg",
    [
        ResNetConfig(),
        ResNetConfig(
            depths=(5, 5, 5),
            width=16,
            stem="cifar",
            block="bottleneck",
            shortcut=False,
            downsample="pad",
            num_classes=100,
            in_chans=1,
            input_size=36,
            dropout=0.2,
            zero_init_residual=True,
        ),
        ResNetConfig(depths=(3, 4, 6, 3), block="bottleneck", groups=32, base_width=4),
        ResNetConfig(depths=(1, 1), block="bottleneck", base_width=128, input_size=32),
        ResNetConfig(
            depths=(4, 4, 4),
            width=16,
            stem="cifar",
            downsample="projection",
            num_classes=10,
            input_size=32,
            preact=True,
            widen_factor=10,
            block_dropout=0.3,
        ),
        SimpleCNNConfig(),
        SimpleCNNConfig(channels=(8, 16), kernel_size=5, padding=0, hidden=(20, 10), input_size=28),
    ],
)
def test_json_round_trip(cfg: ResNetConfig | SimpleCNNConfig) -> None:
    text = json.dumps(cfg.to_dict())
    back = type(cfg).from_dict(json.loads(text))
    assert back == cfg
    assert scalenet.config_from_dict(json.loads(text)) == cfg
    assert hash(back) == hash(cfg)
    # Every field is in the dict, with the family tag; the fields added later (ResNeXt's, the
    # pre-activation and wide ResNets', stochastic depth) only where they are not the plain
    # ResNet's, so earlier configs stay byte-identical.
    later: dict[str, object] = {}
    if isinstance(cfg, ResNetConfig):
        later = {"groups": 1, "base_width": 64, "preact": False, "widen_factor": 1}
        later |= {"block_dropout": 0, "drop_path_rate": 0}
    expected = {f.name for f in dataclasses.fields(cfg)} | {"family"}
    expected -= {k for k, v in later.items() if getattr(cfg, k) == v}
    assert set(cfg.to_dict()) == expected


def test_from_dict_rejects_unknown_keys_and_wrong_family() -> None:
    with pytest.raises(ConfigError, match=r"widht.*a field of ResNetConfig") as info:
        ResNetConfig.from_dict({"widht": 64})
    assert info.value.field == "widht"
    with pytest.raises(ConfigError, match="family"):
        ResNetConfig.from_dict(SimpleCNNConfig().to_dict())
    with pytest.raises(ConfigError, match="family"):
        scalenet.config_from_dict({"family": "vit"})
    with pytest.raises(ConfigError):
        scalenet.config_from_dict(["resnet"])  # type: ignore[arg-type]


def test_from_dict_validates_types() -> None:
    data: dict[str, Any] = ResNetConfig().to_dict()
    data["depths"] = [2, "2", 2, 2]
    with pytest.raises(ConfigError, match="depths"):
        ResNetConfig.from_dict(data)


def test_configs_are_frozen_and_replace_validates() -> None:
    cfg = ResNetConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.width = 32  # type: ignore[misc]
    assert cfg.replace(width=32).width == 32
    with pytest.raises(ConfigError, match="width"):
        cfg.replace(width=0)
    with pytest.raises(ConfigError, match="colour"):
        cfg.replace(colour="red")


def test_list_depths_become_tuples() -> None:
    cfg = ResNetConfig(depths=[1, 1], width=8, stem="cifar", input_size=8)  # type: ignore[arg-type]
    assert cfg.depths == (1, 1)
    assert cfg.stage_widths == (8, 16)


def test_build_gives_the_model_with_its_config() -> None:
    cfg = ResNetConfig(depths=(1, 1), width=8, stem="cifar", input_size=8)
    model = cfg.build()
    assert isinstance(model, scalenet.ResNet)
    assert model.config is cfg
    assert isinstance(SimpleCNNConfig().build(), scalenet.SimpleCNN)


@pytest.mark.parametrize(
    ("data", "field", "shown"),
    [
        ({"family": []}, "family", "family=[]"),  # unhashable: was a raw TypeError
        ({"family": {"a": 1}}, "family", "family={'a': 1}"),
        ({}, "family", "every config names its family"),
        # float() of a 400-digit integer overflows: was a raw OverflowError
        ({"family": "resnet", "dropout": int("9" * 400)}, "dropout", "an integer of 400 digits"),
        ({"family": "resnet", "dropout": float("nan")}, "dropout", "dropout=nan"),
        # repr() of a 5001-digit integer is refused by Python: was a raw ValueError
        ({"family": "resnet", "width": 10**5000}, "width", "about 5001 digits"),
        ({"family": "resnet", "input_size": -(10**5000)}, "input_size", "a negative integer"),
        ({"family": "simple_cnn", "channels": [8, 10**40]}, "channels", "item 1 is an integer"),
    ],
)
def test_absurd_values_get_a_config_error_with_a_short_message(
    data: dict[str, Any], field: str, shown: str
) -> None:
    with pytest.raises(ConfigError) as info:
        scalenet.config_from_dict(data)
    assert info.value.field == field
    assert shown in str(info.value)
    assert len(str(info.value)) < 400


def test_constructor_reports_a_huge_width_without_printing_it() -> None:
    with pytest.raises(ConfigError, match=r"^width=an integer of about 5001 digits is not allowed"):
        ResNetConfig(width=10**5000)

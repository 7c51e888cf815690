"""The builders and scaling functions take keyword arguments after their subject.

``scalenet.resnet((2, 2, 2, 2), 64, "imagenet", "basic", True)`` would read as five unnamed
values that are easy to shift by one; every argument after ``depths`` (``channels`` for
``simple_cnn``; the config and its ``phi`` or ``macs`` for scaling) is keyword-only, so such
a call is a ``TypeError`` that names the function.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

import scalenet
import scalenet.nn.builders
import scalenet.spec.scaling

#: The parameters each public builder-like function may take by position, in order.
POSITIONAL: dict[str, tuple[str, ...]] = {
    "resnet": ("depths",),
    "simple_cnn": ("channels",),
    "scale": ("config",),
    "compound_scale": ("config", "phi"),
    "bracket_budget": ("config", "macs"),
    "fit_budget": ("config", "macs"),
    "wrn": ("depth", "widen_factor"),  # WRN-d-k: the name is the two numbers
    "width_divisor": ("config",),
}

_CAN_BE_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _public_builders() -> dict[str, Callable[..., Any]]:
    """Every builder in ``scalenet.nn.builders`` and every scaling function of a config."""
    found = {name: getattr(scalenet.nn.builders, name) for name in scalenet.nn.builders.__all__}
    found.update(
        (name, obj)
        for name, obj in vars(scalenet.spec.scaling).items()
        if inspect.isfunction(obj)
        and not name.startswith("_")
        and obj.__module__ == "scalenet.spec.scaling"
        and next(iter(inspect.signature(obj).parameters), None) == "config"
    )
    return found


def test_every_public_builder_is_listed() -> None:
    # a new builder (or scaling function of a config) must state its positional parameters
    assert sorted(_public_builders()) == sorted(POSITIONAL)


@pytest.mark.parametrize("name", sorted(POSITIONAL))
def test_only_the_subject_is_positional(name: str) -> None:
    params = inspect.signature(_public_builders()[name]).parameters.values()
    positional = tuple(p.name for p in params if p.kind in _CAN_BE_POSITIONAL)
    assert positional == POSITIONAL[name]
    assert not [p.name for p in params if p.kind is inspect.Parameter.VAR_POSITIONAL]
    # the rest are keyword-only (or **overrides)
    rest = [p for p in params if p.name not in POSITIONAL[name]]
    assert rest
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)


#: A call with one more positional value than allowed, each once legal, and the keywords that
#: make it a valid call.
POSITIONAL_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    (
        "resnet",
        ((1, 1), 8, "cifar", "basic", True),
        {"width": 8, "stem": "cifar", "block": "basic", "shortcut": True},
    ),
    ("simple_cnn", ((8, 16), 3), {"kernel_size": 3}),
    ("scale", (scalenet.ResNetConfig(), 2.0), {"depth": 2.0}),
    ("compound_scale", (scalenet.ResNetConfig(), 1, 1.2, 1.1, 1.15), {"alpha": 1.2}),
    ("bracket_budget", (scalenet.ResNetConfig(), 4e9, 1.2, 1.1, 1.15), {"alpha": 1.2}),
    ("fit_budget", (scalenet.ResNetConfig(), 4e9, 1.2, 1.1, 1.15), {"alpha": 1.2}),
    ("wrn", (16, 1, 0.3), {"block_dropout": 0.3}),
    ("width_divisor", (scalenet.ResNetConfig(), 8), {"divisor": 8}),
]


def test_positional_calls_cover_every_builder() -> None:
    assert sorted(name for name, _, _ in POSITIONAL_CALLS) == sorted(POSITIONAL)


@pytest.mark.parametrize(
    ("name", "args", "kwargs"), POSITIONAL_CALLS, ids=[name for name, _, _ in POSITIONAL_CALLS]
)
def test_positional_call_is_a_type_error_naming_the_function(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    fn = _public_builders()[name]
    allowed = len(POSITIONAL[name])
    with pytest.raises(TypeError) as info:
        fn(*args)
    # Python's own message: "resnet() takes from 0 to 1 positional arguments but 5 were given"
    message = str(info.value)
    assert message.startswith(f"{name}() takes ")
    assert re.search(rf"\b{allowed} positional arguments? but {len(args)} were given$", message)
    # the same values by keyword are a valid call
    fn(*args[:allowed], **kwargs)


def test_keywords_give_the_positional_call_it_replaced() -> None:
    by_keyword = scalenet.resnet((2, 2, 2, 2), width=64, stem="imagenet", block="basic")
    assert by_keyword.config == scalenet.resnet(depth=18).config

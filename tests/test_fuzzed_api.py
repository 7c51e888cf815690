"""The public API called with wrong types and extreme values, one argument at a time: each call
returns (the value is one the argument takes) or raises scalenet's own error at once, naming
the argument; none raises Python's (``AttributeError``, ``OverflowError``, ``MemoryError``,
``OSError``...) from inside, and none takes a value of another type for a ``bool`` or ``int``
argument silently (``list_models(pretrained="no")`` listed the weights).

Every public function of ``scalenet`` and the model's timm methods, with arguments that work
(the baseline), and each argument replaced in turn by each of :data:`HOSTILE`. A seeded
fifth of the values per function runs in the default run; the rest is marked ``sweep``
(pyproject.toml), which .ci/run runs.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import torch

import scalenet
import scalenet.weights
from helpers import time_bound
from hub_servers import hf_hub_environment
from scalenet.hub.load import read_checkpoint


class _Odd:
    """An object of no type any argument takes."""


#: Values no argument of the API takes, or takes only within its bounds.
HOSTILE: dict[str, object] = {
    "None": None,
    "True": True,
    "-1": -1,
    "0": 0,
    "2**63": 2**63,
    "10**400": 10**400,
    "-10**400": -(10**400),
    "1e308": 1e308,
    "inf": math.inf,
    "nan": math.nan,
    "empty str": "",
    "300 chars": "x" * 300,
    "NUL": "a\x00b",
    "bytes": b"x",
    "list": [],
    "dict": {},
    "tuple": (1, 2),
    "object": _Odd(),
    "3.5": 3.5,
    "tensor": torch.tensor(1.0),
}


@dataclass
class Call:
    """``function(**baseline)`` works; each argument of ``baseline`` is replaced in turn."""

    name: str
    function: Callable[..., Any]
    baseline: Callable[[Path], dict[str, Any]]
    #: Arguments left as they are: the model a method is called on.
    fixed: tuple[str, ...] = ()


def _model() -> scalenet.ScaleNetModel:
    return scalenet.create("resnet20_cifar")


def _method(name: str) -> Callable[..., Any]:
    def call(model: scalenet.ScaleNetModel, **kwargs: Any) -> Any:
        return getattr(model, name)(**kwargs)

    call.__signature__ = inspect.signature(getattr(scalenet.ScaleNetModel, name))  # type: ignore[attr-defined]
    return call


def _data(root: Path) -> Path:
    """Two class folders of one image each (CIFAR-10's first two classes)."""
    for name in ("airplane", "automobile"):
        (root / "data" / name).mkdir(parents=True, exist_ok=True)
        PIL.Image.new("RGB", (32, 32)).save(root / "data" / name / "a.png")
    return root / "data"


def _saved(root: Path) -> Path:
    folder = root / "saved"
    if not folder.exists():
        _model().save_pretrained(folder)
    return folder


CIFAR = scalenet.get_config("resnet20_cifar")
CALLS = [
    Call("check_input_size", scalenet.check_input_size, lambda _: {"config": CIFAR, "size": 32}),
    Call("compound_scale", scalenet.compound_scale, lambda _: {
        "config": scalenet.ResNetConfig(), "phi": 1.0, "alpha": 1.2, "beta": 1.1, "gamma": 1.15}),
    Call("config_from_dict", scalenet.config_from_dict, lambda _: {
        "data": {"family": "resnet", "depths": [1, 1], "width": 8}}),
    Call("create", scalenet.create, lambda _: {
        "name": "resnet20_cifar", "pretrained": False, "label_names": None,
        "checkpoint_path": None, "pretrained_cfg_overlay": None}),
    Call("fit_budget", scalenet.fit_budget, lambda _: {
        "config": CIFAR, "macs": 10**8, "alpha": 1.2, "beta": 1.1, "gamma": 1.15,
        "tolerance": 1e-3}),
    Call("from_pretrained", scalenet.from_pretrained, lambda root: {
        "repo_id_or_dir": _saved(root), "revision": None, "num_classes": None,
        "in_chans": None, "device": None, "dtype": None, "token": None, "cache_dir": None,
        "local_files_only": False, "force_download": False}),
    Call("get_config", scalenet.get_config, lambda _: {"name": "resnet20_cifar"}),
    Call("get_entry", scalenet.get_entry, lambda _: {"name": "resnet20_cifar"}),
    Call("list_models", scalenet.list_models, lambda _: {
        "include": "*", "exclude": None, "pretrained": False}),
    Call("load_weights", scalenet.load_weights, lambda _: {
        "model": _model(), "source": _model().state_dict(), "assign": False, "adapt": True}),
    Call("min_input_size", scalenet.min_input_size, lambda _: {"config": CIFAR}),
    Call("nearest_valid_sizes", scalenet.nearest_valid_sizes, lambda _: {
        "config": CIFAR, "size": 33}),
    Call("optimize_for_inference", scalenet.optimize_for_inference, lambda _: {
        "model": _model(), "channels_last": True}),
    Call("output_stride", scalenet.output_stride, lambda _: {"config": CIFAR}),
    Call("plan", scalenet.plan, lambda _: {"config": CIFAR, "input_size": None}),
    Call("profile", scalenet.profile, lambda _: {
        "target": CIFAR, "input_size": None, "batch_size": 1, "method": "analytic"}),
    Call("push_to_hub", scalenet.push_to_hub, lambda _: {
        "model": _model(), "repo_id": "org/name", "private": None, "token": "hf_x",
        "commit_message": "m", "commit_description": None, "revision": None,
        "create_pr": False, "metrics": None, "training": None, "label_names": None,
        "license": None}),
    Call("resnet", scalenet.resnet, lambda _: {
        "depths": (1, 1), "width": 8, "stem": "cifar", "block": None, "shortcut": True,
        "depth": None, "variant": None, "downsample": None, "num_classes": None, "in_chans": 3,
        "input_size": None, "dropout": 0.0, "zero_init_residual": False, "groups": 1,
        "base_width": 64, "preact": False, "widen_factor": 1, "block_dropout": 0.0,
        "drop_path_rate": 0.0}),
    Call("resnet_layout", scalenet.resnet_layout, lambda _: {
        "depth": 20, "stem": "cifar", "block": None, "wide": False}),
    Call("save_pretrained", scalenet.save_pretrained, lambda root: {
        "model": _model(), "save_directory": root / "out", "metrics": None, "training": None,
        "license": None, "companions": None, "label_names": None}),
    Call("scale", scalenet.scale, lambda _: {
        "config": scalenet.ResNetConfig(), "depth": 1.0, "width": 1.0, "resolution": 1.0}),
    Call("simple_cnn", scalenet.simple_cnn, lambda _: {
        "channels": (8, 16), "kernel_size": 3, "padding": "same", "pool": "max",
        "batch_norm": True, "dropout": 0.0, "hidden": (), "num_classes": 10, "in_chans": 3,
        "input_size": 32, "global_pool": False, "conv_bias": True}),
    Call("valid_input_sizes", scalenet.valid_input_sizes, lambda _: {
        "config": CIFAR, "start": 1, "stop": 64}),
    Call("validate", scalenet.validate, lambda root: {
        "model": _model(), "data": _data(root), "batch_size": 2, "workers": 0, "device": None,
        "amp": False, "limit": None, "progress": False, "results_file": None, "name": None}),
    Call("wrn", scalenet.wrn, lambda _: {
        "depth": 10, "widen_factor": 1, "block_dropout": 0.0, "num_classes": 10,
        "in_chans": 3, "input_size": 32}),
    # The model's methods (timm's interface), on a fresh model each call. (forward_features
    # and forward_head, the stages forward calls after checking its input, take what the
    # stage before gives: they stay as light as timm's, unchecked, in scripted and traced
    # graphs alike.)
    Call("forward_intermediates", _method("forward_intermediates"), lambda _: {
        "model": _model(), "x": torch.randn(1, 3, 32, 32), "indices": None, "norm": False,
        "stop_early": False, "output_fmt": "NCHW", "intermediates_only": False}, ("model",)),
    Call("prune_intermediate_layers", _method("prune_intermediate_layers"), lambda _: {
        "model": _model(), "indices": 1, "prune_norm": False, "prune_head": True}, ("model",)),
    Call("reset_classifier", _method("reset_classifier"), lambda _: {
        "model": _model(), "num_classes": 5, "global_pool": None}, ("model",)),
    Call("set_grad_checkpointing", _method("set_grad_checkpointing"), lambda _: {
        "model": _model(), "enable": True}, ("model",)),
    # The weights catalogue and saved folders.
    Call("get_weights", scalenet.weights.get_weights, lambda _: {
        "name": "resnet20_cifar", "tag": None}),
    Call("list_weights", scalenet.weights.list_weights, lambda _: {"include": "*"}),
    Call("tags_of", scalenet.weights.tags_of, lambda _: {"arch": "resnet20_cifar"}),
    Call("default_tag", scalenet.weights.default_tag, lambda _: {"arch": "resnet20_cifar"}),
    Call("read_checkpoint", read_checkpoint, lambda root: {"directory": _saved(root)}),
]  # fmt: skip

#: Arguments whose hostile values reach the network, not the library: the Hub's token.
UNCHECKED = {("push_to_hub", "token"), ("from_pretrained", "token")}


def _kind(annotation: object) -> str:
    """``"bool"`` or ``"int"`` for an argument annotated as only that (or ``None``), else
    ``""``: such an argument takes no value of another type."""
    text = str(annotation).replace("<class '", "").replace("'>", "")
    text = text.replace("Optional[", "").replace("]", "").replace("None", "")
    kinds = {part.strip() for part in text.split("|")} - {""}
    return kinds.pop() if kinds in ({"bool"}, {"int"}) else ""


def _cases() -> Iterator[Any]:
    chooser = random.Random(20261208)
    for call in CALLS:
        labels = list(HOSTILE)
        default = set(chooser.sample(labels, len(labels) // 5))
        for label in labels:
            marks = () if label in default else (pytest.mark.sweep,)
            yield pytest.param(call, label, id=f"{call.name}-{label}", marks=marks)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzed")


@pytest.fixture(autouse=True)
def _offline(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No call reaches a network (a push gets no answer from 127.0.0.1:9), and a relative
    path lands in the test's folder."""
    monkeypatch.chdir(root)
    with hf_hub_environment("http://127.0.0.1:9", root / "hf"):
        yield


@pytest.mark.parametrize(("call", "label"), list(_cases()))
def test_a_hostile_argument_is_refused_by_name_or_taken(call: Call, label: str, root: Path) -> None:
    value = HOSTILE[label]
    parameters = inspect.signature(call.function).parameters
    for name in call.baseline(root):
        if (call.name, name) in UNCHECKED or name in call.fixed:
            continue
        kwargs = call.baseline(root)
        kwargs[name] = value
        kind = _kind(parameters[name].annotation)
        error: BaseException | None = None
        with time_bound(20):
            try:
                call.function(**kwargs)
            except BaseException as caught:  # what the test is about: which error, if any
                error = caught
        if error is not None:
            assert isinstance(error, scalenet.ScaleNetError), (
                f"{call.name}({name}={label}) raised {type(error).__name__}: {error}"
            )
            if isinstance(error, TypeError):  # a wrong type: the message names the argument
                assert name in str(error), (call.name, name, str(error))
            continue
        taken = value is None and "None" in str(parameters[name].annotation)
        if kind == "bool":
            assert taken or isinstance(value, bool), f"{call.name}({name}={label}) was taken"
        if kind == "int":
            assert taken or (isinstance(value, int) and not isinstance(value, bool)), (
                f"{call.name}({name}={label}) was taken"
            )


def test_every_public_function_is_called() -> None:
    """A function added to scalenet's API joins the table (or the test says so)."""
    functions = {name for name in scalenet.__all__ if inspect.isfunction(getattr(scalenet, name))}
    assert functions <= {call.name for call in CALLS}

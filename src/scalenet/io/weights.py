"""Loading weights into a model: safely, strictly, and with timm's head and stem adaptation.

Only safetensors files are written anywhere in scalenet. Pickle-based checkpoints (``.bin``,
``.pth``, ``.pt``) are read only when a path to one is given explicitly, and only through
``torch.load(weights_only=True)``, which refuses to run code.

Examples:
    >>> import torch, torchvision, scalenet
    >>> model = scalenet.create("resnet18")
    >>> scalenet.load_weights(model, torchvision.models.resnet18().state_dict())
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigTypeError, WeightsError, check_bool, check_path
from ..nn.base import ScaleNetModel, check_model, check_param_count
from .state_dict import _check_tensors, read_state_dict, strip_module_prefix

__all__ = [
    "adapt_in_chans",
    "assign_exact",
    "conform",
    "load_weights",
    "read_state_dict",
    "weights_digest",
]

_SHOW = 5  # how many offending keys an error lists


def _finite(tensor: Tensor) -> bool:
    """Whether every value of a floating-point tensor is finite.

    A NaN or infinity makes the sum non-finite (which an overflow may too: then look at each
    value). On the CPU the sum is numpy's, single-threaded: torch's parallel reductions, one
    per tensor, cost 5-30x more on a busy 2-core machine (resnet50's 320 float tensors: 100
    to 620 ms against 16 to 25 ms), where the threads wait for each other.
    """
    if tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float64):
        array = tensor.detach().numpy()
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is looked into below
            total = np.add.reduce(array, axis=None)
        return bool(np.isfinite(total) or np.isfinite(array).all())
    return bool(torch.isfinite(tensor.sum()) or torch.isfinite(tensor).all())


def conform(
    state: Mapping[str, Tensor], expected: Mapping[str, Tensor], dtype: torch.dtype | None = None
) -> dict[str, Tensor]:
    """``state``'s tensors in the model's dtypes, after checking that each is of the right kind.

    Where the model holds a floating-point tensor, the checkpoint must too (any float dtype;
    it is cast to ``dtype``, or to the model's own dtype when ``dtype`` is ``None``); where the
    model holds an integer (BatchNorm's ``num_batches_tracked``), an integer. Tensors the
    model does not have are passed through, for the key check to report. Non-finite weights
    (NaN, infinity) are kept, with a warning that names them.

    Raises:
        WeightsError: integer, boolean or complex values where floats belong (or floats where
            integers do).

    Examples:
        >>> import torch
        >>> conform({"w": torch.ones(2, dtype=torch.float16)}, {"w": torch.zeros(2)})["w"].dtype
        torch.float32
        >>> conform({"w": torch.ones(2, dtype=torch.int32)}, {"w": torch.zeros(2)})
        Traceback (most recent call last):
        ...
        scalenet.errors.WeightsError: w holds torch.int32 values where the model has ...
    """
    out: dict[str, Tensor] = {}
    nonfinite: list[str] = []
    for key, value in state.items():
        want = expected.get(key)
        if want is None or want is value:  # not the model's; or the model's own (a kept head)
            out[key] = value
            continue
        floating = want.is_floating_point()
        if floating != value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            kind = "floating-point" if floating else "integer"
            raise WeightsError(
                f"{key} holds {value.dtype} values where the model has {kind} ones "
                f"({want.dtype}); the file does not hold this model's weights"
            )
        target = (dtype or want.dtype) if floating else want.dtype
        out[key] = value if value.dtype == target else value.to(target)
        if floating and not _finite(value):
            nonfinite.append(key)
    if nonfinite:
        warnings.warn(
            f"{len(nonfinite)} weight tensors hold NaN or infinite values: {_describe(nonfinite)}",
            stacklevel=3,
        )
    return out


def adapt_in_chans(weight: Tensor, in_chans: int) -> Tensor:
    """A first-conv weight for ``in_chans`` inputs from one trained on RGB, as timm does.

    One channel sums the RGB filters; more than three repeat them cyclically and rescale by
    ``3 / in_chans`` so activations keep their magnitude.
    """
    from timm.models import adapt_input_conv

    adapted: Tensor = adapt_input_conv(in_chans, weight)
    return adapted


def _describe(names: list[str], state: Mapping[str, Tensor] | None = None) -> str:
    shown = [f"{n} {tuple(state[n].shape)}" if state is not None else n for n in names[:_SHOW]]
    more = f" and {len(names) - _SHOW} more" if len(names) > _SHOW else ""
    return ", ".join(shown) + more


def load_weights(
    model: ScaleNetModel,
    source: str | Path | Mapping[str, Tensor],
    *,
    assign: bool = False,
    adapt: bool = True,
) -> None:
    """Load a state_dict or weights file into ``model``, strictly.

    Accepts scalenet, torchvision and timm ResNet checkpoints (same parameter names). When the
    checkpoint's classifier has another number of classes than the model, the model keeps its
    freshly initialised classifier; when its first conv has another number of input channels,
    the weights are adapted (:func:`adapt_in_chans`). Both say so in a warning. Anything else
    that does not match is an error.

    Args:
        model: the model to fill.
        source: a state_dict, or the path of a ``.safetensors`` (or, explicitly, a pickle
            ``.bin``/``.pth``) file.
        assign: assign the tensors instead of copying them (for models built on the meta
            device).
        adapt: allow the classifier and first-conv adaptations; ``False`` demands an exact
            match.

    Raises:
        WeightsError: missing or unexpected keys, or shape mismatches, listed with shapes.

    Examples:
        >>> import torchvision, scalenet
        >>> model = scalenet.create("resnet18", num_classes=10)
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     scalenet.load_weights(model, torchvision.models.resnet18().state_dict())
        >>> "re-initialised" in str(caught[0].message)
        True
    """
    check_model("model", model)
    check_bool("assign", assign)
    check_bool("adapt", adapt)
    if isinstance(source, (str, os.PathLike)):
        state = read_state_dict(check_path("source", source))
    elif isinstance(source, Mapping):
        _check_tensors(source)
        state = strip_module_prefix(source)
    else:
        raise ConfigTypeError(
            "source", source,
            "a path (str or os.PathLike) or a state dict (a mapping of names to tensors)",
        )  # fmt: skip
    expected = model.state_dict()
    notes: list[str] = []
    ours = {k for k in expected if k.startswith("fc.")}
    theirs = {k for k in state if k.startswith("fc.")}
    for key in theirs & {"fc.weight", "fc.bias"}:  # a classifier's, whatever its class count
        rank = 2 if key == "fc.weight" else 1
        if state[key].dim() != rank:
            shape = "(classes, features)" if rank == 2 else "(classes,)"
            raise WeightsError(
                f"{key} has shape {tuple(state[key].shape)} in the checkpoint, the model's "
                f"{tuple(expected[key].shape) if key in expected else 'none'}: a classifier's "
                f"{key.split('.')[1]} is {shape}; the file does not hold a classifier's weights"
            )
    if adapt and (ours != theirs or any(state[k].shape != expected[k].shape for k in ours)):
        # Another number of classes (or no classifier on one side): keep the model's own head.
        notes.append(
            f"the classifier was re-initialised: the checkpoint's has {_classes(state)} "
            f"outputs, the model's {model.num_classes}"
        )
        state = {k: v for k, v in state.items() if k not in theirs} | {k: expected[k] for k in ours}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    first = model.config.first_conv + ".weight"
    if adapt and first in mismatched:
        src, dst = state[first], expected[first]
        same_filters = src.dim() == dst.dim() and (src.shape[0], src.shape[2:]) == (
            dst.shape[0],
            dst.shape[2:],
        )
        if same_filters and not adaptable_in_chans(src.shape[1], dst.shape[1]):
            raise WeightsError(
                f"{first}: the checkpoint's first conv takes {src.shape[1]} input channels "
                f"{tuple(src.shape)}, the model's {dst.shape[1]} {tuple(dst.shape)}; the "
                "channels adapt as timm adapts them: from 3 (RGB) to any other number"
            )
        if same_filters:
            state = dict(state)
            state[first] = adapt_in_chans(src.to(torch.float32), dst.shape[1]).to(src.dtype)
            mismatched.remove(first)
            notes.append(
                f"the first conv was adapted from {src.shape[1]} to {dst.shape[1]} input channels"
            )
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing {len(missing)}: {_describe(missing, expected)}")
        if unexpected:
            problems.append(f"unexpected {len(unexpected)}: {_describe(unexpected, state)}")
        if mismatched:
            pairs = [
                f"{k} checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
                for k in mismatched[:_SHOW]
            ]
            more = f" and {len(mismatched) - _SHOW} more" if len(mismatched) > _SHOW else ""
            problems.append(f"shape mismatch {len(mismatched)}: " + ", ".join(pairs) + more)
        raise WeightsError(
            "the weights do not fit this model (is it the same architecture?): "
            + "; ".join(problems)
        )
    state = conform(state, expected)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    model.load_state_dict(state, strict=True, assign=assign)


def assign_exact(model: nn.Module, state: Mapping[str, Tensor]) -> bool:
    """Make the tensors of ``state`` the model's own, when its names and shapes match exactly.

    The fast path of :func:`load_weights` with ``assign=True`` for a model built on the meta
    device: no copy, no hook, the parameters keep their ``requires_grad``. Returns ``False``
    (and changes nothing) when the names or shapes differ.

    Examples:
        >>> import scalenet
        >>> from scalenet.nn.skeleton import skeleton
        >>> model = skeleton(scalenet.get_config("resnet20_cifar"))
        >>> assign_exact(model, scalenet.create("resnet20_cifar").state_dict())
        True
        >>> model.fc.weight.device
        device(type='cpu')
    """
    expected = model.state_dict(keep_vars=True)
    if expected.keys() != state.keys() or any(
        state[k].shape != v.shape for k, v in expected.items()
    ):
        return False
    for prefix, module in model.named_modules():
        dot = f"{prefix}." if prefix else ""
        for name, param in module._parameters.items():
            if param is not None and dot + name in state:
                module._parameters[name] = nn.Parameter(
                    state[dot + name], requires_grad=param.requires_grad
                )
        for name, buffer in module._buffers.items():
            if buffer is not None and dot + name in state:
                module._buffers[name] = state[dot + name]
    return True


def adaptable_in_chans(src: int, dst: int) -> bool:
    """Whether timm's ``adapt_input_conv`` turns a first conv of ``src`` input channels into
    one of ``dst``: from RGB (3) to any other count. (From 6 to 1 it makes 2 channels, from
    other counts it raises: neither is an adaptation.)"""
    return src == 3 and dst != 3


def _classes(state: Mapping[str, Any]) -> str:
    weight = state.get("fc.weight")
    return str(weight.shape[0]) if isinstance(weight, Tensor) else "no"


def set_in_chans(model: ScaleNetModel, in_chans: int) -> None:
    """Adapt a loaded model's first conv to ``in_chans`` inputs (timm's rule), in place."""
    config = model.config.replace(in_chans=in_chans)  # validates in_chans
    check_param_count(config)  # before the new first conv is allocated
    if not adaptable_in_chans(model.config.in_chans, in_chans):
        raise WeightsError(
            f"in_chans={in_chans}: the first conv takes {model.config.in_chans} input channels, "
            "and they adapt as timm adapts them: from 3 (RGB) to any other number"
        )
    name = model.config.first_conv
    conv = model.get_submodule(name)
    assert isinstance(conv, nn.Conv2d)
    with torch.no_grad():
        weight = adapt_in_chans(conv.weight.detach().to(torch.float32), in_chans)
    conv.weight = nn.Parameter(weight.to(conv.weight.dtype))
    conv.in_channels = in_chans
    model.config = config
    model.in_chans = in_chans


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a model's weights: every tensor of its state dict (name, dtype, shape and
    bytes), so any change (training, a cast, another head) changes it.

    A model created with published weights records it (``pretrained_cfg["weights_digest"]``),
    and its model card claims the source's accuracy only while the weights are still those.

    Examples:
        >>> import scalenet
        >>> model = scalenet.create("resnet20_cifar")
        >>> weights_digest(model) == weights_digest(model)
        True
        >>> with torch.no_grad():
        ...     _ = model.fc.bias.add_(1e-6)
        >>> len(weights_digest(model))
        64
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        data = tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8)
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(memoryview(data.numpy()))
    return digest.hexdigest()

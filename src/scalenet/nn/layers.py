"""The smallest pieces: the module of each layer spec (:func:`layer_module`,
:func:`modules_of`: the models are made from the layer plan's templates), the option-A
shortcut (strided identity, zero padded channels) and the forward-time input check.

Examples:
    >>> import torch
    >>> from scalenet.nn.layers import PadShortcut
    >>> PadShortcut(16, 32, stride=2)(torch.ones(1, 16, 8, 8)).shape
    torch.Size([1, 32, 4, 4])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError, ShapeError
from ..spec.templates import LayerSpec

__all__ = ["PadShortcut", "check_input", "layer_module", "modules_of"]


class PadShortcut(nn.Module):
    """Option A of the ResNet paper: strided identity, new channels filled with zeros.

    The extra channels are split evenly before and after the input's (as in the widely used
    CIFAR re-implementations), and the module has no parameters.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"PadShortcut cannot reduce channels: {in_channels} -> {out_channels}")
        self.stride = stride
        self.pad_before = (out_channels - in_channels) // 2
        self.pad_after = out_channels - in_channels - self.pad_before

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, pad=({self.pad_before}, {self.pad_after})"


def layer_module(spec: LayerSpec, dropout: float = 0.0, drop_path: float = 0.0) -> nn.Module:
    """The module that a layer spec describes (a conv, BatchNorm, ReLU, dropout of
    ``dropout``, timm's ``DropPath`` of ``drop_path``, a pool, a linear layer, or option A's
    padding): the models are made from the layer plan's own templates.

    Examples:
        >>> from scalenet.spec.templates import LayerSpec
        >>> layer_module(LayerSpec("conv2", "conv", 8, 8, kernel=3, stride=2, padding=1, groups=4))
        Conv2d(8, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=4, bias=False)
    """
    if spec.kind == "conv":
        return nn.Conv2d(
            spec.in_channels, spec.out_channels, spec.kernel, spec.stride, spec.padding,
            groups=spec.groups, bias=spec.bias,
        )  # fmt: skip
    if spec.kind == "bn":
        return nn.BatchNorm2d(spec.out_channels)
    if spec.kind == "relu":
        return nn.ReLU(inplace=True)
    if spec.kind == "dropout":
        return nn.Dropout(dropout)
    if spec.kind == "drop_path":  # timm's (scriptable, exportable); timm loads with the first
        from timm.layers.drop import DropPath

        return DropPath(drop_path)
    if spec.kind == "avgpool" and spec.global_pool:
        return nn.AdaptiveAvgPool2d(1)
    if spec.kind == "avgpool":  # the shortcut's (ceil mode) as timm's; no padding either way
        return nn.AvgPool2d(
            spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode,
            count_include_pad=spec.ceil_mode is False,
        )  # fmt: skip
    if spec.kind == "maxpool":
        return nn.MaxPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode)
    if spec.kind == "linear":
        return nn.Linear(spec.in_channels, spec.out_channels, bias=spec.bias)
    if spec.kind == "pad":
        return PadShortcut(spec.in_channels, spec.out_channels, spec.stride)
    raise ValueError(f"{spec.name}: no module for a {spec.kind!r} layer")


def modules_of(
    layers: Iterable[LayerSpec], dropout: float = 0.0, drop_path: float = 0.0
) -> dict[str, nn.Module]:
    """The modules of ``layers`` by name, in order: one per name (a repeated ``relu`` is one
    module), and the specs ``x.0``, ``x.1``... of one ``x`` as the ``nn.Sequential`` ``x``
    (an ``nn.Identity`` at an index no spec names). Layers without a module (``add``,
    ``flatten``) are left out.

    Examples:
        >>> from scalenet.spec.templates import LayerSpec
        >>> m = modules_of([LayerSpec("ds.1", "conv", 4, 8), LayerSpec("relu", "relu", 8, 8)])
        >>> m["ds"]
        Sequential(
          (0): Identity()
          (1): Conv2d(4, 8, kernel_size=(1, 1), stride=(1, 1), bias=False)
        )
    """
    modules: dict[str, nn.Module | None] = {}
    indexed: dict[str, dict[int, nn.Module]] = {}
    for spec in layers:
        if spec.kind in ("add", "flatten"):
            continue
        parent, _, index = spec.name.rpartition(".")
        if parent and index.isdigit():
            modules.setdefault(parent, None)
            module = layer_module(spec, dropout, drop_path)
            indexed.setdefault(parent, {}).setdefault(int(index), module)
        elif spec.name not in modules:
            modules[spec.name] = layer_module(spec, dropout, drop_path)
    for parent, items in indexed.items():
        modules[parent] = nn.Sequential(
            *(items.get(i, nn.Identity()) for i in range(max(items) + 1))
        )
    return {name: module for name, module in modules.items() if module is not None}


def check_input(
    x: Tensor,
    in_chans: int,
    min_size: int,
    fixed_size: int,
    weight_dtype: torch.dtype | None = None,
) -> None:
    """Raise if ``x`` is not a floating-point (N, in_chans, H, W) batch the model can take.

    :class:`InputError` (a ``TypeError``) when ``x`` is not a tensor (a numpy array, a list, a
    PIL image...) or is an integer, bool or complex one (a uint8 image); :class:`ShapeError`
    when its rank, channels or size do not fit. A floating tensor of another dtype than
    ``weight_dtype`` (the model's weights: a float64 batch into a float32 model, say) is an
    :class:`InputError` that says how to convert either, unless autocast is on for its device
    (``torch.autocast`` casts it). ``fixed_size`` > 0 ties the model to exactly that H and W
    (a flattening classifier); otherwise H and W must be at least ``min_size``. The check is a
    type test, two dtype tests and a few integer comparisons, and is registered with
    ``torch.fx.wrap`` by the model modules that call it, so that symbolic tracing records it as
    one call instead of tracing into it.

    It compiles with ``torch.jit.script``, so scripted models, and FX graphs compiled by
    TorchScript afterwards, check their input too: there the rules on dtype (floating-point),
    rank, channels and size raise TorchScript's exception with a shorter message (no
    suggestions); a floating dtype other than the weights' is left to torch's own error.

    Examples:
        >>> import torch
        >>> check_input(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), 3, 32, 0)
        Traceback (most recent call last):
        ...
        scalenet.errors.InputError: the model takes floating-point input, got a torch.uint8 ...
        >>> check_input(torch.zeros(1, 3, 32, 32, dtype=torch.float64), 3, 32, 0, torch.float32)
        Traceback (most recent call last):
        ...
        scalenet.errors.InputError: the input is torch.float64 but the model's weights are
        torch.float32: convert the input with x.float(), or the model with ...
    """
    if torch.jit.is_scripting():  # type: ignore[attr-defined]
        _check_input_scripted(x, in_chans, min_size, fixed_size)
    else:
        _check_input(x, in_chans, min_size, fixed_size, weight_dtype)


def _check_input_scripted(x: Tensor, in_chans: int, min_size: int, fixed_size: int) -> None:
    """:func:`check_input`'s rules in TorchScript (plain messages, no Python objects)."""
    if not x.is_floating_point():
        raise ValueError("the model takes floating-point input (use x.float())")
    if x.dim() != 4:
        raise ValueError("expected a 4-D input (batch, " + str(in_chans) + ", H, W)")
    if x.shape[1] != in_chans:
        raise ValueError("expected " + str(in_chans) + " input channels, got " + str(x.shape[1]))
    h, w = x.shape[2], x.shape[3]
    if fixed_size > 0:
        if h != fixed_size or w != fixed_size:
            raise ValueError(
                "this model was built for "
                + str(fixed_size)
                + "x"
                + str(fixed_size)
                + " inputs, got "
                + str(h)
                + "x"
                + str(w)
            )
    elif h < min_size or w < min_size:
        raise ValueError(
            "input "
            + str(h)
            + "x"
            + str(w)
            + " is too small: it needs at least "
            + str(min_size)
            + "x"
            + str(min_size)
        )


def _check_input(
    x: object, in_chans: int, min_size: int, fixed_size: int, weight_dtype: torch.dtype | None
) -> None:
    """:func:`check_input` in Python, with scalenet's errors and their hints."""
    if not isinstance(x, Tensor):
        raise _not_a_tensor(x, in_chans)
    if not x.is_floating_point():
        raise InputError(
            f"the model takes floating-point input, got a {x.dtype} tensor of shape "
            f"{tuple(x.shape)}; convert it with x.float() / 255 (for 0-255 images), then "
            f"normalise with the model's mean/std (model.pretrained_cfg['mean'] and ['std'] "
            f"for zoo models)"
        )
    if weight_dtype is not None and x.dtype != weight_dtype and not _autocast_on(x):
        raise _dtype_mismatch(x.dtype, weight_dtype)
    if x.dim() != 4:
        raise ShapeError(
            f"expected a 4-D input (batch, {in_chans}, H, W), got shape {tuple(x.shape)}"
        )
    if x.shape[1] != in_chans:
        fix = (
            "it looks channels-last (N, H, W, C): use x.permute(0, 3, 1, 2)"
            if x.shape[3] == in_chans
            else f"build the model with in_chans={x.shape[1]} to accept it"
        )
        raise ShapeError(
            f"expected {in_chans} input channels, got {x.shape[1]} (input shape "
            f"{tuple(x.shape)}); {fix}"
        )
    h, w = x.shape[2], x.shape[3]
    if fixed_size > 0:
        if h != fixed_size or w != fixed_size:
            raise ShapeError(
                f"this model was built for {fixed_size}x{fixed_size} inputs (its classifier "
                f"flattens the last feature map), got {h}x{w}; resize the input, or build the "
                f"model for that size or with global_pool=True"
            )
    elif h < min_size or w < min_size:
        raise ShapeError(
            f"input {h}x{w} is too small for this network: it needs at least "
            f"{min_size}x{min_size} (its output stride)"
        )


#: The short conversion methods of the floating dtypes: x.float() for torch.float32...
_CONVERT = {
    torch.float32: "float",
    torch.float64: "double",
    torch.float16: "half",
    torch.bfloat16: "bfloat16",
}


def _autocast_on(x: Tensor) -> bool:
    """Whether autocast is on for ``x``'s device (it then casts the input for each layer)."""
    device = x.device.type
    try:
        return bool(torch.is_autocast_enabled(device))
    except TypeError:  # torch < 2.4 takes no device type
        if device == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return device == "cuda" and bool(torch.is_autocast_enabled())


def _dtype_mismatch(given: torch.dtype, weights: torch.dtype) -> InputError:
    """The error for a floating input of another dtype than the model's weights."""

    method = _CONVERT.get(weights)
    to_weights = f"x.{method}()" if method else f"x.to({weights})"
    return InputError(
        f"the input is {given} but the model's weights are {weights}: convert the input with "
        f"{to_weights}, or the model with model.to({given}); for mixed precision, call the "
        f"model under torch.autocast"
    )


def _not_a_tensor(x: object, in_chans: int) -> InputError:
    """The error for a model called with something other than a tensor, with the usual fix."""
    cls = type(x)
    module = cls.__module__
    name = cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
    if x is None:
        given, hint = "None", "pass a float tensor"
    elif module == "numpy" or module.startswith("numpy."):
        given = f"{name} of shape {getattr(x, 'shape', '?')} and dtype {getattr(x, 'dtype', '?')}"
        hint = (
            "convert it with torch.from_numpy(x) (and permute HWC images to CHW), then "
            "x.float() / 255 for 0-255 images"
        )
    elif isinstance(x, (list, tuple)):
        given = f"{name} of {len(x)} items"
        hint = "stack (C, H, W) image tensors into one batch with torch.stack(x)"
    elif module == "PIL" or module.startswith("PIL."):
        given = name
        hint = (
            "convert it with torchvision.transforms.functional.to_tensor(img).unsqueeze(0) "
            "(a float batch in [0, 1]), then normalise with the model's mean/std"
        )
    else:
        given, hint = name, "pass a float tensor"
    return InputError(
        f"expected a torch.Tensor of shape (N, {in_chans}, H, W), got {given}; {hint}"
    )

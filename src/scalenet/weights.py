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

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors
import torch
from torch import Tensor, nn

from . import _safetensors
from .errors import WeightsError
from .models.base import ScaleNetModel

__all__ = ["adapt_in_chans", "assign_exact", "load_weights", "read_state_dict"]

_PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".ckpt")
_SHOW = 5  # how many offending keys an error lists


def read_state_dict(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """Read a ``.safetensors`` file, or a pickle checkpoint with ``torch.load(weights_only=True)``.

    A safetensors file is mapped into memory (private, copy-on-write) and its tensors are views
    of the mapping, each 64-byte aligned: nothing is copied until it is used (see
    ``scalenet._safetensors``).

    Training checkpoints that wrap the weights (``{"state_dict": ...}``, ``{"model": ...}``) and
    DistributedDataParallel's ``module.`` prefix are unwrapped.

    Raises:
        WeightsError: the file is missing, truncated or corrupt, not a weights file, or a pickle
            that needs anything beyond tensors and plain containers.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no weights file at {path}")
    if path.suffix == ".safetensors":
        try:
            state = _safetensors.load_file(path, device=device)
        except (safetensors.SafetensorError, OSError, ValueError, RuntimeError) as err:
            raise WeightsError(f"{path} is not a valid safetensors file: {err}") from None
    elif path.suffix in _PICKLE_SUFFIXES:
        try:
            loaded = torch.load(path, map_location=device, weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            raise WeightsError(
                f"{path} was refused by torch.load(weights_only=True) (it holds more than "
                f"tensors, or is damaged): {str(err).splitlines()[0]}"
            ) from None
        state = _unwrap(loaded, path)
    else:
        raise WeightsError(
            f"{path}: unknown weights format {path.suffix!r}; expected .safetensors or, read "
            f"with weights_only=True, one of {', '.join(_PICKLE_SUFFIXES)}"
        )
    return _strip_prefix(state)


def _unwrap(loaded: object, path: Path) -> dict[str, Tensor]:
    if isinstance(loaded, Mapping):
        for key in ("state_dict", "model", "model_state_dict", "state_dict_ema"):
            inner = loaded.get(key)
            if (
                isinstance(inner, Mapping)
                and inner
                and all(isinstance(v, Tensor) for v in inner.values())
            ):
                return dict(inner)
        if loaded and all(isinstance(v, Tensor) for v in loaded.values()):
            return dict(loaded)
    raise WeightsError(f"{path} holds no state_dict (a mapping of parameter names to tensors)")


def _strip_prefix(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    keys = list(state)
    if keys and all(k.startswith("module.") for k in keys):
        return {k.removeprefix("module."): v for k, v in state.items()}
    return dict(state)


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
    state = read_state_dict(source) if isinstance(source, (str, Path)) else _strip_prefix(source)
    expected = model.state_dict()
    notes: list[str] = []
    ours = {k for k in expected if k.startswith("fc.")}
    theirs = {k for k in state if k.startswith("fc.")}
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
        if src.shape[0] == dst.shape[0] and src.shape[2:] == dst.shape[2:]:
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
        >>> from scalenet._skeleton import skeleton
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


def _classes(state: Mapping[str, Any]) -> str:
    weight = state.get("fc.weight")
    return str(weight.shape[0]) if isinstance(weight, Tensor) else "no"


def set_in_chans(model: ScaleNetModel, in_chans: int) -> None:
    """Adapt a loaded model's first conv to ``in_chans`` inputs (timm's rule), in place."""
    name = model.config.first_conv
    conv = model.get_submodule(name)
    assert isinstance(conv, nn.Conv2d)
    with torch.no_grad():
        weight = adapt_in_chans(conv.weight.detach().to(torch.float32), in_chans)
    conv.weight = nn.Parameter(weight.to(conv.weight.dtype))
    conv.in_channels = in_chans
    model.config = model.config.replace(in_chans=in_chans)
    model.in_chans = in_chans

"""Source key names to scalenet's (torchvision's), one total converter per :data:`Layout`.

Every key of a source file is either mapped or named in a :class:`~scalenet.WeightsError`:
nothing is dropped silently. BatchNorm layers saved before PyTorch 0.4.1 have no
``num_batches_tracked``; the converters add it as ``0`` (what PyTorch itself fills in), so
the result has exactly the keys of the model's ``state_dict()``.

Examples:
    >>> import torch
    >>> convert("pytorchcv", {"features.stage2.unit1.identity_conv.bn.bias": torch.zeros(1)})
    {'layer2.0.downsample.1.bias': tensor([0.])}
    >>> list(convert("akamaster", {"state_dict": {"module.linear.weight": torch.zeros(1)}}))
    ['fc.weight']
    >>> convert("timm_resnetv2d", {"stages.1.blocks.0.downsample.conv.weight": torch.zeros(1)})
    {'layer2.0.downsample.1.weight': tensor([0.])}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from ..errors import WeightsError
from ..io.state_dict import strip_module_prefix
from .records import Layout

__all__ = ["convert", "from_akamaster", "from_pytorchcv", "from_timm", "from_timm_resnetv2"]

_BN = r"(weight|bias|running_mean|running_var|num_batches_tracked)"

#: pytorchcv's ``CIFARResNet`` and ``CIFARResNeXt`` (``pytorchcv/models/resnet_cifar.py``,
#: ``resnext_cifar.py``; units from ``resnet.py``'s ``ResUnit``): each conv is a ``ConvBlock``
#: holding ``conv`` and ``bn``. Its pre-activation nets (``preresnet_cifar.py``,
#: ``wrn_cifar.py``: ``PreResUnit``) keep the names with the order reversed -- a
#: ``PreConvBlock``'s ``bn`` comes before its ``conv``, which is scalenet's ``bnK`` then
#: ``convK`` -- and add a bare conv stem (``init_block``), a bare 1x1 ``identity_conv`` and a
#: final ``post_activ.bn``.
_PYTORCHCV: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"features\.init_block\.conv\.(weight)"), lambda m: f"conv1.{m[1]}"),
    (re.compile(r"features\.init_block\.(weight)"), lambda m: f"conv1.{m[1]}"),
    (re.compile(rf"features\.post_activ\.bn\.{_BN}"), lambda m: f"final_bn.{m[1]}"),
    (
        re.compile(r"features\.stage([1-9]\d*)\.unit([1-9]\d*)\.identity_conv\.(weight)"),
        lambda m: f"layer{m[1]}.{int(m[2]) - 1}.downsample.0.{m[3]}",
    ),
    (re.compile(rf"features\.init_block\.bn\.{_BN}"), lambda m: f"bn1.{m[1]}"),
    (
        re.compile(r"features\.stage([1-9]\d*)\.unit([1-9]\d*)\.body\.conv([1-3])\.conv\.(weight)"),
        lambda m: f"layer{m[1]}.{int(m[2]) - 1}.conv{m[3]}.{m[4]}",
    ),
    (
        re.compile(rf"features\.stage([1-9]\d*)\.unit([1-9]\d*)\.body\.conv([1-3])\.bn\.{_BN}"),
        lambda m: f"layer{m[1]}.{int(m[2]) - 1}.bn{m[3]}.{m[4]}",
    ),
    (
        re.compile(r"features\.stage([1-9]\d*)\.unit([1-9]\d*)\.identity_conv\.conv\.(weight)"),
        lambda m: f"layer{m[1]}.{int(m[2]) - 1}.downsample.0.{m[3]}",
    ),
    (
        re.compile(rf"features\.stage([1-9]\d*)\.unit([1-9]\d*)\.identity_conv\.bn\.{_BN}"),
        lambda m: f"layer{m[1]}.{int(m[2]) - 1}.downsample.1.{m[3]}",
    ),
    (re.compile(r"output\.(weight|bias)"), lambda m: f"fc.{m[1]}"),
]

#: akamaster's ``resnet.py``: torchvision's names, with ``linear`` as the head and option A
#: shortcuts (no parameters).
_AKAMASTER: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"conv1\.weight"), lambda m: m[0]),
    (re.compile(rf"bn1\.{_BN}"), lambda m: m[0]),
    (re.compile(r"layer[1-9]\d*\.(0|[1-9]\d*)\.conv[12]\.weight"), lambda m: m[0]),
    (re.compile(rf"layer[1-9]\d*\.(0|[1-9]\d*)\.bn[12]\.{_BN}"), lambda m: m[0]),
    (re.compile(r"linear\.(weight|bias)"), lambda m: f"fc.{m[1]}"),
]


#: timm's ``ResNetV2`` (``timm/models/resnetv2.py``) with BatchNorm, pre-activation blocks:
#: ``stem.conv`` (or the deep stem's ``stem.conv1/norm1/conv2/norm2/conv3``: scalenet's
#: ``conv1.0/1/3/4/6``), ``stages.S.blocks.B.{normK,convK}`` (``layer{S+1}.B.{bnK,convK}``),
#: ``norm`` (``final_bn``), ``head.fc`` (a 1x1 conv: ``fc``, flattened). The shortcut conv,
#: ``downsample.conv``, is ``downsample.0``, or ``downsample.1`` behind the average pool of
#: the ``d`` variants (timm's ``avg_down``, whose pool has no parameters to tell it by).
_DEEP_STEM = {"conv1": "0", "norm1": "1", "conv2": "3", "norm2": "4", "conv3": "6"}


def _resnetv2_rules(
    shortcut: str,
) -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    block = r"stages\.(0|[1-9]\d*)\.blocks\.(0|[1-9]\d*)"

    def layer(m: re.Match[str]) -> str:
        return f"layer{int(m[1]) + 1}.{m[2]}"

    return [
        (re.compile(r"stem\.conv\.(weight)"), lambda m: f"conv1.{m[1]}"),
        (re.compile(r"stem\.(conv[1-3])\.(weight)"), lambda m: f"conv1.{_DEEP_STEM[m[1]]}.{m[2]}"),
        (re.compile(rf"stem\.(norm[12])\.{_BN}"), lambda m: f"conv1.{_DEEP_STEM[m[1]]}.{m[2]}"),
        (re.compile(rf"{block}\.conv([1-3])\.(weight)"), lambda m: f"{layer(m)}.conv{m[3]}.{m[4]}"),
        (re.compile(rf"{block}\.norm([1-3])\.{_BN}"), lambda m: f"{layer(m)}.bn{m[3]}.{m[4]}"),
        (
            re.compile(rf"{block}\.downsample\.conv\.(weight)"),
            lambda m: f"{layer(m)}.downsample.{shortcut}.{m[3]}",
        ),
        (re.compile(rf"norm\.{_BN}"), lambda m: f"final_bn.{m[1]}"),
        (re.compile(r"head\.fc\.(weight|bias)"), lambda m: f"fc.{m[1]}"),
    ]


_RESNETV2 = {"timm_resnetv2": _resnetv2_rules("0"), "timm_resnetv2d": _resnetv2_rules("1")}


def _tensors(state: object, source: str) -> dict[str, Tensor]:
    if not isinstance(state, Mapping) or not state:
        raise WeightsError(f"{source} holds no state_dict (a mapping of names to tensors)")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise WeightsError(
                f"{source}: {key!r} is a {type(value).__name__}; a state_dict maps names to tensors"
            )
        if value.layout != torch.strided or value.is_meta:
            raise WeightsError(f"{source}: {key} is not a dense tensor with data")
    return dict(state)


def _rename(
    state: dict[str, Tensor],
    rules: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]],
    layout: str,
    source: str,
) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    unknown: list[str] = []
    for key, value in state.items():
        for pattern, target in rules:
            match = pattern.fullmatch(key)
            if match:
                name = target(match)
                if name in out:
                    raise WeightsError(f"{source}: two keys become {name!r} ({layout} layout)")
                out[name] = value
                break
        else:
            unknown.append(key)
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        shown = ", ".join(unknown[:5]) + more
        raise WeightsError(
            f"{source}: {len(unknown)} key(s) that the {layout} layout does not name: {shown}"
        )
    return _with_batch_counts(out)


def _with_batch_counts(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """``num_batches_tracked = 0`` for each BatchNorm that has running stats but no count."""
    for key in [k for k in state if k.endswith(".running_mean")]:
        count = key.removesuffix("running_mean") + "num_batches_tracked"
        state.setdefault(count, torch.tensor(0, dtype=torch.long))
    return state


def from_pytorchcv(state: object, source: str = "the file") -> dict[str, Tensor]:
    """pytorchcv's (imgclsmob's) CIFAR ResNets, ResNeXts, pre-activation ResNets and WRNs
    to scalenet's names.

    ``features.init_block.conv/bn`` (or the bare conv ``features.init_block``) ->
    ``conv1``/``bn1``; ``features.stageS.unitU.body.convK.conv/bn`` ->
    ``layerS.(U-1).convK``/``bnK``; ``features.stageS.unitU.identity_conv.conv/bn`` (or the
    bare conv ``identity_conv``) -> ``layerS.(U-1).downsample.0/1``;
    ``features.post_activ.bn`` -> ``final_bn``; ``output`` -> ``fc``.

    Raises:
        WeightsError: a key with no counterpart (the first few named).
    """
    return _rename(_tensors(state, source), _PYTORCHCV, "pytorchcv", source)


def from_akamaster(checkpoint: object, source: str = "the file") -> dict[str, Tensor]:
    """akamaster's checkpoints: ``{"state_dict": {"module.conv1.weight": ...}, "best_prec1": ...}``
    (a ``DataParallel`` model's state) to scalenet's names (``linear`` -> ``fc``).

    Raises:
        WeightsError: no ``state_dict``, or a key with no counterpart (named).
    """
    state = checkpoint.get("state_dict") if isinstance(checkpoint, Mapping) else None
    if state is None:
        raise WeightsError(f"{source} is not a checkpoint with a 'state_dict' entry")
    state = strip_module_prefix(_tensors(state, source))
    return _rename(state, _AKAMASTER, "akamaster", source)


def from_timm(state: object, source: str = "the file") -> dict[str, Tensor]:
    """torchvision's names, which timm and scalenet use: the state as it is (checked), less
    ``DataParallel``'s ``module.`` prefix when every key has it."""
    return strip_module_prefix(_tensors(state, source))


def from_timm_resnetv2(
    state: object, source: str = "the file", *, avg_down: bool = False
) -> dict[str, Tensor]:
    """timm's pre-activation ``ResNetV2`` with BatchNorm (``resnetv2_50``, ``resnetv2_18d``...)
    to scalenet's names (``scalenet.resnet(depth=N, preact=True[, variant="d"])``).

    ``stem.conv`` -> ``conv1`` (the deep stem's ``stem.conv1/norm1/conv2/norm2/conv3`` ->
    ``conv1.0/1/3/4/6``); ``stages.S.blocks.B.normK/convK`` -> ``layer{S+1}.B.bnK/convK``;
    ``stages.S.blocks.B.downsample.conv`` -> ``layer{S+1}.B.downsample.0``, or ``.1`` with
    ``avg_down`` (the ``d`` variants, whose shortcut pools first); ``norm`` -> ``final_bn``;
    ``head.fc`` (a 1x1 conv) -> ``fc``, its weight flattened to a linear layer's.

    Raises:
        WeightsError: a key with no counterpart (named), or a ``head.fc.weight`` that is not a
            1x1 conv's or a linear layer's.

    Examples:
        >>> import torch
        >>> out = from_timm_resnetv2({"head.fc.weight": torch.zeros(10, 512, 1, 1)})
        >>> {k: tuple(v.shape) for k, v in out.items()}
        {'fc.weight': (10, 512)}
    """
    layout = "timm_resnetv2d" if avg_down else "timm_resnetv2"
    out = _rename(_tensors(state, source), _RESNETV2[layout], layout, source)
    head = out.get("fc.weight")
    if head is not None and head.dim() == 4:
        if tuple(head.shape[2:]) != (1, 1):
            raise WeightsError(
                f"{source}: head.fc.weight has shape {tuple(head.shape)}; a 1x1 conv's "
                "(classes, features, 1, 1) or a linear layer's (classes, features) was expected"
            )
        out["fc.weight"] = head.flatten(1)
    return out


_CONVERTERS: dict[str, Callable[[object, str], dict[str, Tensor]]] = {
    "timm": from_timm,
    "pytorchcv": from_pytorchcv,
    "akamaster": from_akamaster,
    "timm_resnetv2": from_timm_resnetv2,
    "timm_resnetv2d": lambda state, source: from_timm_resnetv2(state, source, avg_down=True),
}


def convert(layout: Layout, loaded: object, source: str = "the file") -> dict[str, Tensor]:
    """What a ``layout`` file holds (as ``torch.load`` returns it) in scalenet's names.

    Raises:
        WeightsError: an unknown layout, or a key the layout does not name.
    """
    converter = _CONVERTERS.get(layout)
    if converter is None:
        raise WeightsError(f"layout={layout!r} is not one of {', '.join(map(repr, _CONVERTERS))}")
    return converter(loaded, source)

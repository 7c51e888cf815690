"""Analytic counting: params, MACs, other ops and autograd-saved tensors from the layer plan.

Every figure is a sum over :func:`scalenet.plan` specs, so it costs no model and no tensor
(see :mod:`scalenet.analysis.profile` for the conventions).
"""

from __future__ import annotations

from ..config import Config, ResNetConfig
from ..spec.plan import LayerSpec, plan
from .report import LayerRow, Profile

__all__ = ["analytic_profile"]


def _elements(s: LayerSpec) -> int:
    return s.out_channels * s.out_size[0] * s.out_size[1]


def _other(s: LayerSpec) -> tuple[str, int] | None:
    if s.kind == "bn":
        return "batchnorm", _elements(s)
    if s.kind == "relu":
        return "relu", _elements(s)
    if s.kind in ("maxpool", "avgpool"):
        window = s.in_size[0] * s.in_size[1] if s.global_pool else s.kernel**2
        return "pool", _elements(s) * window
    if s.kind == "add":
        return "add", _elements(s)
    return None


def _saved(specs: list[LayerSpec], config: Config) -> tuple[int, int, int]:
    """Elements (float), index bytes and mask bytes autograd saves per image.

    Tensors are tracked by identity: a conv, BN, linear or pool saves its input, a ReLU its
    output (in place, so the storage of the tensor it rectified), a max pool also its int64
    indices, a dropout its bool mask; each tensor counts once however many layers save it.
    Views (flatten, strided slices) and in-place ops (ReLU, residual add) make no new tensor.
    """
    sizes: dict[int, int] = {0: config.in_chans * config.input_size**2}
    saved: set[int] = set()
    main, short, block, next_id = 0, 0, "", 1
    index_bytes = mask_bytes = 0
    # A pre-activation block's projection (or pool + conv) shortcut reads the tensor its
    # first BN-ReLU makes, not the block's input.
    preact_short = isinstance(config, ResNetConfig) and config.preact and config.downsample != "pad"
    pending = False
    for s in specs:
        name_block = ".".join(s.name.split(".")[:2]) if s.name.startswith("layer") else ""
        if name_block != block:
            block, short = name_block, main
            pending = preact_short and bool(name_block)
        current = short if s.shortcut else main
        if s.kind in ("conv", "bn", "linear", "maxpool", "avgpool"):
            saved.add(current)
        if s.kind == "maxpool":
            index_bytes += 8 * _elements(s)
        if s.kind == "dropout":
            mask_bytes += _elements(s)
        if s.kind in ("relu", "add", "flatten"):
            out = current
            if s.kind == "relu":
                saved.add(out)
        else:
            out, next_id = next_id, next_id + 1
            sizes[out] = _elements(s)
        if s.shortcut:
            short = out
        else:
            main = out
            if pending and s.kind == "relu":
                short, pending = out, False
    return sum(sizes[t] for t in saved), index_bytes, mask_bytes


def analytic_profile(config: Config, name: str, input_size: int, batch_size: int) -> Profile:
    """The :class:`Profile` of ``config`` at ``input_size``, summed over its layer plan."""
    if input_size != config.input_size:
        config = config.replace(input_size=input_size)
    specs = plan(config)
    first_flat = next(i for i, s in enumerate(specs) if s.kind == "flatten")
    rows = tuple(
        LayerRow(
            s.name,
            s.kind,
            (batch_size, s.out_channels)
            if i >= first_flat  # the classifier works on (N, features)
            else (batch_size, s.out_channels, *s.out_size),
            s.params,
            s.macs * batch_size,
        )
        for i, s in enumerate(specs)
    )
    other: dict[str, int] = {"batchnorm": 0, "relu": 0, "pool": 0, "add": 0}
    for s in specs:
        op = _other(s)
        if op:
            other[op[0]] += op[1] * batch_size
    params = sum(r.params for r in rows)
    saved, index_bytes, mask_bytes = _saved(specs, config)
    return Profile(
        name=name,
        method="analytic",
        input_size=input_size,
        in_chans=config.in_chans,
        batch_size=batch_size,
        params=params,
        trainable_params=params,
        macs=sum(r.macs for r in rows),
        other_ops=other,
        activations=sum(_elements(s) for s in specs if s.kind not in ("flatten",)) * batch_size,
        saved_elements=saved,
        index_bytes=index_bytes,
        mask_bytes=mask_bytes,
        rows=rows,
    )

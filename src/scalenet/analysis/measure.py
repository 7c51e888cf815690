"""Measured profiles: fvcore's counters on a built model, or FlopCounterMode on the meta device.

Both fill the same :class:`~scalenet.analysis.profile.Profile` fields as the analytic method: params
from the module, ``macs`` from the counter's conv and linear operators, ``other_ops`` with whatever
else the counter reports (under its own operator names), output shapes from forward hooks. The
autograd-saved figures stay analytic.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..config import Config
from ..nn import ScaleNetModel, build

if TYPE_CHECKING:
    from .report import Profile

_MAC_OPS_FVCORE = ("conv", "linear", "addmm", "matmul", "mm", "bmm")
_MAC_OPS_TORCH = ("aten.convolution", "aten.addmm", "aten.mm", "aten.bmm")


@contextmanager
def _shapes(model: nn.Module) -> Iterator[dict[str, list[tuple[int, ...]]]]:
    """Record every leaf module's output shapes, in call order."""
    seen: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    handles = []
    for name, m in model.named_modules():
        if not list(m.children()):
            handles.append(
                m.register_forward_hook(
                    lambda _m, _i, out, name=name: seen[name].append(tuple(out.shape))
                )
            )
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


@contextmanager
def _evaluating(net: nn.Module) -> Iterator[None]:
    """Eval mode for the measurement; the model's own mode afterwards, even on an error."""
    was_training = net.training
    net.eval()
    try:
        yield
    finally:
        net.train(was_training)


def measure(config: Config, model: ScaleNetModel | None, analytic: Profile, method: str) -> Profile:
    """Profile ``model`` (or ``config`` built) with fvcore or FlopCounterMode."""
    b, c, s = analytic.batch_size, analytic.in_chans, analytic.input_size
    if method == "torch":
        from torch.utils.flop_counter import FlopCounterMode

        if model is None:  # a config: count on the meta device, nothing is computed
            with torch.device("meta"):
                net: nn.Module = build(config)
        else:
            net = model
        param = next(net.parameters())
        x = torch.empty(b, c, s, s, device=param.device, dtype=param.dtype)
        counter = FlopCounterMode(display=False)
        with _evaluating(net), _shapes(net) as shapes, counter, torch.no_grad():
            net(x)
        top = type(net).__name__
        per_module: dict[str, dict[str, int]] = {
            k.removeprefix(top + "."): {str(op): int(n) for op, n in v.items()}
            for k, v in counter.get_flop_counts().items()
        }
        totals = per_module.get("Global", {})
        macs = sum(n for op, n in totals.items() if op in _MAC_OPS_TORCH) // 2
        other = {op: n for op, n in totals.items() if op not in _MAC_OPS_TORCH}

        def module_macs(name: str) -> int:
            return sum(n for op, n in per_module.get(name, {}).items() if op in _MAC_OPS_TORCH) // 2

    else:
        from fvcore.nn import FlopCountAnalysis

        net = model if model is not None else build(config)
        param = next(net.parameters())
        x = torch.randn(b, c, s, s, device=param.device, dtype=param.dtype)
        with _evaluating(net):
            analysis = FlopCountAnalysis(net, x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                by_op = dict(analysis.by_operator())
                by_module = {k: dict(v) for k, v in analysis.by_module_and_operator().items()}
            with _shapes(net) as shapes, torch.no_grad():
                net(x)
        macs = int(sum(n for op, n in by_op.items() if op in _MAC_OPS_FVCORE))
        other = {op: int(n) for op, n in by_op.items() if op not in _MAC_OPS_FVCORE}

        def module_macs(name: str) -> int:
            ops = by_module.get(name, {})
            return int(sum(n for op, n in ops.items() if op in _MAC_OPS_FVCORE))

    modules = dict(net.named_modules())
    calls: dict[str, int] = defaultdict(int)
    rows = []
    for row in analytic.rows:
        if row.name not in shapes:  # no module of its own (add, flatten)
            rows.append(row)
            continue
        shape = shapes[row.name][calls[row.name]]
        calls[row.name] += 1
        params = sum(p.numel() for p in modules[row.name].parameters())
        rows.append(row._replace(output_shape=shape, params=params, macs=module_macs(row.name)))
    params = sum(p.numel() for p in net.parameters())
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    activations = sum(int(torch.Size(r.output_shape).numel()) for r in rows if r.kind != "flatten")
    return replace(
        analytic,
        method=method,
        params=params,
        trainable_params=trainable,
        macs=macs,
        other_ops=other,
        activations=activations,
        rows=tuple(rows),
    )

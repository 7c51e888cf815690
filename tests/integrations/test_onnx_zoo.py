"""Every zoo entry exports to ONNX and computes in onnxruntime what it computes in PyTorch
(docs/onnx.md): with a dynamic batch, but for the 1,000-layer nets.

Each entry is built as ``scalenet.create(name)`` makes it (random weights, its own input size;
BatchNorm made other than the identity, tests/onnx_runs.py), so a new entry is covered the day
it joins the zoo; names that build the same model (the same config) export once. The sweep
exports a graph per entry, up to ResNet-1202 and wide_resnet101_2: minutes, so it is marked
``sweep``, which the default run deselects (pyproject.toml); run it with
``python -m pytest -m sweep``. tests/integrations/test_onnx.py covers each architecture, built
small, in the default run, through the exporter's graph optimiser as docs/onnx.md exports. The
sweep exports without it: what it checks is scalenet's graph at every entry's depth and size,
and onnxscript's optimiser, whose passes are the same for every entry of an architecture, costs
as much again as the export on the deepest nets (ResNet-1202: 153 s with it, 80 s without, on
2 cores).

A graph of more than :data:`DEEP` layers (the five 1,000-layer CIFAR nets) exports with a
static batch: a dynamic one doubles the exporter's work (symbolic sizes through every op:
ResNet-110 10.8 s dynamic, 5.8 s static), and what a dynamic batch depends on is the block,
not the depth. Each of them has a shallower entry of the same blocks and shortcuts that
exports with a dynamic batch here (a test checks that it does): ResNet-1202's is ResNet-110's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import scalenet
from onnx_runs import assert_same_logits, export, randomize_batchnorm
from scalenet.spec.plan import plan

pytestmark = pytest.mark.sweep


def distinct_models() -> list[str]:
    """The zoo's names, less those whose config another name has already (the first in zoo
    order stands for them: scalenet_w64 and scalenet_b0 build resnet18, the same graph),
    deepest graph first.

    An export's time grows with the number of layers (ResNet-1202: ~100 s on one of two busy
    cores, ResNet-20: ~3 s); started first, the five 1,000-layer nets leave the short ones to
    even out the workers' ends (pytest-xdist hands each worker its share of the list in order,
    and an idle worker takes the last tests of a busy one's share).
    """
    first: dict[object, str] = {}
    for name in scalenet.list_models():
        first.setdefault(scalenet.get_config(name), name)
    return sorted(first.values(), key=lambda name: -len(plan(scalenet.get_config(name))))


#: Graphs of more layers than this (their plan's) export with a static batch.
DEEP = 2_000


def _blocks(name: str) -> tuple[object, ...]:
    """What a graph's ops depend on beside its depth and width: its family, stem, blocks and
    shortcuts."""
    config = scalenet.get_config(name).to_dict()
    keys = ("family", "stem", "block", "preact", "downsample", "variant", "shortcut", "groups")
    return tuple(config.get(key) for key in keys)


@pytest.mark.parametrize("name", distinct_models())
def test_zoo_entry_exports_and_computes_what_pytorch_computes(name: str, tmp_path: Path) -> None:
    model = randomize_batchnorm(scalenet.create(name))
    size, chans = model.config.input_size, model.config.in_chans
    if len(plan(model.config)) > DEEP:  # the example's batch of 2, static
        session = export(model, tmp_path / f"{name}.onnx", {}, optimize=False)
        assert [i.shape for i in session.get_inputs()] == [[2, chans, size, size]]
        assert_same_logits(session, model, size, batches=(2,))
        return
    session = export(model, tmp_path / f"{name}.onnx", {0: "batch"}, optimize=False)  # batch 2
    assert [i.shape for i in session.get_inputs()] == [["batch", chans, size, size]]
    assert_same_logits(session, model, size, batches=(1, 3))


def test_each_deep_graph_has_a_shallow_sibling_exported_with_a_dynamic_batch() -> None:
    names = distinct_models()
    deep = [n for n in names if len(plan(scalenet.get_config(n))) > DEEP]
    assert len(deep) == 5, deep  # the 1,000-layer nets, and no other
    for name in deep:
        siblings = [
            n for n in names
            if n not in deep and _blocks(n) == _blocks(name)
        ]  # fmt: skip
        assert siblings, f"{name}: no shallower entry of its blocks exports with a dynamic batch"

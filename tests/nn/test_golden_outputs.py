"""Golden outputs for the zoo entries that no outside implementation builds.

torchvision and timm check scalenet's ImageNet ResNets, and published weights check the
option-B CIFAR ResNets (``*_cifar_proj``); the entries below have nothing outside to compare
with, so each one is held to a file recorded from it, ``tests/expect/<name>.json``, in the
manner of torchvision's ``test/expect/ModelTester.test_<name>_expect.pkl`` (as JSON):

- with ``torch.manual_seed(0)`` before ``scalenet.create(name)``, every parameter's name,
  element count, sum and sum of squares (accumulated in float64);
- in eval mode, a slice of the logits for a fixed input (``torch.randn`` from a generator seeded
  with 1, batch 2): 32 px for CIFAR-stem and small CNNs (their declared size), 64 px for the
  ImageNet-stem ResNets, 444 px for ``simple_cnn6_k5`` (its classifier is sized for 444).

A change to initialisation, layer order or the forward fails the comparison (rtol = atol =
1e-4, far above float noise between CPUs and thread counts, far below any real change).

Re-recording is explicit: ``SCALENET_RECORD_EXPECT=1 python -m pytest
tests/nn/test_golden_outputs.py`` rewrites the files (review the diff before committing it). Without
the variable a missing file is a failure, never a silent record.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch

import scalenet

EXPECT_DIR = Path(__file__).parents[1] / "expect"
RECORD = os.environ.get("SCALENET_RECORD_EXPECT", "") == "1"
RTOL = ATOL = 1e-4
BATCH = 2
LOGITS = 10  # the first LOGITS classes of each image

#: Entries with no reference implementation: option-A and plain CIFAR ResNets, the scaling
#: families and the small CNNs. (The ImageNet ResNets are tested against torchvision and timm,
#: ``*_cifar_proj`` against their published weights.)
GOLDEN = [
    *(f"resnet{d}_cifar" for d in (20, 32, 44, 56, 110, 1202)),
    *(f"plain{d}_cifar" for d in (20, 32, 44, 56, 110)),
    *(f"scalenet_w{w}" for w in (48, 64, 80, 96, 128)),
    "scalenet_d3333",
    *(f"scalenet_b{phi}" for phi in range(5)),
    "simple_cnn_cifar",
    "simple_cnn6_k5",
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _input_size(config: scalenet.ResNetConfig | scalenet.SimpleCNNConfig) -> int:
    if isinstance(config, scalenet.ResNetConfig) and config.stem == "imagenet":
        return 64  # global pooling: any multiple of the output stride (32) runs
    return config.input_size


def _observe(name: str, seed: int = 0) -> dict[str, Any]:
    """What the golden file records for ``name``, measured now (``seed``: before create)."""
    torch.manual_seed(seed)
    model = scalenet.create(name).eval()
    size = _input_size(model.config)
    x = torch.randn(BATCH, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(x)
        parameters = {
            key: [p.numel(), p.double().sum().item(), p.double().square().sum().item()]
            for key, p in model.named_parameters()
        }
    return {
        "model": name,
        "input": {"shape": list(x.shape), "randn_generator_seed": 1},
        "parameters": parameters,
        "logits": logits[:, :LOGITS].tolist(),
        "logits_shape": list(logits.shape),
    }


def _close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=RTOL, abs_tol=ATOL)


def _write(path: Path, record: dict[str, Any]) -> None:
    """JSON with one logits row and one parameter a line, so a re-recording diffs line by line."""
    lines = [
        f"  {json.dumps(key)}: {json.dumps(value)}"
        for key, value in record.items()
        if key not in ("logits", "parameters")
    ]
    rows = ",\n".join(f"    {json.dumps(row)}" for row in record["logits"])
    lines.append(f'  "logits": [\n{rows}\n  ]')
    params = ",\n".join(
        f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in record["parameters"].items()
    )
    lines.append(f'  "parameters": {{\n{params}\n  }}')
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    assert json.loads(text) == record
    path.write_text(text)


def _mismatches(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    problems = [
        f"{key}: {actual[key]} != recorded {expected[key]}"
        for key in ("input", "logits_shape")
        if actual[key] != expected[key]
    ]
    got, want = actual["parameters"], expected["parameters"]
    if list(got) != list(want):
        extra, missing = sorted(set(got) - set(want)), sorted(set(want) - set(got))
        problems.append(
            f"parameter names or order differ: new {extra[:5]}, gone {missing[:5]}"
            + ("" if extra or missing else " (same names, another order)")
        )
    for key in got.keys() & want.keys():
        (n, s, sq), (n0, s0, sq0) = got[key], want[key]
        if n != n0 or not _close(s, s0) or not _close(sq, sq0):
            problems.append(f"parameter {key}: [numel, sum, sum_sq] {got[key]} != {want[key]}")
    flat = [v for row in actual["logits"] for v in row]
    flat0 = [v for row in expected["logits"] for v in row]
    if len(flat) != len(flat0) or not all(map(_close, flat, flat0)):
        problems.append(f"logits: {actual['logits']} != recorded {expected['logits']}")
    return problems


def _check(name: str, expect_dir: Path, record: bool) -> None:
    """Compare ``name`` with its golden file in ``expect_dir`` (first writing it if ``record``)."""
    path = expect_dir / f"{name}.json"
    actual = _observe(name)
    if record:
        expect_dir.mkdir(exist_ok=True)
        _write(path, actual)
    if not path.exists():
        pytest.fail(
            f"no golden file {path}: record it with SCALENET_RECORD_EXPECT=1 "
            f"python -m pytest tests/nn/{Path(__file__).name} -k {name}"
        )
    expected = json.loads(path.read_text())
    problems = _mismatches(actual, expected)
    assert not problems, f"{name} differs from {path.name}:\n" + "\n".join(problems[:10])


@pytest.mark.parametrize("name", GOLDEN)
def test_matches_recorded_output(name: str) -> None:
    _check(name, EXPECT_DIR, RECORD)


def test_missing_file_fails_unless_recording(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"no golden file .*SCALENET_RECORD_EXPECT=1"):
        _check("simple_cnn_cifar", tmp_path, record=False)
    assert list(tmp_path.iterdir()) == []  # nothing recorded silently
    _check("simple_cnn_cifar", tmp_path, record=True)
    written = json.loads((tmp_path / "simple_cnn_cifar.json").read_text())
    committed = json.loads((EXPECT_DIR / "simple_cnn_cifar.json").read_text())
    # The same record as the committed file: the same keys and parameter names, and numbers
    # equal to the comparison's tolerance (the last bits of float32 logits depend on the CPU's
    # instruction set, so a recording on another machine is not bit-identical).
    assert written.keys() == committed.keys()
    assert list(written["parameters"]) == list(committed["parameters"])
    assert _mismatches(written, committed) == []


def test_comparison_tells_float_noise_from_a_change() -> None:
    recorded = _observe("resnet20_cifar")
    assert _mismatches(_observe("resnet20_cifar"), recorded) == []  # the seed fixes everything
    noisy = json.loads(json.dumps(recorded))
    noisy["logits"] = [[v * (1 + 1e-6) for v in row] for row in noisy["logits"]]
    for stats in noisy["parameters"].values():
        stats[1:] = [v * (1 + 1e-6) for v in stats[1:]]
    assert _mismatches(noisy, recorded) == []
    # another initialisation: every randomly initialised tensor and the logits differ
    changed = _observe("resnet20_cifar", seed=1)
    flagged = {problem.split(":")[0] for problem in _mismatches(changed, recorded)}
    model = scalenet.create("resnet20_cifar")
    random_init = {k for k, p in model.named_parameters() if p.unique().numel() > 1}
    assert len(random_init) == 19 + 1 + 1  # the convs, fc.weight, fc.bias (BN: ones, zeros)
    assert flagged == {f"parameter {k}" for k in random_init} | {"logits"}


def test_golden_files_are_only_the_listed_entries() -> None:
    # a stale file for a renamed or removed entry is an error, not dead weight
    assert sorted(p.stem for p in EXPECT_DIR.glob("*.json")) == sorted(GOLDEN)

"""What starting scalenet imports: observed in fresh interpreters (``sys.modules``), not timed.

``import scalenet`` imports neither torch nor timm, torchvision, fvcore, huggingface_hub or
safetensors; building a model imports torch and none of the others; the ``scalenet`` command
imports no torch for ``--help`` or a usage error; ``python -m scalenet ARGS`` is the command.
How long each takes is measured in ``benchmarks/startup.py``. That timm knows scalenet's
models in every import order is tested in ``test_autoload.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import scalenet

#: Libraries that only what uses them imports.
LAZY = ("torch", "timm", "torchvision", "fvcore", "huggingface_hub", "safetensors")


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter of this environment (the autoload hook as installed)."""
    env = {k: v for k, v in os.environ.items() if k != "SCALENET_NO_TIMM_AUTOLOAD"}
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def loaded() -> str:
    """Source of an expression: the LAZY libraries in ``sys.modules``, sorted."""
    return f"sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r}))"


def test_hook_module_is_this_checkouts() -> None:
    # An editable install copies _scalenet_timm_autoload.py into site-packages; a copy older
    # than the package makes `import scalenet` fall back to importing timm at once.
    import _scalenet_timm_autoload as autoload

    assert getattr(autoload, "VERSION", 1) >= 2, (
        f"{autoload.__file__} is older than this checkout: reinstall (pip install -e .)"
    )


def test_import_scalenet_imports_no_torch_and_models_need_only_torch() -> None:
    done = python(f"""
        import json, sys
        import scalenet
        after_import = {loaded()}
        model = scalenet.create("resnet20_cifar")
        import torch
        out = model(torch.zeros(1, 3, 32, 32))
        print(json.dumps([after_import, {loaded()}, list(out.shape)]))
        """)
    assert done.returncode == 0, done.stderr
    after_import, after_model, shape = json.loads(done.stdout)
    assert after_import == []
    assert after_model == ["torch"]  # no timm, torchvision, fvcore, huggingface_hub, safetensors
    assert shape == [1, 10]


def test_lazy_names_are_the_defining_modules_objects() -> None:
    # In this process: every public name resolves, to the object its module defines.
    import scalenet.hub.load
    import scalenet.nn
    import scalenet.nn.builders
    import scalenet.zoo

    namespace: dict[str, object] = {}
    exec("from scalenet import *", namespace)
    assert set(scalenet.__all__) <= set(namespace)
    assert set(scalenet.__all__) <= set(dir(scalenet))
    assert namespace["create"] is scalenet.zoo.create
    assert namespace["resnet"] is scalenet.nn.builders.resnet
    assert namespace["from_pretrained"] is scalenet.hub.load.from_pretrained
    assert namespace["ResNet"] is scalenet.nn.ResNet
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        scalenet.nonexistent  # type: ignore[attr-defined]  # noqa: B018


def test_help_lists_every_public_class_and_function() -> None:
    # In a fresh interpreter, where no lazy name has been asked for: pydoc finds them by dir().
    done = python("""
        import inspect, pydoc, scalenet
        text = pydoc.plain(pydoc.render_doc(scalenet))
        for name in scalenet.__all__:
            value = getattr(scalenet, name)
            if inspect.isclass(value) and f"class {name}(" not in text:
                print(name)
            if inspect.isfunction(value) and f"\\n    {name}(" not in text:
                print(name)
        print(len(text.splitlines()))
        """)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == 1, done.stdout  # no name missing, then the line count
    assert int(done.stdout) > 1000


def test_profile_stays_the_function_whoever_imports_its_module_first() -> None:
    # The submodule scalenet.profile, imported before anyone asked for scalenet.profile, would
    # become the package's attribute of that name; the function must stay (as it was).
    done = python("""
        import scalenet
        from scalenet.analysis.profile import Profile  # imports the submodule
        import scalenet.zoo
        print(type(scalenet.profile).__name__, scalenet.profile.__module__,
              type(scalenet.zoo).__name__, scalenet.profile("resnet20_cifar").params)
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["function", "scalenet.analysis.profile", "module", "269722"]


CLI = f"""
import json, sys
from scalenet.cli import main
sys.argv = ["scalenet", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    code = e.code
print(json.dumps([code, {loaded()}]), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--help"], 0, "Usage: scalenet [OPTIONS] COMMAND"),
        (["summary", "--help"], 0, "Usage: scalenet summary [OPTIONS] TARGET"),
        (["--version"], 0, scalenet.__version__),
        (["--nope"], 2, "No such option"),
        (["summary", "resnet20_cifar", "--batch-size", "x"], 2, "'x' is not a valid integer"),
        (["summary", "resnet20_cifar", "--dtype", "int8"], 2, "'int8' is not one of"),
        (["summary", "resnet20_cif"], 2, "did you mean 'resnet20_cifar'"),
        (["check", "resnet50", "--input-size", "250"], 1, "input_size=250 does not fit"),
        (["check", "resnet50", "--input-size", "224"], 0, "input size 224 fits"),
        (["scale", "resnet20_cifar", "--phi", "nan"], 2, "nan is not in the range"),
    ],
)
def test_help_and_usage_errors_import_no_torch(args: list[str], code: int, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    *text, report = done.stderr.splitlines()
    assert json.loads(report) == [code, []], done.stderr
    assert message in done.stdout + "\n".join(text)


def test_a_command_that_counts_imports_torch() -> None:
    # The check above can see torch: `summary` of a model counts with scalenet.profile.
    done = subprocess.run(
        [sys.executable, "-c", CLI, "summary", "resnet20_cifar", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert json.loads(done.stderr.splitlines()[-1]) == [0, ["torch"]]
    assert json.loads(done.stdout)["params"] == 269_722


def test_python_m_scalenet_with_arguments_is_the_command() -> None:
    names = subprocess.run(
        [sys.executable, "-m", "scalenet", "list", "*_cifar", "--format", "names"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert names.returncode == 0, names.stderr
    assert names.stdout.split() == scalenet.list_models("*_cifar")
    bad = subprocess.run(
        [sys.executable, "-m", "scalenet", "summary", "resnet20_cifar", "--batch-size", "0"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("Usage: python -m scalenet summary [OPTIONS] TARGET")
    # Without arguments: the ResNet-20 demo, and a pointer to the command.
    done = subprocess.run(
        [sys.executable, "-m", "scalenet"], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "forward of a (2, 3, 32, 32) batch -> (2, 10)" in done.stdout
    assert done.stdout.rstrip().endswith("python -m scalenet --help (or scalenet --help)")

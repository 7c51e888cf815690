"""The timm autoload hook (src/_scalenet_timm_autoload.py and its .pth file).

Two parts:

- the hook's logic, in subprocesses started with ``python -S`` (no site-packages, so no .pth
  file of this machine interferes) against small stand-in ``timm`` and ``scalenet`` packages
  that log the order in which they run; each takes some tens of milliseconds;
- the real thing: the wheel and the editable wheel built from this checkout, each installed into
  a fresh virtual environment, where ``timm.create_model("scalenet_w80")`` must work without
  ``import scalenet``. The wheels are installed with ``--no-deps``; torch and timm come from the
  site-packages of the interpreter running the tests (a venv's, or the system's), which a path
  file in the new environment appends to its ``sys.path`` (a full install would download them).
  ``--system-site-packages`` would not do: inside a virtual environment it means the base
  interpreter's packages, which need not have torch. Path entries are not scanned for ``.pth``
  files, so a scalenet installed (or installed editable) beside that torch stays out of sight,
  and each wheel's own files come first, which the tests check. Every such run imports torch
  and timm (about 5 s here), so they run concurrently, and only those that the selected tests
  read: the default run makes the plain ``import timm``, the switch and the editable install;
  the other orders of the two imports run under the ``sweep`` marker.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import _scalenet_timm_autoload as autoload
import scalenet

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PTH = "scalenet_timm_autoload.pth"
HEAVY = ("torch", "timm", "scalenet")
#: What ``import scalenet`` leaves out (imported by what uses them).
LAZY = ("torch", "timm", "torchvision", "fvcore", "huggingface_hub", "safetensors")

# -- stand-ins: each logs when it starts and ends --------------------------------------------

EVENTS = "log = []\n"
TIMM_INIT = """
import events
events.log.append("timm start")
from .models import create_model, register_model  # like timm's __init__
events.log.append("timm end")
"""
TIMM_MODELS = """
REGISTRY = {}

def register_model(fn):
    REGISTRY[fn.__name__] = fn
    return fn

def create_model(name):
    if name not in REGISTRY:
        raise RuntimeError(f"Unknown model ({name})")
    return REGISTRY[name]()
"""
#: Like scalenet's __init__: imports no timm, and arranges the registration (at once if timm
#: is imported, else when it is), even with the hook switched off.
SCALENET = """
import events
events.log.append("scalenet start")
import _scalenet_timm_autoload
_scalenet_timm_autoload.install(force=True)
events.log.append("scalenet end")
"""
#: Like scalenet.integrations.timm_compat: imports timm and registers.
TIMM_COMPAT = """
import events
events.log.append("timm_compat start")
from timm.models import register_model

@register_model
def scalenet_w80():
    return "a scalenet model"

events.log.append("timm_compat end")
"""
#: timm imported without the hook, then scalenet: its import registers at once.
TIMM_THEN_SCALENET = [
    "timm start", "timm end", "scalenet start", "timm_compat start", "timm_compat end",
    "scalenet end",
]  # fmt: skip
#: Prepended to every script: the hook module, and a report of what happened, as JSON.
PRELUDE = """
import json, sys
import _scalenet_timm_autoload as autoload
import events

BASELINE = list(sys.meta_path)

def report(**extra):
    timm = sys.modules.get("timm")
    state = {
        "log": events.log,
        "installed": autoload.installed(),
        "hooks": sum(getattr(f, "_scalenet_timm_autoload", False) for f in sys.meta_path),
        "meta_path_as_before": sys.meta_path == BASELINE,
        "registry": sorted(timm.models.REGISTRY) if timm else None,
        "loader": type(timm.__loader__).__name__ if timm else None,
        "spec_loader": type(timm.__spec__.loader).__name__ if timm else None,
    }
    print(json.dumps(state | extra))
"""
#: `import timm` with the hook: timm first, then the registration through
#: scalenet.integrations.timm_compat.
FINISHED = [
    "timm start", "timm end", "scalenet start", "scalenet end", "timm_compat start",
    "timm_compat end",
]  # fmt: skip


#: What the user's shell may set that changes what a child interpreter reports: its path, its
#: warnings filter (PYTHONWARNINGS=ignore, common in CI images, hides the warnings these tests
#: expect), dev mode and assertions. The tests give their processes their own flags.
_SHELL_SETTINGS = ("PYTHONPATH", "PYTHONWARNINGS", "PYTHONDEVMODE", "PYTHONOPTIMIZE")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the shell's Python settings (above), user
    site-packages or the switch."""
    drop = (*_SHELL_SETTINGS, autoload.ENV_VAR)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return env | {"PYTHONNOUSERSITE": "1"} | extra


def run_fake(
    tmp_path: Path,
    code: str,
    *,
    scalenet: str | None = SCALENET,
    timm_compat: str = TIMM_COMPAT,
    timm: str | None = TIMM_INIT,
    flags: tuple[str, ...] = (),
    **env: str,
) -> tuple[dict[str, object], str]:
    """Run ``code`` after PRELUDE with the stand-ins; returns (the report, stderr)."""
    (tmp_path / "events.py").write_text(EVENTS)
    if timm is not None:
        (tmp_path / "timm").mkdir()
        (tmp_path / "timm" / "__init__.py").write_text(timm)
        (tmp_path / "timm" / "models.py").write_text(TIMM_MODELS)
    if scalenet is not None:
        (tmp_path / "scalenet").mkdir()
        (tmp_path / "scalenet" / "__init__.py").write_text(scalenet)
        (tmp_path / "scalenet" / "integrations").mkdir()
        (tmp_path / "scalenet" / "integrations" / "__init__.py").write_text("")
        (tmp_path / "scalenet" / "integrations" / "timm_compat.py").write_text(timm_compat)
    done = subprocess.run(
        [sys.executable, "-S", *flags, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=os.pathsep.join((str(tmp_path), str(SRC))), **env),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


# -- the hook's logic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "import timm",
        "import timm.models",
        "from timm import create_model",
        "from timm.models import register_model",
    ],
)
def test_registers_once_timm_has_finished_and_removes_itself(
    tmp_path: Path, statement: str
) -> None:
    report, stderr = run_fake(
        tmp_path,
        f"""
        autoload.install()
        assert autoload.installed() and "scalenet" not in sys.modules
        {statement}
        report(model=sys.modules["timm"].create_model("scalenet_w80"))
        """,
    )
    assert report["log"] == FINISHED  # scalenet ran after timm's __init__ had finished
    assert report["registry"] == ["scalenet_w80"]
    assert report["model"] == "a scalenet model"
    assert report["installed"] is False  # fired once, then took itself off sys.meta_path
    assert report["meta_path_as_before"] is True  # and left the other finders as they were
    assert report["loader"] == report["spec_loader"] == "SourceFileLoader"  # timm's own loader
    assert stderr == ""


def test_scalenet_imported_first_registers_when_timm_is(tmp_path: Path) -> None:
    # scalenet's import does not import timm (it did before 0.2: then the hook fired in the
    # middle of scalenet's import, and the log was scalenet start, timm start, timm end,
    # scalenet end); the hook registers once timm is imported, after scalenet's import.
    report, stderr = run_fake(tmp_path, "autoload.install()\nimport scalenet, timm\nreport()")
    assert report["log"] == [
        "scalenet start", "scalenet end", "timm start", "timm end", "timm_compat start",
        "timm_compat end",
    ]  # fmt: skip
    assert report["registry"] == ["scalenet_w80"]
    assert report["installed"] is False
    assert stderr == ""


def test_timm_imported_first_then_scalenet_registers_once(tmp_path: Path) -> None:
    report, stderr = run_fake(tmp_path, "autoload.install()\nimport timm, scalenet\nreport()")
    assert report["log"] == FINISHED  # the hook registered; scalenet's import found it done
    assert report["registry"] == ["scalenet_w80"]
    assert (report["installed"], report["meta_path_as_before"]) == (False, True)
    assert stderr == ""


def test_timm_compat_imported_directly_registers_once(tmp_path: Path) -> None:
    # scalenet.integrations.timm_compat imports timm: the hook fires in the middle of its import and
    # leaves the registration to it.
    report, stderr = run_fake(
        tmp_path, "autoload.install()\nimport scalenet.integrations.timm_compat\nreport()"
    )
    assert report["log"] == [
        "scalenet start", "scalenet end", "timm_compat start", "timm start", "timm end",
        "timm_compat end",
    ]  # fmt: skip
    assert report["registry"] == ["scalenet_w80"]
    assert report["installed"] is False
    assert stderr == ""


@pytest.mark.parametrize(
    ("statement", "log"),
    [
        ("import scalenet, timm", [
            "scalenet start", "scalenet end", "timm start", "timm end", "timm_compat start",
            "timm_compat end",
        ]),
        # timm is imported: scalenet's import registers at once, before it ends.
        ("import timm, scalenet", TIMM_THEN_SCALENET),
    ],
    ids=["scalenet first", "timm first"],
)  # fmt: skip
def test_switched_off_but_scalenet_imported_registers(
    tmp_path: Path, statement: str, log: list[str]
) -> None:
    # The switch keeps `import timm` alone from importing scalenet; a process that imports
    # scalenet itself still gets its models registered with timm, in either order.
    report, stderr = run_fake(
        tmp_path,
        f"autoload.install()\ninstalled = autoload.installed()\n{statement}\n"
        "report(installed_at_start=installed)",
        SCALENET_NO_TIMM_AUTOLOAD="1",
    )
    assert report["installed_at_start"] is False  # the switch kept the .pth's install off
    assert report["log"] == log
    assert report["registry"] == ["scalenet_w80"]
    assert (report["installed"], report["meta_path_as_before"]) == (False, True)
    assert stderr == ""


def test_scalenet_imported_after_timm_raises_what_registration_raises(tmp_path: Path) -> None:
    # The hook warns (import timm must not fail); scalenet's own import raises, as any import.
    code = """
    import timm
    try:
        import scalenet
    except ZeroDivisionError as e:
        report(error=repr(e), scalenet=[m for m in sys.modules if m.startswith("scalenet")])
    """
    broken = TIMM_COMPAT.replace("@register_model", "1 / 0\n@register_model")
    report, stderr = run_fake(tmp_path, code, timm_compat=broken, SCALENET_NO_TIMM_AUTOLOAD="1")
    assert report["error"] == "ZeroDivisionError('division by zero')"
    # Nothing half-imported left behind: neither scalenet nor the registration. (Python keeps
    # a submodule whose own import completed: here the empty scalenet.integrations.)
    assert report["scalenet"] == ["scalenet.integrations"]
    assert stderr == ""


@pytest.mark.parametrize(
    ("scalenet", "error"),
    [
        ("raise ImportError('libtorch_cpu.so: cannot open')", "ImportError: libtorch_cpu.so"),
        (SCALENET, "ZeroDivisionError"),  # with a timm_compat that raises (below)
    ],
)
@pytest.mark.parametrize("flags", [(), ("-W", "error")], ids=["warning", "W-error"])
def test_failing_registration_warns_and_timm_still_imports(
    tmp_path: Path, scalenet: str, error: str, flags: tuple[str, ...]
) -> None:
    code = """
        autoload.install()
        import timm
        try:
            timm.create_model("scalenet_w80")
        except RuntimeError as e:
            report(error=str(e))
        """
    broken = TIMM_COMPAT.replace("@register_model", "1 / 0\n@register_model")
    report, stderr = run_fake(tmp_path, code, scalenet=scalenet, timm_compat=broken, flags=flags)
    assert report["log"][:2] == ["timm start", "timm end"]
    assert report["error"] == "Unknown model (scalenet_w80)"
    assert report["installed"] is False
    assert "RuntimeWarning: scalenet could not register its models with timm" in stderr
    assert error in stderr
    assert "set SCALENET_NO_TIMM_AUTOLOAD=1 to switch off" in stderr
    if not flags:  # the warning points at the `import timm` line
        line = (PRELUDE + textwrap.dedent(code)).splitlines().index("import timm") + 1
        assert stderr.startswith(f"<string>:{line}: RuntimeWarning")


@pytest.mark.parametrize("value", ["1", "true", "YES", "on", "anything"])
def test_switched_off_by_the_environment_variable(tmp_path: Path, value: str) -> None:
    report, _ = run_fake(
        tmp_path,
        """
        autoload.install()
        installed = autoload.installed()
        import timm
        try:
            timm.create_model("scalenet_w80")
        except RuntimeError as e:
            report(installed_before=installed, error=str(e))
        """,
        SCALENET_NO_TIMM_AUTOLOAD=value,
    )
    assert report["installed_before"] is False
    assert report["log"] == ["timm start", "timm end"]
    assert report["error"] == "Unknown model (scalenet_w80)"


@pytest.mark.parametrize("value", ["", "0", "false", "No", " off "])
def test_values_that_leave_the_hook_on(tmp_path: Path, value: str) -> None:
    assert not autoload.switched_off({autoload.ENV_VAR: value})
    report, _ = run_fake(tmp_path, "autoload.install()\nimport timm\nreport()", **{
        autoload.ENV_VAR: value
    })  # fmt: skip
    assert report["log"] == FINISHED


def test_timm_imported_before_install_registers_at_once(tmp_path: Path) -> None:
    report, _ = run_fake(tmp_path, "import timm\nautoload.install()\nreport()")
    # Importing scalenet.integrations.timm_compat imports scalenet first, whose import finds timm
    # imported and registers at once; timm_compat is then imported already.
    assert report["log"] == TIMM_THEN_SCALENET
    assert report["registry"] == ["scalenet_w80"]
    assert report["installed"] is False  # nothing left to hook


def test_install_twice_installs_one_hook(tmp_path: Path) -> None:
    report, _ = run_fake(tmp_path, "autoload.install()\nautoload.install()\nreport()")
    assert report["hooks"] == 1


def test_without_timm_the_hook_stays(tmp_path: Path) -> None:
    code = """
    autoload.install()
    try:
        import timm
    except ImportError:
        report()
    """
    report, _ = run_fake(tmp_path, code, timm=None)
    assert report["installed"] is True  # timm may be installed later in the session


def test_looking_timm_up_does_not_use_the_hook_up(tmp_path: Path) -> None:
    # Libraries check whether timm is installed with importlib.util.find_spec("timm").
    code = """
    import importlib.util
    autoload.install()
    found = importlib.util.find_spec("timm") is not None
    still = autoload.installed()
    import timm
    report(found=found, still_installed=still)
    """
    report, _ = run_fake(tmp_path, code)
    assert report["found"] is True
    assert report["still_installed"] is True
    assert report["log"] == FINISHED
    assert report["installed"] is False


def test_failed_timm_import_keeps_the_hook_for_the_next_attempt(tmp_path: Path) -> None:
    flaky = "import events\nif not events.log:\n    events.log.append('timm failed')\n"
    flaky += "    raise ImportError('first attempt')\n" + TIMM_INIT
    code = """
    autoload.install()
    try:
        import timm
    except ImportError:
        pass
    still = autoload.installed()
    import timm
    report(still_installed=still)
    """
    report, stderr = run_fake(tmp_path, code, timm=flaky)
    assert report["still_installed"] is True
    assert report["log"] == ["timm failed", *FINISHED]
    assert report["installed"] is False
    assert stderr == ""


def test_every_other_name_passes_straight_through() -> None:
    finder = autoload._TimmFinder()
    for name in ("json", "timm.models", "timm_extra", "scalenet", "torch"):
        assert finder.find_spec(name, None) is None


@pytest.mark.parametrize("switch", ["", "1"])
def test_pth_file_imports_nothing_heavy(tmp_path: Path, switch: str) -> None:
    # What site.py does with the installed .pth at start-up, on a bare interpreter (-S).
    site_dir = tmp_path / "site-packages"
    site_dir.mkdir()
    shutil.copy(SRC / PTH, site_dir)
    shutil.copy(SRC / "_scalenet_timm_autoload.py", site_dir)
    code = f"""
import json, site, sys
before = set(sys.modules)
site.addsitedir({str(site_dir)!r})
hooks = sum(hasattr(f, "_scalenet_timm_autoload") for f in sys.meta_path)
print(json.dumps({{"new": sorted(set(sys.modules) - before), "hooks": hooks}}))
"""
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**{autoload.ENV_VAR: switch}),
        check=True,
    )
    assert done.stderr == ""  # site.py reports a failing .pth line on stderr
    report = json.loads(done.stdout)
    if switch:  # switched off: the .pth line does not even import the module
        assert report == {"new": [], "hooks": 0}
    else:  # the module and nothing else: no torch, timm, scalenet
        assert report == {"new": ["_scalenet_timm_autoload"], "hooks": 1}


def test_pth_file_and_module_agree_on_the_switch() -> None:
    line = (SRC / PTH).read_text()
    assert line.count("\n") == 1
    assert line.startswith("import ")  # site.py runs only the lines that start so
    assert f'"{autoload.ENV_VAR}"' in line
    keep_on = ast.literal_eval(re.search(r"\{.*?\}", line)[0])  # type: ignore[index]
    assert keep_on == autoload._KEEP_ON


@pytest.mark.parametrize(
    "module",
    [
        pytest.param("def install():\n    pass\n", id="older copy"),
        # The same fallback by the other way in (~5 s): under the sweep marker.
        pytest.param("raise ImportError('not installed')\n", id="missing", marks=pytest.mark.sweep),
    ],
)
def test_without_a_current_hook_module_import_scalenet_registers_at_once(
    tmp_path: Path, module: str
) -> None:
    # An editable install keeps the hook module it was installed with; an older one knows
    # nothing of install(force=True). scalenet's import then registers at once, as before.
    (tmp_path / "_scalenet_timm_autoload.py").write_text(module)
    code = "import sys, scalenet\nprint('timm' in sys.modules)\nimport timm\n"
    code += "print(type(timm.create_model('scalenet_w80')).__module__)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
        env=clean_env(PYTHONPATH=str(tmp_path), **{autoload.ENV_VAR: "1"}),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "scalenet.nn.resnet"]


# -- the real thing: built wheels installed into fresh virtual environments -----------------


def build_wheels(out: Path) -> dict[str, Path]:
    """This checkout's wheel and editable wheel, built as pip and `python -m build` do."""
    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv

    def both(builder: ProjectBuilder) -> dict[str, Path]:
        # Both are named scalenet-<version>-py3-none-any.whl: one folder each.
        return {kind: Path(builder.build(kind, out / kind)) for kind in ("wheel", "editable")}

    if importlib.util.find_spec("hatchling") is not None:  # the backend is here: no isolation
        return both(ProjectBuilder(ROOT))
    with DefaultIsolatedEnv() as env:  # pip installs the backend into a throw-away environment
        builder = ProjectBuilder.from_isolated_env(env, ROOT)
        env.install(builder.build_system_requires)
        env.install(
            builder.get_requires_for_build("wheel") | builder.get_requires_for_build("editable")
        )
        return both(builder)


def site_packages(python: Path | str) -> list[str]:
    """The site-packages folders of the interpreter ``python``, as it sees them."""
    code = "import json, site, sysconfig; print(json.dumps([*site.getsitepackages(), "
    code += "*{sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}]))"
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=60,
        env=clean_env(),
    )  # fmt: skip
    return list(dict.fromkeys(json.loads(done.stdout)))


def make_venv(path: Path, wheel: Path) -> Path:
    """A fresh environment with ``wheel`` installed, on top of this interpreter's packages."""
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    own, *_ = site_packages(python)
    # Appended after the environment's own site-packages: this interpreter's torch and timm.
    (Path(own) / "_this_interpreters_packages.pth").write_text(
        "".join(f"{d}\n" for d in site_packages(sys.executable) if Path(d).is_dir())
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=120, env=clean_env(),
    )  # fmt: skip
    return python


#: What runs in the installed environments, each in a fresh interpreter: (the environment,
#: the first import statement, whether SCALENET_NO_TIMM_AUTOLOAD=1 is set).
REAL_CASES = {
    "wheel: import timm": ("wheel", "import timm", False),
    "wheel: scalenet first": ("wheel", "import scalenet, timm", False),
    "wheel: timm first": ("wheel", "import timm, scalenet", False),
    "wheel: switched off": ("wheel", "import timm", True),
    # Switched off, but the process imports scalenet itself: timm must know its models.
    "wheel: switched off, scalenet first": ("wheel", "import scalenet", True),
    "wheel: switched off, timm first": ("wheel", "import timm, scalenet", True),
    "editable: from timm import create_model": ("editable", "from timm import create_model", False),
}
#: The cases that the default run makes (each costs an import of torch and timm: ~5 s); the
#: other orders of the two imports, whose logic the stand-ins above test, run under the
#: sweep marker (.ci/run).
DEFAULT_CASES = (
    "wheel: import timm",
    "wheel: switched off",
    "editable: from timm import create_model",
)


def cases(which: Iterable[str]) -> list[Any]:
    """``which`` as parameters, those not in DEFAULT_CASES marked ``sweep``."""
    return [
        case if case in DEFAULT_CASES else pytest.param(case, marks=pytest.mark.sweep)
        for case in which
    ]


REAL_SCRIPT = """
import json, sys
out = {"heavy_at_startup": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY),
       "hooks_at_startup": sum(hasattr(f, "_scalenet_timm_autoload") for f in sys.meta_path),
       "autoload": getattr(sys.modules.get("_scalenet_timm_autoload"), "__file__", None)}
STATEMENT
out["imported_by_statement"] = sorted({m.split(".")[0] for m in sys.modules} & set(LAZY))
import timm
out["scalenet_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "scalenet")
out["scalenet"] = sys.modules["scalenet"].__file__ if "scalenet" in sys.modules else None
try:
    out["model"] = type(timm.create_model("scalenet_w80")).__module__
    out["pretrained"] = timm.list_pretrained("resnet20_cifar*")
except RuntimeError as e:
    out["error"] = str(e)
print(json.dumps(out))
""".replace("HEAVY", repr(HEAVY)).replace("LAZY", repr(LAZY))


def knows_scalenet(case: str) -> bool:
    """Whether timm is to know scalenet's models: the hook is on, or scalenet was imported."""
    _, statement, off = REAL_CASES[case]
    return not off or "scalenet" in statement


def selected_cases(request: pytest.FixtureRequest) -> list[str]:
    """The cases that the tests of this module selected in this run ask for."""
    wanted = set()
    for item in request.session.items:
        if isinstance(item, pytest.Function) and item.module is request.module:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "case" in callspec.params:
                wanted.add(callspec.params["case"])
            wanted.update(getattr(item.function, "cases", ()))
    return [case for case in REAL_CASES if case in wanted]


def uses(*which: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declare the cases that a test reads from ``installed`` without a ``case`` parameter."""

    def mark(test: Callable[..., None]) -> Callable[..., None]:
        test.cases = which  # type: ignore[attr-defined]
        return test

    return mark


@pytest.fixture(scope="module")
def installed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, object]]:
    """Build both wheels, install each into its own environment, run the selected cases
    concurrently."""
    tmp = tmp_path_factory.mktemp("autoload")
    wheels = build_wheels(tmp / "dist")
    venvs = {kind: tmp / f"venv-{kind}" for kind in wheels}
    with ThreadPoolExecutor() as pool:
        installs = {
            kind: pool.submit(make_venv, venvs[kind], wheel) for kind, wheel in wheels.items()
        }
        pythons = {kind: future.result() for kind, future in installs.items()}

    def run(case: str) -> dict[str, object]:
        kind, statement, off = REAL_CASES[case]
        done = subprocess.run(
            [str(pythons[kind]), "-c", REAL_SCRIPT.replace("STATEMENT", statement)],
            capture_output=True, text=True, timeout=180, cwd=tmp,
            env=clean_env(**({autoload.ENV_VAR: "1"} if off else {})), check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
        return result | {"stderr": done.stderr, "venv": str(venvs[kind])}

    selected = selected_cases(request)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(selected, pool.map(run, selected), strict=True))


@pytest.mark.parametrize("case", cases(REAL_CASES))
def test_installed_hook_starts_without_torch_timm_or_scalenet(
    installed: dict[str, dict[str, object]], case: str
) -> None:
    report = installed[case]
    assert report["heavy_at_startup"] == []
    if REAL_CASES[case][2]:  # switched off: the .pth line did not import the hook module
        assert (report["autoload"], report["hooks_at_startup"]) == (None, 0)
    else:  # it imported the installed copy (in both environments) and installed the hook
        assert str(report["autoload"]).startswith(str(report["venv"]))
        assert report["hooks_at_startup"] == 1


@pytest.mark.parametrize("case", cases(c for c in REAL_CASES if knows_scalenet(c)))
def test_installed_timm_creates_scalenet_models(
    installed: dict[str, dict[str, object]], case: str
) -> None:
    report = installed[case]
    assert report["model"] == "scalenet.nn.resnet", report["stderr"]
    assert report["stderr"] == ""
    # The weights' tags too, as scalenet lists them (timm's default tag first, as scalenet's).
    assert report["pretrained"] == sorted(scalenet.list_models("resnet20_cifar*", pretrained=True))
    # scalenet is the wheel's own copy, or this checkout's sources for the editable install.
    home = report["venv"] if case.startswith("wheel") else SRC
    assert str(report["scalenet"]).startswith(str(home)), report["scalenet"]


@uses("wheel: import timm")
def test_installed_import_timm_registers_without_building_anything(
    installed: dict[str, dict[str, object]],
) -> None:
    """What `import timm` pays for scalenet: reading the registry's data (timm_registry.json);
    no config, plan, module, zoo or catalogue (each of those imports its module). The package
    connects its hooks (scalenet._hooks: a dict, no import)."""
    report = installed["wheel: import timm"]
    assert report["scalenet_modules"] == [
        "scalenet", "scalenet._hooks", "scalenet._version", "scalenet.integrations",
        "scalenet.integrations.timm_compat", "scalenet.integrations.timm_registry",
    ]  # fmt: skip


@pytest.mark.sweep
@uses("wheel: switched off, scalenet first")
def test_installed_import_scalenet_imports_no_torch_or_timm(
    installed: dict[str, dict[str, object]],
) -> None:
    report = installed["wheel: switched off, scalenet first"]
    assert report["imported_by_statement"] == []  # and `import timm` then registered (above)


@uses("wheel: switched off")
def test_installed_hook_switched_off(installed: dict[str, dict[str, object]]) -> None:
    report = installed["wheel: switched off"]
    assert report["scalenet"] is None  # never imported
    assert report["error"] == "Unknown model (scalenet_w80)"

"""Start-up: what the timm autoload hook costs, and how fast scalenet and its command start.

    python benchmarks/startup.py [--repeats 300] [--timm-repeats 5] [--cli-repeats 10]

1. start-up: ``python -c pass`` in two fresh, bare virtual environments (no other packages, so
   no other ``.pth`` file adds noise), one with the hook's two files in site-packages
   (``scalenet_timm_autoload.pth`` and ``_scalenet_timm_autoload.py``, copied from ``src/``)
   and one without; the hooked one also with ``SCALENET_NO_TIMM_AUTOLOAD=1``. The three run
   interleaved (the order rotates), and the report gives each median and the median of the
   paired differences (hooked - bare);
2. ``python -X importtime -c pass`` in the hooked environment: the import of the hook module
   itself, as Python times it (median);
3. every other import: the hook's ``find_spec`` for a name other than ``timm``, in process
   (``timeit``), and the number of imports that ``import timm`` makes, which each pay it once;
4. ``import timm`` (with torch) in an environment on top of this interpreter's packages, with
   the hook: the outermost scalenet rows of ``-X importtime`` (scalenet's modules that timm's
   import, through the hook, imported: the registration, the one cost the hook adds to
   ``import timm``) and their share of ``import timm``, in the same run (wall times of whole
   runs vary by hundreds of milliseconds here); the median of ``--timm-repeats`` runs
   (``0`` skips it);
5. scalenet's own start-up, as ratios of runs interleaved in the same environment (with the
   hook, this checkout's scalenet): ``scalenet --help`` and two usage errors (an unknown
   option, a ``--batch-size`` that is not an integer) against ``python -c "import argparse"``
   (goal: within 5x: no torch before a model is needed), and ``import scalenet`` against
   ``import torch`` (goal: within 1.3x); the median of ``--cli-repeats`` runs each
   (``0`` skips it).

Sections 4 and 5 use an environment whose own site-packages holds the hook, with this
checkout's ``src`` and then this interpreter's site-packages (torch, timm) on its path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import venv
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
FILES = ("scalenet_timm_autoload.pth", "_scalenet_timm_autoload.py")
ENV_VAR = "SCALENET_NO_TIMM_AUTOLOAD"


def site_packages(python: Path | str) -> list[str]:
    """The site-packages folders of the interpreter ``python``, its own first."""
    code = "import json, site, sysconfig; print(json.dumps([sysconfig.get_path('purelib'), "
    code += "*site.getsitepackages(), sysconfig.get_path('platlib')]))"
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, env=clean_env()
    ).stdout
    return [d for d in dict.fromkeys(json.loads(out)) if Path(d).is_dir()]


def environment(path: Path, *, hook: bool, packages: bool = False) -> Path:
    """A fresh virtual environment, with the hook's files when ``hook``; returns its python.

    With ``packages``, a path file puts this checkout's ``src`` and then this interpreter's
    site-packages on its path (not ``--system-site-packages``: inside a virtual environment
    that means the base interpreter's packages). Folders a path file adds are not scanned for
    ``.pth`` files, so a scalenet installed beside torch stays out of sight.
    """
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    site = Path(site_packages(python)[0])
    if hook:
        for name in FILES:
            shutil.copy(SRC / name, site / name)
        py_compile.compile(str(site / FILES[1]), doraise=True)  # as pip does on install
    if packages:  # this checkout's scalenet first, ahead of any installed one
        folders = [str(SRC), *site_packages(sys.executable)]
        (site / "_scalenet_checkout.pth").write_text("".join(f"{d}\n" for d in folders))
    return python


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", ENV_VAR)}
    return env | {"PYTHONNOUSERSITE": "1"} | extra


def wall(command: list[str | Path], env: dict[str, str], status: int = 0) -> float:
    """Seconds ``command`` takes; it must exit with ``status``."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode != status:
        raise SystemExit(f"{command} exited {done.returncode}, not {status}:\n{done.stderr}")
    return seconds


Run = tuple[list[str | Path], dict[str, str]] | tuple[list[str | Path], dict[str, str], int]


def interleaved(runs: dict[str, Run], repeats: int) -> dict[str, list[float]]:
    """Each run's wall times, the runs interleaved and the order rotating (after a warm-up).

    A run is (command, environment) or (command, environment, the exit status it must give).
    """
    names = list(runs)
    for run in runs.values():
        wall(*run)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(wall(*runs[name]))
    return times


def start_up(tmp: Path, repeats: int) -> Path:
    bare = environment(tmp / "bare", hook=False)
    hooked = environment(tmp / "hooked", hook=True)
    times = interleaved(
        {
            "bare (no hook)": ([bare, "-c", "pass"], clean_env()),
            "hooked": ([hooked, "-c", "pass"], clean_env()),
            f"hooked, {ENV_VAR}=1": ([hooked, "-c", "pass"], clean_env(**{ENV_VAR: "1"})),
        },
        repeats,
    )
    base = times["bare (no hook)"]
    print(f"1. `python -c pass`, median of {repeats} interleaved runs")
    for name, values in times.items():
        line = f"   {name:<42}{1e3 * statistics.median(values):>8.2f} ms"
        if values is not base:
            diffs = [a - b for a, b in zip(values, base, strict=True)]
            line += f"   {1e3 * statistics.median(diffs):>+6.2f} ms vs bare"
            line += f"  (ratio {statistics.median(values) / statistics.median(base):.3f})"
        print(line)
    return hooked


def importtime_rows(python: Path, code: str) -> list[tuple[int, int, int, str]]:
    """``python -X importtime -c code``: each row's (depth, self, cumulative microseconds, name),
    in the order Python prints them (a module after the modules it imported)."""
    stderr = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        capture_output=True, text=True, check=True, env=clean_env(),
    ).stderr  # fmt: skip
    rows = []
    for line in stderr.splitlines()[1:]:  # "import time: self | cumulative | name"
        own, cumulative, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((depth, int(own), int(cumulative), name.strip()))
    return rows


def importtime(python: Path, code: str) -> dict[str, tuple[int, int]]:
    """``python -X importtime -c code``: each module's (self, cumulative) microseconds."""
    return {name: (own, total) for _, own, total, name in importtime_rows(python, code)}


def is_scalenets(name: str) -> bool:
    return name.split(".")[0] in ("scalenet", "_scalenet_timm_autoload")


def outermost_scalenet_rows(rows: list[tuple[int, int, int, str]]) -> dict[str, int]:
    """The cumulative microseconds of scalenet's outermost rows under ``timm``: the modules of
    scalenet's that something other than scalenet imported (the hook, inside timm's import);
    each includes what it imported in turn."""
    found = {}
    for i, (depth, _, total, name) in enumerate(rows):
        if not is_scalenets(name):
            continue
        # The importer is the first row after this one that is less deep.
        parent = next((r[3] for r in rows[i + 1 :] if r[0] < depth), None)
        if parent is not None and not is_scalenets(parent) and parent.startswith("timm"):
            found[name] = total
    return found


def import_time(hooked: Path, repeats: int) -> None:
    selfs, cumulatives = [], []
    for _ in range(repeats):
        own, cumulative = importtime(hooked, "pass")["_scalenet_timm_autoload"]
        selfs.append(own)
        cumulatives.append(cumulative)
    print(f"2. `python -X importtime -c pass`, hooked, median of {repeats}")
    print(f"   import _scalenet_timm_autoload: self {statistics.median(selfs):.0f} us, "
          f"cumulative {statistics.median(cumulatives):.0f} us")  # fmt: skip


def other_imports() -> None:
    sys.path.insert(0, str(SRC))
    import _scalenet_timm_autoload as autoload

    finder = autoload._TimmFinder()
    number = 1_000_000
    seconds = min(timeit.repeat(lambda: finder.find_spec("json", None), number=number, repeat=5))
    print("3. the hook on every other import (in process, best of 5)")
    print(f"   find_spec(name other than 'timm'): {1e9 * seconds / number:.0f} ns a call")
    count = subprocess.run(
        [sys.executable, "-c", "import sys; n = len(sys.modules); import timm; "
         "print(len(sys.modules) - n)"],
        capture_output=True, text=True, check=True, env=clean_env(**{ENV_VAR: "1"}),
    ).stdout.strip()  # fmt: skip
    print(f"   modules that `import timm` imports (each asks the hook once): {count}")


def with_packages(tmp: Path) -> Path:
    """The environment of sections 4 and 5 (made once)."""
    path = tmp / "with-packages"
    if not path.exists():
        environment(path, hook=True, packages=True)
        check = (
            "import timm, sys; import scalenet.integrations.timm_compat as t; "
            "timm.create_model('scalenet_w80')"
        )
        check += f"; assert t.__file__.startswith({str(SRC)!r}), t.__file__"
        subprocess.run([path / "bin" / "python", "-c", check], check=True, env=clean_env())
    return path / "bin" / "python"


def import_timm(tmp: Path, repeats: int) -> None:
    python = with_packages(tmp)
    totals, ours, shares = [], [], []
    rows_seen: dict[str, list[int]] = {}
    for _ in range(repeats):
        rows = importtime_rows(python, "import timm")
        total = next(r[2] for r in rows if r[3] == "timm")  # scalenet's rows included
        outer = outermost_scalenet_rows(rows)
        for name, value in outer.items():
            rows_seen.setdefault(name, []).append(value)
        totals.append(total)
        ours.append(sum(outer.values()))
        shares.append(sum(outer.values()) / total)
    median = statistics.median
    print(f"4. `python -X importtime -c 'import timm'`, hooked, median of {repeats}")
    print(f"   import timm (torch included, the hook's registration included){'':<4}"
          f"{median(totals) / 1e3:>8.0f} ms")  # fmt: skip
    print(
        f"   of which scalenet's outermost rows (the hook's registration){'':<7}"
        f"{median(ours) / 1e3:>8.1f} ms  ({100 * median(shares):.2f}% of import timm)"
    )
    for name, values in sorted(rows_seen.items(), key=lambda kv: -median(kv[1])):
        print(f"     {name:<62}{median(values) / 1e3:>8.1f} ms")


def scalenet_start(tmp: Path, repeats: int) -> None:
    python = with_packages(tmp)
    cli = [python, "-c", "from scalenet.cli import main; main()"]  # what the script runs
    env = clean_env()
    times = interleaved(
        {
            "python -c 'import argparse'": ([python, "-c", "import argparse"], env),
            "scalenet --help": ([*cli, "--help"], env),
            "scalenet --nope (usage error)": ([*cli, "--nope"], env, 2),
            "scalenet summary resnet20_cifar --batch-size x": (
                [*cli, "summary", "resnet20_cifar", "--batch-size", "x"], env, 2,
            ),
            "python -c 'import torch'": ([python, "-c", "import torch"], env),
            "python -c 'import scalenet'": ([python, "-c", "import scalenet"], env),
        },
        repeats,
    )  # fmt: skip
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"5. scalenet's start-up, median of {repeats} interleaved runs (hooked, this checkout)")
    for name, reference, goal in (
        ("scalenet --help", "python -c 'import argparse'", 5.0),
        ("scalenet --nope (usage error)", "python -c 'import argparse'", 5.0),
        ("scalenet summary resnet20_cifar --batch-size x", "python -c 'import argparse'", 5.0),
        ("python -c 'import scalenet'", "python -c 'import torch'", 1.3),
    ):
        ratio = median[name] / median[reference]
        print(f"   {name:<48}{1e3 * median[name]:>8.0f} ms  {ratio:>6.2f}x {reference}"
              f" ({1e3 * median[reference]:.0f} ms; goal <= {goal:g}x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300, help="start-up runs of each kind")
    parser.add_argument("--timm-repeats", type=int, default=5, help="`import timm` runs (0: skip)")
    parser.add_argument(
        "--cli-repeats", type=int, default=10, help="runs of each in section 5 (0: skip)"
    )
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        hooked = start_up(Path(tmp), args.repeats)
        import_time(hooked, min(args.repeats, 100))
        other_imports()
        if args.timm_repeats:
            import_timm(Path(tmp), args.timm_repeats)
        if args.cli_repeats:
            scalenet_start(Path(tmp), args.cli_repeats)


if __name__ == "__main__":
    main()

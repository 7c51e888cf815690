"""The docs' test set-up (conftest.py at the repository root) catches what a reader would hit.

Every Python block of README.md and docs/*.md is collected by Sybil and run as pasted. Here a
throw-away page with known-good and known-bad blocks goes through the same conftest.py, in a
separate pytest run, and each block must pass, fail or be skipped as a reader pasting it would
find. The pages' own tests are collected from ``testpaths`` (pyproject.toml).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = "```"

PAGE = f"""
# A page with good and bad snippets

{FENCE}python
import math

radius = 2.0
print(math.pi * radius**2)
{FENCE}

Uses `radius` from the block above: pasted alone, it is a NameError.

{FENCE}python
print(radius)
{FENCE}

{FENCE}python
import scalenet

scalenet.resnet(depth=21, stem="cifar")   # not 6n+2: a ConfigError
{FENCE}

{FENCE}python
>>> import scalenet
>>> scalenet.resnet(depth=20, stem="cifar").config.width
16
>>> scalenet.resnet(depth=20, stem="cifar").config.depths
(3, 3, 4)
{FENCE}

{FENCE}python
>>> import scalenet
>>> scalenet.resnet(depth=21, stem="cifar")
Traceback (most recent call last):
  ...
scalenet.errors.ConfigError: depth=21 is not allowed: ... (nearest valid depths: 20 or 26)
{FENCE}

{FENCE}python
from pathlib import Path

Path("written.txt").write_text("a block writes into a folder of its own")
{FENCE}

{FENCE}python
from pathlib import Path

assert not Path("written.txt").exists()
{FENCE}

<!-- skip: next "needs the real internet: a demonstration" -->
{FENCE}python
raise RuntimeError("a skipped block never runs")
{FENCE}

{FENCE}bash
this is not python and is not run
{FENCE}
"""


def run_page(tmp_path: Path, page: str) -> dict[int, str]:
    """Run ``page`` through the repository's conftest.py; the outcome of each block by line."""
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "page.md").write_text(page)
    report = tmp_path / "report.xml"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT / "src")]))
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}",
         "page.md"],
        cwd=tmp_path, env=env, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        line = int(re.search(r"line[:=](\d+)", case.get("name", "")).group(1))  # type: ignore[union-attr]
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[line] = kinds[0] if kinds else "passed"
    return outcomes


def line_of(page: str, text: str) -> int:
    """The 1-based line on which ``text`` starts (a doctest example is reported by its line)."""
    return page[: page.index(text)].count("\n") + 1


def fence(page: str, text: str) -> int:
    """The 1-based line of the opening fence of the block holding ``text``."""
    return page[: page.rindex(f"{FENCE}python", 0, page.index(text))].count("\n") + 1


def test_broken_snippets_fail_and_good_ones_pass(tmp_path: Path) -> None:
    outcomes = run_page(tmp_path, PAGE)
    assert outcomes[fence(PAGE, "import math")] == "passed"
    assert outcomes[fence(PAGE, "print(radius)")] == "failure"  # no state from an earlier block
    assert outcomes[fence(PAGE, 'scalenet.resnet(depth=21, stem="cifar")   #')] == "failure"
    # a transcript: each example is checked, and a wrong output fails
    assert outcomes[line_of(PAGE, '>>> scalenet.resnet(depth=20, stem="cifar").config.width')] == (
        "passed"
    )
    assert outcomes[line_of(PAGE, '>>> scalenet.resnet(depth=20, stem="cifar").config.depths')] == (
        "failure"
    )
    assert outcomes[line_of(PAGE, '>>> scalenet.resnet(depth=21, stem="cifar")\n')] == "passed"
    # each block has an empty working directory of its own
    assert outcomes[fence(PAGE, 'Path("written.txt").write_text')] == "passed"
    assert outcomes[fence(PAGE, 'assert not Path("written.txt")')] == "passed"
    assert outcomes[fence(PAGE, 'raise RuntimeError("a skipped')] == "skipped"
    assert fence(PAGE.replace(f"{FENCE}bash", f"{FENCE}python"), "this is not") not in outcomes
    # 6 blocks, 5 examples in 2 transcripts and the skip marker: nothing else ran
    assert len(outcomes) == 12


def test_the_docs_pages_are_collected() -> None:
    """Every page is in testpaths, so `python -m pytest` (the README's command) runs it."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    for pattern in ('"README.md"', '"docs/*.md"', '"examples/README.md"'):
        assert pattern in pyproject
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    python_blocks = sum(p.read_text().count(f"{FENCE}python\n") for p in pages)
    assert python_blocks >= 30


def test_the_two_commands_agree() -> None:
    """README, the docs' home page and getting-started give the same first two commands."""

    def two_commands(path: Path) -> str:
        text = path.read_text()
        block = re.search(rf"{FENCE}bash\n(python -m pip install .*?){FENCE}", text, re.S)
        assert block is not None, f"{path.name} has no install command"
        return block.group(1)

    readme = two_commands(ROOT / "README.md")
    # .ci/run runs the README's first bash block, line by line, in a fresh virtual environment
    first = re.search(rf"{FENCE}bash\n(.*?){FENCE}", (ROOT / "README.md").read_text(), re.S)
    assert first is not None
    assert first.group(1) == readme
    assert len(readme.splitlines()) == 2
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    for line in readme.splitlines():  # CI runs the same two lines, in a fresh venv
        assert line in ci_lines, line
    assert "python -m pytest" in readme
    assert "examples/train.py" in readme
    assert two_commands(ROOT / "docs" / "index.md") == readme
    start = (ROOT / "docs" / "getting-started.md").read_text().index("## Two commands")
    tail = (ROOT / "docs" / "getting-started.md").read_text()[start:]
    assert re.search(rf"{FENCE}bash\n(.*?){FENCE}", tail, re.S).group(1) == readme  # type: ignore[union-attr]


#: The pages a reader follows: every ``pip install`` they show.
INSTALL_PAGES = ["README.md", "examples/README.md", "docs/*.md"]
#: ``pip install`` and its arguments, up to the end of the line, a comment or a shell operator.
_PIP = re.compile(r"pip install((?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s`\"';&|)#]+))+)")


def _requirements(args: str) -> list[str]:
    """The requirement arguments of a ``pip install`` (options such as ``-e`` left out)."""
    return [a.strip("\"'") for a in shlex.split(args) if not a.startswith("-")]


def test_every_pip_install_line_installs_this_library() -> None:
    """Until the PyPI name is ours, ``pip install scalenet`` installs an unrelated project
    (README.md, "Install"): every install command in the README and docs names this repository
    or a local path. The bare name appears only where the pages say so (inline, in prose)."""
    root = Path(__file__).resolve().parents[1]
    bad = []
    commands = 0
    for page in (p for pattern in INSTALL_PAGES for p in sorted(root.glob(pattern))):
        text = page.read_text(encoding="utf-8")
        for match in _PIP.finditer(text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
            for requirement in _requirements(match.group(1)):
                commands += 1
                local = requirement.startswith((".", "/")) or "@ git+" in requirement
                warned = requirement == "scalenet" and "`pip install scalenet`" in line
                if not (local or warned):
                    bad.append(f"{page.name}: {requirement!r} in {line.strip()!r}")
    assert commands >= 10  # the pages do show installs: the pattern finds them
    assert not bad, "\n".join(bad)

"""The package's imports go one way (docs/architecture.md): no module of ``src/scalenet``
imports, directly or through others, a module that imports it back, counting every import
statement wherever it stands (at the top, inside a function, under ``TYPE_CHECKING``); and the
layers written in pyproject.toml hold (import-linter, the same check as .ci/run's
``lint-imports``)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from importlinter.cli import lint_imports

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "scalenet"


def _modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["scalenet", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement names (``from a import b``: ``a.b``, which
    :func:`import_graph` resolves to the module ``a.b``, or to ``a`` when ``b`` is a name in it)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        for alias in node.names:
            yield f"{source}.{alias.name}"


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports: each name resolved to the longest module
    it names (``from . import config`` is ``scalenet.config``, ``from .config import X`` too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for target in _imported(node, name, path.name == "__init__.py"):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components: each a set of modules that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            components.append(component)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_the_walk_finds_cycles_and_resolves_imports() -> None:
    # A hand-made graph: a -> b -> c -> a is one component, d on its own.
    cycle = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert sorted(map(sorted, strongly_connected(cycle))) == [["a", "b", "c"], ["d"]]
    graph = import_graph()
    # Imports in a function body and under TYPE_CHECKING count: the package's __init__
    # imports its modules under TYPE_CHECKING and on first use only.
    assert {"scalenet.zoo", "scalenet.nn", "scalenet.analysis.profile"} <= graph["scalenet"]
    assert "scalenet.errors" in graph["scalenet.config"]


def test_no_module_imports_itself_back() -> None:
    cycles = [sorted(c) for c in strongly_connected(import_graph()) if len(c) > 1]
    assert cycles == []


def test_the_layers_of_pyproject_hold() -> None:
    root = PACKAGE.parents[1]
    assert lint_imports(config_filename=str(root / "pyproject.toml"), no_cache=True) == 0

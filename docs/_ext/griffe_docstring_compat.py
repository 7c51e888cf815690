"""Griffe extension for the API reference: read scalenet's docstrings the way Napoleon does.

Loaded by mkdocs.yml (``plugins.mkdocstrings.handlers.python.options.extensions``); it is not
part of the package and changes nothing in ``src/``. Two things in the docstrings are Google
style as Sphinx/Napoleon reads it but not as griffe does:

1. ``Example:`` (singular) section titles. Griffe knows only ``Examples:``; it renders
   ``Example:`` as an admonition whose body is Markdown, so every ``>>>`` line becomes a
   blockquote and doctest output such as ``[2304]`` or ``cfg["a"]["b"]`` is read as a Markdown
   link (the unresolved cross-reference warnings that fail ``mkdocs build --strict``). This
   extension renames the title so the block is parsed as a doctest example.
2. Sphinx roles (``:class:`~scalenet.errors.ShapeError```, ``:func:`create```...), which
   Markdown shows literally. They become optional cross-references: a link where the target
   is on the site, inline code (no warning) where it is not.

Once the docstrings say ``Examples:`` and use mkdocstrings' cross-reference syntax
(``[ShapeError][scalenet.errors.ShapeError]``), this extension has nothing left to do and can
be removed from mkdocs.yml.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_EXAMPLE_TITLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const|type):`(?P<tilde>~?)(?P<target>[^`]+)`"
)


def _identifier(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj``'s scope (best effort)."""
    target = target.lstrip(".")
    head, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            resolved = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            scope = scope.parent
            continue
        return f"{resolved}.{rest}" if rest else resolved
    return target


def _roles_to_autorefs(obj: griffe.Object, text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        target = match["target"].strip()
        title = target.rsplit(".", 1)[-1] if match["tilde"] else target
        identifier = html.escape(_identifier(obj, target), quote=True)
        code = f"<code>{html.escape(title)}</code>"
        return f'<autoref identifier="{identifier}" optional>{code}</autoref>'

    return _ROLE.sub(repl, text)


class DocstringCompat(griffe.Extension):
    """Rename ``Example:`` sections to ``Examples:`` and turn Sphinx roles into autorefs."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                value = _EXAMPLE_TITLE.sub(r"\g<indent>Examples:", obj.docstring.value)
                obj.docstring.value = _roles_to_autorefs(obj, value)
                obj.docstring.__dict__.pop("parsed", None)  # drop a parse cached before this
            stack.extend(m for m in obj.members.values() if isinstance(m, griffe.Object))

    # griffe 1.x before the hook was renamed (the work is idempotent if both run).
    on_package_loaded = on_package

"""Operations that a lower layer offers and a higher one carries out, connected from above.

A config checks its input size against its layer plan and builds its model; a model saves
itself and pushes itself to the Hub. The config and the model sit below the plan, the modules
and the Hub code they call, so they do not import them: they call the functions held here, and
the package's ``__init__`` (the top of the layers, which always runs before any submodule) puts
them here. Imports then only go down, and the conveniences keep working however the user
imports scalenet.

This module imports nothing from scalenet.

Examples:
    >>> import scalenet
    >>> from scalenet import _hooks
    >>> _hooks.call("build", scalenet.ResNetConfig(depths=(1, 1), width=4)).__class__.__name__
    'ResNet'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

__all__ = ["Name", "call", "connect"]

#: The operations, each named by what it does: ``check_input_size(config, size)``,
#: ``build(config)``, ``save_pretrained(model, folder, **options)``,
#: ``push_to_hub(model, repo_id, **options)``.
Name = Literal["check_input_size", "build", "save_pretrained", "push_to_hub"]

_connected: dict[str, Callable[..., Any]] = {}


def connect(name: Name, function: Callable[..., Any]) -> None:
    """Have :func:`call` of ``name`` run ``function`` (done once, by the package's ``__init__``)."""
    _connected[name] = function


def call(name: Name, *args: Any, **kwargs: Any) -> Any:
    """Run the function connected to ``name``.

    Raises:
        RuntimeError: nothing is connected: only when ``scalenet/__init__.py`` did not run,
            which importing any part of scalenet makes impossible.
    """
    function = _connected.get(name)
    if function is None:
        raise RuntimeError(
            f"scalenet: {name!r} is not connected (scalenet/__init__.py did not run)"
        )
    return function(*args, **kwargs)

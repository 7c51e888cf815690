"""Makes timm see scalenet's models without ``import scalenet``: the autoload hook.

timm has no plugin mechanism, so scalenet installs ``scalenet_timm_autoload.pth`` into
site-packages, next to this module. Python runs its one line at every start-up: unless
``SCALENET_NO_TIMM_AUTOLOAD`` switches the hook off, it imports this module (which imports only
``os`` and ``sys``, both already loaded) and calls :func:`install`.
That puts a finder at the front of ``sys.meta_path`` which answers ``None`` at once for every
import but the top-level ``timm``. For ``timm`` it looks the package up with the other finders
and wraps its loader, so that when timm's ``__init__`` has finished executing (timm fully
importable, ``timm.models`` included), :func:`register` imports
``scalenet.integrations.timm_compat``, which registers the zoo with timm. The finder takes itself
off ``sys.meta_path`` once timm is imported, and timm's own loader is put back on the module.

- ``SCALENET_NO_TIMM_AUTOLOAD`` set to anything but ``""``, ``0``, ``false``, ``no`` or
  ``off`` (any case, surrounding spaces ignored) switches the hook off; it is read once, when
  the ``.pth`` file runs at start-up.
- ``import timm`` never fails because of the hook: if the registration raises, a
  ``RuntimeWarning`` says what failed and how to switch the hook off.
- ``import scalenet`` does not import timm. It calls ``install(force=True)``: registration at
  once if timm is imported already, else this finder (even with the hook switched off, since
  the user asked for scalenet), so timm knows scalenet's models whichever comes first.

Examples:
    >>> import _scalenet_timm_autoload as autoload
    >>> autoload.switched_off({"SCALENET_NO_TIMM_AUTOLOAD": "1"})
    True
    >>> autoload.switched_off({"SCALENET_NO_TIMM_AUTOLOAD": "0"}), autoload.switched_off({})
    (False, False)
"""

import os
import sys

# Start-up time: no `from __future__ import annotations` and no typing module (both imports);
# the annotations that name types from elsewhere are strings.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType
else:
    Loader = object  # duck-typed at run time (importlib.abc costs start-up time)

__all__ = ["ENV_VAR", "install", "installed", "register", "switched_off", "uninstall"]

#: The version of what ``import scalenet`` expects here (``install(force=True)``, registration
#: through ``scalenet.integrations.timm_compat``). A copy without it is older (an editable install
#: that was not reinstalled): scalenet's import then registers at once, as it did before.
VERSION = 2

#: The environment variable that switches the hook off.
ENV_VAR = "SCALENET_NO_TIMM_AUTOLOAD"

#: Values of ``ENV_VAR`` that leave the hook on (after ``.strip().lower()``); others switch off.
#: The ``.pth`` file holds the same set, so that a switched-off hook does not even import this.
_KEEP_ON = frozenset({"", "0", "false", "no", "off"})

#: The attribute that marks a finder as this hook (whichever copy of this module made it).
_MARKER = "_scalenet_timm_autoload"


def switched_off(environ: "Mapping[str, str] | None" = None) -> bool:
    """Whether ``SCALENET_NO_TIMM_AUTOLOAD`` switches the hook off (default: ``os.environ``).

    Examples:
        >>> switched_off({"SCALENET_NO_TIMM_AUTOLOAD": "yes"})
        True
        >>> switched_off({"SCALENET_NO_TIMM_AUTOLOAD": " Off "})
        False
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return value.strip().lower() not in _KEEP_ON


def install(force: bool = False) -> None:
    """Install the hook, unless ``SCALENET_NO_TIMM_AUTOLOAD`` switches it off.

    The ``.pth`` file calls it at start-up. It does nothing when the hook is already installed.
    If timm is already imported, nothing is left to hook: it registers scalenet's models at
    once (:func:`register`).

    Args:
        force: install even when the hook is switched off, and let an error of an immediate
            registration propagate rather than warn. ``import scalenet`` calls it so: whoever
            imports scalenet asked for it, and timm is to know its models once imported.

    Examples:
        >>> import timm, _scalenet_timm_autoload as autoload
        >>> autoload.install()   # timm is imported already: registers at once, installs nothing
        >>> autoload.installed(), timm.list_models("scalenet_w80")
        (False, ['scalenet_w80'])
    """
    if switched_off() and not force:
        return
    timm = sys.modules.get("timm")
    if timm is not None:
        # Installed after timm was imported (not at start-up). While timm's own import is
        # still running, the hook (which wraps its loader) registers once it has finished.
        if not getattr(getattr(timm, "__spec__", None), "_initializing", False):
            register(warn=not force)
        return
    if not installed():
        sys.meta_path.insert(0, _TimmFinder())


def installed() -> bool:
    """Whether the hook is waiting on ``sys.meta_path`` for timm's import.

    Examples:
        >>> import timm, _scalenet_timm_autoload as autoload
        >>> autoload.installed()   # timm is imported: the hook fired, or was never needed
        False
    """
    return any(getattr(finder, _MARKER, False) for finder in sys.meta_path)


def uninstall() -> bool:
    """Take the hook off ``sys.meta_path``; returns whether it was there.

    Examples:
        >>> import timm, _scalenet_timm_autoload as autoload
        >>> autoload.uninstall()   # timm is imported: the hook fired, or was never installed
        False
    """
    others = [finder for finder in sys.meta_path if not getattr(finder, _MARKER, False)]
    if len(others) == len(sys.meta_path):
        return False
    # A new list, not removal in place: another thread's import may be walking the old one,
    # and would skip the finder after a removed one.
    sys.meta_path = others
    return True


def register(warn: bool = True) -> None:
    """Register scalenet's models with timm by importing ``scalenet.integrations.timm_compat``.

    Does nothing once ``scalenet.integrations.timm_compat`` is imported or being imported (its
    import registers; it imports timm itself, which is how the hook can fire in the middle of it).

    Args:
        warn: turn an error into a ``RuntimeWarning`` (``import timm`` must not fail because
            of the hook); ``False`` lets it propagate.

    Examples:
        >>> import timm, _scalenet_timm_autoload as autoload
        >>> autoload.register()
        >>> timm.list_models("scalenet_w80")
        ['scalenet_w80']
    """
    if "scalenet.integrations.timm_compat" in sys.modules:
        return
    try:
        import scalenet.integrations.timm_compat  # noqa: F401  (registers the zoo with timm)
    except Exception as error:
        if not warn:
            raise
        _warn(error)


def _warn(error: Exception) -> None:
    message = (
        f"scalenet could not register its models with timm ({type(error).__name__}: {error}), "
        f"so timm does not know scalenet's model names; timm itself was imported. Fix or "
        f"reinstall scalenet, or set {ENV_VAR}=1 to switch off the hook that imports scalenet "
        f"along with timm (scalenet_timm_autoload.pth in site-packages)."
    )
    import warnings

    try:
        # At the line that imported timm: _warn, register, exec_module (or install), then
        # that line's frame (warnings skips the import system's own frames).
        warnings.warn(message, RuntimeWarning, stacklevel=4)
    except Exception:  # warnings turned into errors (-W error) must not break `import timm`
        print(f"RuntimeWarning: {message}", file=sys.stderr)


class _TimmFinder:
    """A ``sys.meta_path`` finder that hooks the loading of the top-level ``timm`` package."""

    _scalenet_timm_autoload = True  # the marker (_MARKER)

    def find_spec(
        self, fullname: str, path: "Sequence[str] | None", target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        """``None`` for anything but ``timm``; for ``timm``, its spec with a wrapped loader.

        Examples:
            >>> finder = _TimmFinder()
            >>> finder.find_spec("json", None) is None
            True
        """
        if fullname != "timm":
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec: ModuleSpec | None = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None  # timm is not installed: stay, in case it is installed later
        # The hook stays until the loader has run: importlib.util.find_spec("timm"), which
        # libraries call to see whether timm is installed, must not use it up. A loader
        # without exec_module (the long-deprecated load_module protocol) is not hooked.
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(Loader):
    """Runs timm's own loader, puts it back on the module, then registers scalenet's models."""

    def __init__(self, loader: "Loader") -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> object:  # get_source, is_package, get_resource_reader
        if name == "_loader":  # not set yet (copy, pickle): no endless recursion
            raise AttributeError(name)
        return getattr(self._loader, name)

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        create = getattr(self._loader, "create_module", None)
        module: ModuleType | None = create(spec) if create is not None else None
        return module

    def exec_module(self, module: "ModuleType") -> None:
        try:
            self._loader.exec_module(module)
        finally:
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
        # timm is imported (had it raised, the hook would stay for the next attempt).
        uninstall()
        register()

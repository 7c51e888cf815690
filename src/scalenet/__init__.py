"""scalenet: scalable convolutional classifiers for PyTorch, described by typed configs.

``import scalenet`` is light: it imports none of its modules. Each public name (configs, the
layer plan, models, builders, the zoo, profiles, weights, the Hub) imports its module on first
use, and torch where it needs it; timm, torchvision, fvcore, huggingface_hub and safetensors
are imported only by what needs them. timm knows scalenet's
models whenever it is imported, before or after scalenet (the docs' "Using scalenet models
with timm").

Examples:
    >>> import scalenet
    >>> model = scalenet.resnet(depths=(2, 2, 2, 2), width=64, num_classes=10)
    >>> scalenet.output_stride(model.config)
    32
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _hooks
from ._version import __version__

if TYPE_CHECKING:  # imported on first use (__getattr__ below); mypy and IDEs see them here
    from .builders import resnet, simple_cnn, wrn
    from .config import ResNetConfig, SimpleCNNConfig, config_from_dict
    from .depth import resnet_layout
    from .errors import ConfigError, InputError, ScaleNetError, ShapeError, WeightsError
    from .hub import from_pretrained, push_to_hub, save_pretrained
    from .inference import optimize_for_inference
    from .models import ResNet, ScaleNetModel, SimpleCNN
    from .plan import LayerSpec, min_input_size, output_stride, plan
    from .profile import LayerRow, Profile, profile
    from .scaling import compound_scale, fit_budget, scale
    from .sizes import check_input_size, nearest_valid_sizes, valid_input_sizes
    from .weights import load_weights
    from .zoo import ZooEntry, create, get_config, get_entry, list_models

__all__ = [
    "ConfigError",
    "InputError",
    "LayerRow",
    "LayerSpec",
    "Profile",
    "ResNet",
    "ResNetConfig",
    "ScaleNetError",
    "ScaleNetModel",
    "ShapeError",
    "SimpleCNN",
    "SimpleCNNConfig",
    "WeightsError",
    "ZooEntry",
    "__version__",
    "check_input_size",
    "compound_scale",
    "config_from_dict",
    "create",
    "fit_budget",
    "from_pretrained",
    "get_config",
    "get_entry",
    "list_models",
    "load_weights",
    "min_input_size",
    "nearest_valid_sizes",
    "optimize_for_inference",
    "output_stride",
    "plan",
    "profile",
    "push_to_hub",
    "resnet",
    "resnet_layout",
    "save_pretrained",
    "scale",
    "simple_cnn",
    "valid_input_sizes",
    "wrn",
]

#: The names imported on first use, and the module that defines each.
_LAZY = {
    "resnet": "builders",
    "simple_cnn": "builders",
    "wrn": "builders",
    "ResNetConfig": "config",
    "SimpleCNNConfig": "config",
    "config_from_dict": "config",
    "resnet_layout": "depth",
    "ConfigError": "errors",
    "InputError": "errors",
    "ScaleNetError": "errors",
    "ShapeError": "errors",
    "WeightsError": "errors",
    "from_pretrained": "hub",
    "push_to_hub": "hub",
    "save_pretrained": "hub",
    "optimize_for_inference": "inference",
    "ResNet": "models",
    "ScaleNetModel": "models",
    "SimpleCNN": "models",
    "LayerSpec": "plan",
    "min_input_size": "plan",
    "output_stride": "plan",
    "plan": "plan",
    "LayerRow": "profile",
    "Profile": "profile",
    "profile": "profile",
    "compound_scale": "scaling",
    "fit_budget": "scaling",
    "scale": "scaling",
    "check_input_size": "sizes",
    "nearest_valid_sizes": "sizes",
    "valid_input_sizes": "sizes",
    "load_weights": "weights",
    "ZooEntry": "zoo",
    "create": "zoo",
    "get_config": "zoo",
    "get_entry": "zoo",
    "list_models": "zoo",
}
#: Submodules that ``scalenet.<name>`` imports on first use (``scalenet.zoo.ZOO`` after a
#: plain ``import scalenet``, as when the package imported them all).
_SUBMODULES = frozenset({
    "builders", "card", "cli", "config", "counting", "depth", "errors", "hub", "inference",
    "layers", "models", "plan", "pretrained", "profile", "saving", "scaling", "sizes", "tables",
    "timm_build", "timm_compat", "timm_registry", "weight_files", "weights", "zoo",
})  # fmt: skip

if not TYPE_CHECKING:  # for mypy, the names above are the package's only attributes

    def __getattr__(name: str) -> object:
        """Import a lazy name's module on first use (PEP 562) and keep the name."""
        module = _LAZY.get(name)
        if module is None:
            if name not in _SUBMODULES:
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
            # `scalenet.profile` the submodule would shadow `scalenet.profile` the function.
            return importlib.import_module(f"{__name__}.{name}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


class _Package(types.ModuleType):
    """The package's module type: ``scalenet.profile`` stays the function.

    Importing the submodule ``scalenet.profile`` (which any module may do, at any time) sets
    the package's attribute of that name to the submodule; the function it defines is kept
    instead, as when the package imported it up front.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


# The operations that configs and models offer and higher layers carry out (see _hooks).
def _check_input_size(config: ResNetConfig | SimpleCNNConfig, size: int) -> None:
    from .sizes import check_input_size

    check_input_size(config, size)


def _build(config: ResNetConfig | SimpleCNNConfig) -> ScaleNetModel:
    from .models import build

    return build(config)


def _save_pretrained(model: ScaleNetModel, folder: str | Path, **options: Any) -> Path:
    from .saving import save_pretrained

    return save_pretrained(model, folder, **options)


def _push_to_hub(model: ScaleNetModel, repo_id: str, **options: Any) -> str:
    from .saving import push_to_hub

    return push_to_hub(model, repo_id, **options)


_hooks.connect("check_input_size", _check_input_size)
_hooks.connect("build", _build)
_hooks.connect("save_pretrained", _save_pretrained)
_hooks.connect("push_to_hub", _push_to_hub)


def __dir__() -> list[str]:
    """Every public name, the lazy ones included (``dir(scalenet)``, tab completion)."""
    return sorted(set(globals()) | set(__all__))


def _register_with_timm() -> None:
    """Have timm know scalenet's models whenever it is imported, without importing it here.

    At once if timm is imported already (an error propagates, as from any import); otherwise
    the autoload hook's finder registers when timm is imported, even where
    ``SCALENET_NO_TIMM_AUTOLOAD`` switched the hook off at start-up (the switch is about
    ``import timm`` alone; this process imported scalenet). Without the hook's module, or with
    an older copy of it than this package's, it registers at once when timm is installed.
    """
    autoload: types.ModuleType | None
    try:
        import _scalenet_timm_autoload as autoload
    except ImportError:  # the package alone, without the module installed beside it
        autoload = None
    if autoload is not None and getattr(autoload, "VERSION", 1) >= 2:
        autoload.install(force=True)
        return
    import importlib.util

    if "timm" in sys.modules or importlib.util.find_spec("timm") is not None:
        importlib.import_module(f"{__name__}.timm_compat")


_register_with_timm()

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
    from .analysis.profile import LayerRow, Profile, profile
    from .analysis.validate import validate
    from .config import Config, ResNetConfig, SimpleCNNConfig, config_from_dict
    from .config.depth import resnet_layout
    from .errors import (
        ConfigError,
        ConfigTypeError,
        InputError,
        ScaleNetError,
        ShapeError,
        WeightsError,
    )
    from .hub.load import from_pretrained, push_to_hub, save_pretrained
    from .integrations.inference import optimize_for_inference
    from .io.weights import load_weights
    from .nn import ResNet, ScaleNetModel, SimpleCNN
    from .nn.builders import resnet, simple_cnn, wrn
    from .spec.plan import LayerSpec, min_input_size, output_stride, plan
    from .spec.scaling import compound_scale, fit_budget, scale
    from .spec.sizes import check_input_size, nearest_valid_sizes, valid_input_sizes
    from .zoo import ZooEntry, create, get_config, get_entry, list_models

__all__ = [
    "ConfigError",
    "ConfigTypeError",
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
    "validate",
    "wrn",
]

#: The names imported on first use, and the module that defines each.
_LAZY = {
    "resnet": "nn.builders",
    "simple_cnn": "nn.builders",
    "wrn": "nn.builders",
    "ResNetConfig": "config",
    "SimpleCNNConfig": "config",
    "config_from_dict": "config",
    "resnet_layout": "config.depth",
    "ConfigError": "errors",
    "ConfigTypeError": "errors",
    "InputError": "errors",
    "ScaleNetError": "errors",
    "ShapeError": "errors",
    "WeightsError": "errors",
    "from_pretrained": "hub.load",
    "push_to_hub": "hub.load",
    "save_pretrained": "hub.load",
    "optimize_for_inference": "integrations.inference",
    "ResNet": "nn",
    "ScaleNetModel": "nn",
    "SimpleCNN": "nn",
    "LayerSpec": "spec.plan",
    "min_input_size": "spec.plan",
    "output_stride": "spec.plan",
    "plan": "spec.plan",
    "LayerRow": "analysis.profile",
    "Profile": "analysis.profile",
    "profile": "analysis.profile",
    "validate": "analysis.validate",
    "compound_scale": "spec.scaling",
    "fit_budget": "spec.scaling",
    "scale": "spec.scaling",
    "check_input_size": "spec.sizes",
    "nearest_valid_sizes": "spec.sizes",
    "valid_input_sizes": "spec.sizes",
    "load_weights": "io.weights",
    "ZooEntry": "zoo",
    "create": "zoo",
    "get_config": "zoo",
    "get_entry": "zoo",
    "list_models": "zoo",
}
#: Submodules that ``scalenet.<name>`` imports on first use (``scalenet.zoo.ZOO`` after a
#: plain ``import scalenet``, as when the package imported them all).
_SUBMODULES = frozenset({
    "analysis", "cli", "config", "errors", "hub", "integrations", "io", "nn", "spec", "weights",
    "zoo",
})  # fmt: skip

if not TYPE_CHECKING:  # for mypy, the names above are the package's only attributes

    def __getattr__(name: str) -> object:
        """Import a lazy name's module on first use (PEP 562) and keep the name."""
        module = _LAZY.get(name)
        if module is None:
            if name not in _SUBMODULES:
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
            return importlib.import_module(f"{__name__}.{name}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


# The operations that configs and models offer and higher layers carry out (see _hooks).
def _check_input_size(config: Config, size: int) -> None:
    from .spec.sizes import check_input_size

    check_input_size(config, size)


def _build(config: Config) -> ScaleNetModel:
    from .nn import build

    return build(config)


def _save_pretrained(model: ScaleNetModel, folder: str | Path, **options: Any) -> Path:
    from .hub.save import save_pretrained

    return save_pretrained(model, folder, **options)


def _push_to_hub(model: ScaleNetModel, repo_id: str, **options: Any) -> str:
    from .hub.save import push_to_hub

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
        importlib.import_module(f"{__name__}.integrations.timm_compat")


_register_with_timm()

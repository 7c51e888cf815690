"""scalenet: scalable convolutional classifiers for PyTorch, described by typed configs.

Examples:
    >>> import scalenet
    >>> model = scalenet.resnet(depths=(2, 2, 2, 2), width=64, num_classes=10)
    >>> scalenet.output_stride(model.config)
    32
"""

from . import timm_compat  # noqa: F401  (registers the zoo with timm)
from ._version import __version__
from .builders import resnet, simple_cnn
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
]

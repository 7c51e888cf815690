"""scalenet: scalable convolutional classifiers for PyTorch, described by typed configs.

Example:
    >>> import scalenet
    >>> model = scalenet.resnet(depths=(2, 2, 2, 2), width=64, num_classes=10)
    >>> scalenet.output_stride(model.config)
    32
"""

from ._version import __version__
from .builders import resnet, simple_cnn
from .config import ResNetConfig, SimpleCNNConfig, config_from_dict
from .errors import ConfigError, ScaleNetError, ShapeError, WeightsError
from .models import ResNet, ScaleNetModel, SimpleCNN
from .plan import (
    LayerSpec,
    check_input_size,
    min_input_size,
    nearest_valid_sizes,
    output_stride,
    plan,
    valid_input_sizes,
)

__all__ = [
    "ConfigError",
    "LayerSpec",
    "ResNet",
    "ResNetConfig",
    "ScaleNetError",
    "ScaleNetModel",
    "ShapeError",
    "SimpleCNN",
    "SimpleCNNConfig",
    "WeightsError",
    "__version__",
    "check_input_size",
    "config_from_dict",
    "min_input_size",
    "nearest_valid_sizes",
    "output_stride",
    "plan",
    "resnet",
    "simple_cnn",
    "valid_input_sizes",
]

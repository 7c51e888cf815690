"""The model classes; each is built from its config."""

from .base import ScaleNetModel
from .resnet import ResNet
from .simple_cnn import SimpleCNN

__all__ = ["ResNet", "ScaleNetModel", "SimpleCNN"]

"""What the zoo knows of a named variant: :class:`ZooEntry`, its config and the metadata of
timm's pretrained cfg, and the papers the architectures come from.

Examples:
    >>> import scalenet
    >>> scalenet.get_entry("resnet20_cifar").pool_size
    (8, 8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ResNetConfig,
    SimpleCNNConfig,
)
from ..spec.sizes import model_cfg
from ..weights.catalog import CATALOG, Dataset, Weights
from ..weights.labels import labels_cfg

__all__ = [
    "BAG_OF_TRICKS_PAPER",
    "EFFICIENTNET_PAPER",
    "PREACT_PAPER",
    "RESNET_PAPER",
    "RESNEXT_PAPER",
    "WIDE_RESNET_PAPER",
    "ZooEntry",
]


RESNET_PAPER = "https://arxiv.org/abs/1512.03385"
EFFICIENTNET_PAPER = "https://arxiv.org/abs/1905.11946"
RESNEXT_PAPER = "https://arxiv.org/abs/1611.05431"
WIDE_RESNET_PAPER = "https://arxiv.org/abs/1605.07146"
BAG_OF_TRICKS_PAPER = "https://arxiv.org/abs/1812.01187"
PREACT_PAPER = "https://arxiv.org/abs/1603.05027"


@dataclass(frozen=True)
class ZooEntry:
    """A named variant: its config and the metadata timm's pretrained cfg carries.

    Attributes:
        name: the name for :func:`create` (``"resnet50"``).
        config: the architecture.
        description: one line for listings and model cards.
        paper: where the architecture comes from.
        mean, std: input normalisation.
        crop_pct, interpolation: evaluation preprocessing (timm's convention).
        timm_name: the name registered with timm (scalenet-prefixed where the short name would
            shadow one of timm's own models).
        dataset: the data set its classifier is laid out for (its number of classes, and the
            names of its classes in the model's pretrained cfg), ``None`` for none.

    Published weights are not the entry's: they are the catalogue's
    (:mod:`scalenet.weights`), by ``name.tag``.
    """

    name: str
    config: ResNetConfig | SimpleCNNConfig
    description: str
    paper: str = RESNET_PAPER
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    timm_name: str = ""
    dataset: Dataset | None = "imagenet-1k"

    @property
    def first_conv(self) -> str:
        """Module path of the first convolution."""
        return self.config.first_conv

    @property
    def classifier(self) -> str:
        """Module path of the classifier."""
        return "fc"

    @property
    def weights(self) -> tuple[Weights, ...]:
        """The published weights of this architecture (the default tag first)."""
        return CATALOG.get(self.name, ())

    def pretrained_cfg(
        self,
        weights: Weights | None = None,
        config: ResNetConfig | SimpleCNNConfig | None = None,
        *,
        labels: bool = True,
    ) -> dict[str, Any]:
        """timm's pretrained cfg for this entry (input size, normalisation, layer names...),
        and for one of its published ``weights``: their tag, file, licence, normalisation,
        crop and test size. Without weights there is no licence: one describes weights, and
        who trained them gives it (the code is scalenet's). Sizes are those of ``config``
        (default: the entry's, with the fields the weights need). With ``labels``, the class
        names of the data set (the weights', else the entry's) while ``config`` has its
        number of classes (:func:`scalenet.weights.labels.labels_cfg`).

        Examples:
            >>> import scalenet
            >>> cfg = scalenet.get_entry("resnet20_cifar").pretrained_cfg()
            >>> cfg["input_size"], cfg["pool_size"], cfg["classifier"]
            ((3, 32, 32), (8, 8), 'fc')
        """
        if config is None:
            changes = weights.config_changes() if weights is not None else {}
            config = self.config.replace(**changes)
        cfg: dict[str, Any] = {"architecture": self.timm_name}
        if weights is not None:
            file = weights.file
            cfg |= {
                "tag": weights.tag,
                "hf_hub_id": getattr(file, "repo_id", None),
                "url": getattr(file, "url", None),
                "origin_url": weights.origin,
                "license": weights.license,
            }
        cfg |= {
            **model_cfg(config),
            "crop_pct": self.crop_pct if weights is None else weights.crop_pct,
            "interpolation": self.interpolation if weights is None else weights.interpolation,
            "mean": self.mean if weights is None else weights.mean,
            "std": self.std if weights is None else weights.std,
            "paper_ids": self.paper,
            "description": self.description,
        }
        if weights is not None and weights.test_input_size is not None:
            size = weights.test_input_size
            cfg["test_input_size"] = (config.in_chans, size, size)
            cfg["test_crop_pct"] = weights.test_crop_pct or cfg["crop_pct"]
        if labels:
            dataset = weights.dataset if weights is not None else self.dataset
            cfg |= labels_cfg(dataset, config.num_classes)
        return cfg

    @property
    def pool_size(self) -> tuple[int, int]:
        """Spatial size of the last feature map at the default input size."""
        size: tuple[int, int] = model_cfg(self.config)["pool_size"]
        return size

"""What every scalenet model shares: its config, the checked forward and the classifier API."""

# No ``from __future__ import annotations`` here: torch.fx copies forward's annotations into
# the code it generates, and postponed (string) ones come out as ``_Tensor_``, which
# torch.jit.script cannot compile.
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.fx
from torch import Tensor, nn

from .. import _hooks
from .. import config as _config
from ..config import Config, ResNetConfig, SimpleCNNConfig
from ..errors import ConfigError, ConfigTypeError, check_bool, check_type, first_line
from ..spec.plan import count_params, min_input_size
from .layers import check_input

__all__ = ["ScaleNetModel", "check_device", "check_model"]

torch.fx.wrap("check_input")


def check_device(device: object, default: str) -> torch.device:
    """``device`` (``default`` for ``None``) as a torch device that holds data and that this
    machine has; else a :class:`~scalenet.ConfigError` naming ``device``.

    Examples:
        >>> check_device(None, "cpu"), check_device("cpu", "cuda")
        (device(type='cpu'), device(type='cpu'))
        >>> check_device("meta", "cpu")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: device='meta' is not allowed: a device that holds data ...
    """
    allowed = "a torch device such as 'cpu' or 'cuda:0'"
    check_type("device", device, (str, torch.device, type(None)), allowed)
    assert device is None or isinstance(device, (str, torch.device))
    try:
        chosen = torch.device(default if device is None else device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError("device", device, allowed) from None
    if chosen.type == "meta":  # tensors there hold no data: the weights would be dropped
        raise ConfigError(
            "device", device, "a device that holds data ('cpu', 'cuda:0'...), not 'meta'",
            "a model without data is built from its config under `with torch.device('meta'):`",
        )  # fmt: skip
    try:
        torch.empty(0, device=chosen)
    except (RuntimeError, AssertionError) as err:
        raise ConfigError(
            "device", device, "a device this machine has", f"not available here: {first_line(err)}"
        ) from None
    return chosen


def check_param_count(config: Config) -> None:
    """Raise :class:`ConfigError` if ``config`` builds more than
    :data:`scalenet.config.MAX_PARAMS` parameters (counted from its plan, nothing allocated).

    Every way to a model's size passes here: building, ``reset_classifier``, and
    ``from_pretrained``'s ``num_classes``/``in_chans``.

    Examples:
        >>> import scalenet
        >>> check_param_count(scalenet.ResNetConfig(num_classes=2**24, block="bottleneck"))
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigError: config='34,390,461,760 parameters' is not allowed: at most ...
    """
    params = count_params(config)
    if params > _config.MAX_PARAMS:
        raise ConfigError(
            "config",
            f"{params:,} parameters",
            f"at most {_config.MAX_PARAMS:,} parameters (scalenet.config.MAX_PARAMS)",
            "the model is too large to build; check width, depths, num_classes and in_chans",
        )


class ScaleNetModel(nn.Module):
    """Base class of scalenet models, with timm's model interface.

    ``forward = forward_head(forward_features(x))``; the forward pass first checks the input
    (rank, channels, size) and raises :class:`~scalenet.errors.ShapeError` with what the model
    expects, or :class:`~scalenet.errors.InputError` for a non-float tensor or a dtype other
    than the weights' outside autocast. Subclasses build ``fc`` (``nn.Identity`` when
    ``num_classes == 0``), set ``num_features`` (channels of the last feature map),
    ``head_hidden_size`` (width of the pre-logits features) and ``feature_info``, and implement
    ``_input_weight`` (the first conv's weight), ``forward_features``, ``forward_head`` and
    ``group_matcher``.
    """

    fc: nn.Module
    num_features: int
    head_hidden_size: int
    # Plain Python data, set by scalenet and timm; TorchScript has no use for it.
    __jit_ignored_attributes__: ClassVar[list[str]] = [
        "config", "pretrained_cfg", "feature_info", "_traits", "_model_args",
        "pretrained_model_args", "save_pretrained", "push_to_hub",
    ]  # fmt: skip
    __jit_unused_properties__: ClassVar[list[str]] = ["default_cfg"]

    def __init__(self, config: ResNetConfig | SimpleCNNConfig) -> None:
        super().__init__()
        check_param_count(config)  # before any subclass allocates a tensor
        self.config = config
        self.num_classes = config.num_classes
        self.in_chans = config.in_chans
        self.input_size = config.input_size
        #: smallest H and W a forward pass accepts
        self.min_input_size = min_input_size(config)
        #: the only H and W a forward pass accepts, or 0 when any size >= min_input_size goes
        self.fixed_input_size = 0
        #: ``"avg"`` pools the last feature map; ``""`` (after ``reset_classifier(0, "")``)
        #: returns it unpooled
        self.global_pool_type = "avg"
        self.grad_checkpointing = False
        #: timm's pretrained cfg (name, input size, normalisation...); set by the zoo and timm
        self.pretrained_cfg: dict[str, Any] = {}
        #: timm's feature_info: one dict (num_chs, reduction, module) per feature level
        self.feature_info: list[dict[str, Any]] = []

    @property
    def default_cfg(self) -> dict[str, Any]:
        """Alias of ``pretrained_cfg`` (timm's older name)."""
        return self.pretrained_cfg

    @default_cfg.setter
    def default_cfg(self, value: dict[str, Any]) -> None:
        self.pretrained_cfg = value

    def forward_features(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        """The last feature map, (N, num_features, H, W)."""
        raise NotImplementedError

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:  # pragma: no cover
        """Pool and classify a feature map; ``pre_logits=True`` stops before ``fc``."""
        raise NotImplementedError

    def group_matcher(self, coarse: bool = False) -> dict[str, Any]:  # pragma: no cover
        """Regexes grouping parameter names into stem and blocks (timm's layer-wise decay)."""
        raise NotImplementedError

    def _input_weight(self) -> Tensor:  # pragma: no cover - abstract
        """The first convolution's weight: inputs must have its dtype (outside autocast)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        dtype = self._input_weight().dtype
        check_input(x, self.in_chans, self.min_input_size, self.fixed_input_size, dtype)
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: Tensor,
        indices: int | Sequence[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[Tensor] | tuple[Tensor, list[Tensor]]:
        """The feature maps of the levels in ``feature_info``, and the last one (timm's API).

        The levels are a ResNet's stem (after its ReLU, before the max pool) and each stage,
        or each conv block of a simple CNN.

        Args:
            x: the input batch.
            indices: which levels: ``None`` all, an int ``n`` the last ``n``, a sequence the
                levels at those indices (negative ones count from the end).
            norm: apply a pre-activation ResNet's final BN-ReLU (``final_bn``,
                ``final_relu``) to the last stage's map, as ``forward_features`` does (timm's
                ``norm``); other models have no final norm and ignore it.
            stop_early: stop after the last level asked for (the returned final map is then
                that level's, not ``forward_features``').
            output_fmt: ``"NCHW"``, the only layout.
            intermediates_only: return only the list of maps.

        Returns:
            ``(forward_features(x), maps)``, or ``maps`` when ``intermediates_only``.

        Examples:
            >>> import torch, scalenet
            >>> model = scalenet.create("resnet20_cifar")
            >>> maps = model.forward_intermediates(torch.zeros(1, 3, 32, 32),
            ...                                    intermediates_only=True)
            >>> [tuple(m.shape[1:]) for m in maps]
            [(16, 32, 32), (16, 32, 32), (32, 16, 16), (64, 8, 8)]
        """
        take, last = self._feature_indices(indices)
        for name, flag in (
            ("norm", norm),
            ("stop_early", stop_early),
            ("intermediates_only", intermediates_only),
        ):
            check_bool(name, flag)
        if output_fmt != "NCHW":
            raise ConfigError("output_fmt", output_fmt, "'NCHW' (scalenet models are NCHW)")
        dtype = self._input_weight().dtype
        check_input(x, self.in_chans, self.min_input_size, self.fixed_input_size, dtype)
        last = last if stop_early else len(self.feature_info) - 1
        x, maps = self._intermediates(x, take, last, norm)
        return maps if intermediates_only else (x, maps)

    def prune_intermediate_layers(
        self,
        indices: int | Sequence[int] = 1,
        prune_norm: bool = False,
        prune_head: bool = True,
    ) -> list[int]:
        """Drop the layers after the last level in ``indices`` (timm's API); returns the levels.

        The head goes too when ``prune_head`` (or when layers were dropped, as its input
        changed): the model then returns its last kept feature map. ``prune_norm`` removes a
        pre-activation ResNet's final BN-ReLU (dropped anyway with the last stage). A pruned
        model no longer matches its config, so ``save_pretrained`` refuses it.

        Examples:
            >>> import torch, scalenet
            >>> model = scalenet.create("resnet18")
            >>> model.prune_intermediate_layers([1, 2])
            [1, 2]
            >>> model(torch.zeros(1, 3, 64, 64)).shape  # ends at layer2, no head
            torch.Size([1, 128, 8, 8])
        """
        take, last = self._feature_indices(indices)
        check_bool("prune_norm", prune_norm)
        check_bool("prune_head", prune_head)
        prune_end = self._drop_levels_after(last)
        if prune_norm:
            self._drop_norm()
        if prune_end:
            self.num_features = self.feature_info[last]["num_chs"]
        if prune_head or prune_end:
            self._drop_head()
        return take

    def _intermediates(
        self, x: Tensor, take: list[int], last: int, norm: bool = False
    ) -> tuple[Tensor, list[Tensor]]:  # pragma: no cover - abstract
        """Run levels 0..``last``; the final map and the maps of the levels in ``take``."""
        raise NotImplementedError

    def _drop_norm(self) -> None:
        """Remove a final norm layer (timm's ``prune_norm``); models without one have none."""

    def _drop_levels_after(self, last: int) -> bool:  # pragma: no cover - abstract
        """Remove the layers after level ``last``; whether there were any."""
        raise NotImplementedError

    def _drop_head(self) -> None:
        """Remove pooling and classifier: the model returns its last feature map."""
        self.head_hidden_size = self.num_features
        self.reset_classifier(0, "")

    def _feature_indices(self, indices: int | Sequence[int] | None) -> tuple[list[int], int]:
        """timm's ``feature_take_indices`` with scalenet's errors: (levels, the largest)."""
        n = len(self.feature_info)
        allowed = f"None, an int from 1 to {n} (the last n levels) or indices in -{n}..{n - 1}"
        if indices is None:
            indices = n
        if isinstance(indices, int) and not isinstance(indices, bool):
            if not 0 < indices <= n:
                raise ConfigError("indices", indices, allowed)
            take = list(range(n - indices, n))
        else:
            if not isinstance(indices, (list, tuple, range)):
                raise ConfigTypeError("indices", indices, allowed)
            take = []
            for i in indices:
                if not isinstance(i, int) or isinstance(i, bool) or not -n <= i < n:
                    raise ConfigError("indices", indices, allowed)
                take.append(i + n if i < 0 else i)
            if not take:
                raise ConfigError("indices", indices, allowed)
        return take, max(take)

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> Path:
        """Write ``model.safetensors``, ``config.json`` and a model card, all or nothing (see
        :func:`scalenet.hub.save.save_pretrained`)."""
        path: Path = _hooks.call("save_pretrained", self, save_directory, **kwargs)
        return path

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:
        """Upload to the Hub as one commit; returns its URL (or the pull request's).

        Takes :func:`scalenet.hub.save.push_to_hub`'s keywords, those of huggingface_hub's
        ``ModelHubMixin.push_to_hub``: ``private``, ``token``, ``commit_message``,
        ``commit_description``, ``revision`` (a branch, created if new), ``create_pr``; and
        ``metrics``/``training`` for the model card.

        Examples:
            (Not run as a doctest: it needs the Hub and a write token.) ::

                model.push_to_hub("my-org/resnet20-cifar10", revision="v2", private=True)
        """
        url: str = _hooks.call("push_to_hub", self, repo_id, **kwargs)
        return url

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block in the backward pass instead of storing its activations."""
        self.grad_checkpointing = check_bool("enable", enable)

    def get_classifier(self) -> nn.Module:
        """The final classifier layer (timm interface)."""
        return self.fc

    def reset_classifier(self, num_classes: int | None, global_pool: str | None = None) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs
        (``None``: as many as now).

        ``num_classes=0`` removes it (the model then returns pre-logits features);
        ``reset_classifier(0, "")`` also removes the global pooling, so the model returns the
        last feature map. ``global_pool`` is ``None`` (keep), ``"avg"`` or ``""``.

        Examples:
            >>> import torch, scalenet
            >>> model = scalenet.create("resnet20_cifar")
            >>> model.reset_classifier(0, "")
            >>> model(torch.zeros(1, 3, 32, 32)).shape
            torch.Size([1, 64, 8, 8])
        """
        pool = self.global_pool_type if global_pool is None else global_pool
        if pool not in ("avg", ""):
            raise ConfigError("global_pool", pool, "None, 'avg' or ''")
        if pool == "" and num_classes:  # asked for, or kept from an earlier reset
            raise ConfigError(
                "global_pool", "", "'avg' when num_classes > 0", "a classifier needs pooling"
            )
        if global_pool == "avg" and self.fixed_input_size:  # it flattens a fixed-size map
            raise ConfigError(
                "global_pool", "avg", "None or '' for a model built with global_pool=False"
            )
        self.global_pool_type = pool
        num = self.num_classes if num_classes is None else num_classes
        config = self.config.replace(num_classes=num)  # validates num_classes
        check_param_count(config)  # before the new head is allocated
        self.config = config
        self.num_classes = num
        param = next(self.parameters())
        self.fc = (
            nn.Linear(self.head_hidden_size, num, device=param.device, dtype=param.dtype)
            if num > 0
            else nn.Identity()
        )


def check_model(name: str, value: object) -> ScaleNetModel:
    """``value`` if it is a scalenet model; else a :class:`~scalenet.ConfigTypeError` naming
    the argument.

    Examples:
        >>> check_model("model", "resnet20_cifar")
        Traceback (most recent call last):
        ...
        scalenet.errors.ConfigTypeError: model='resnet20_cifar' is not allowed: a scalenet ...
    """
    allowed = "a scalenet model (scalenet.create(name), scalenet.from_pretrained(folder))"
    check_type(name, value, ScaleNetModel, allowed)
    assert isinstance(value, ScaleNetModel)
    return value

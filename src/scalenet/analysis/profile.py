"""Parameters, MACs/FLOPs, activations and memory: analytic from the layer plan, or measured.

Convention: ``macs`` counts the multiply-accumulates of convolutions and linear layers (bias
adds not counted), as the ResNet paper, torchvision's weight metadata and fvcore's conv/linear
counts do; ``flops = 2 * macs``. Everything else is counted separately in ``other_ops``, never
folded in:

- ``batchnorm``: elements normalised (thop counts 4 operations each, fvcore 1 or 2);
- ``relu``: elements rectified;
- ``pool``: window reads (output elements x window area; the whole map for a global pool);
- ``add``: elements summed by residual additions.

Examples:
    >>> import scalenet
    >>> p = scalenet.profile("resnet50")
    >>> p.params, p.macs
    (25557032, 4089184256)
    >>> str(p)
    'resnet50: 25.56 M params, 4.09 GMACs at 224x224'
"""

from __future__ import annotations

from dataclasses import replace

from .._format import human
from ..config import Config, ResNetConfig, SimpleCNNConfig
from ..errors import ConfigError
from ..nn.base import ScaleNetModel
from .counting import analytic_profile
from .report import LayerRow, Method, Profile

__all__ = ["LayerRow", "Profile", "human", "profile"]


# --- entry point ----------------------------------------------------------------------------


def _resolve(target: ScaleNetModel | Config | str) -> tuple[Config, str, ScaleNetModel | None]:
    if isinstance(target, str):
        from ..zoo import get_config

        return get_config(target), target, None
    if isinstance(target, (ResNetConfig, SimpleCNNConfig)):
        return target, type(target).__name__, None
    if isinstance(target, ScaleNetModel):
        name = target.pretrained_cfg.get("architecture") or type(target).__name__
        return target.config, str(name), target
    raise ConfigError(
        "target", type(target).__name__, "a scalenet model, a config or a zoo model name"
    )


def profile(
    target: ScaleNetModel | Config | str,
    input_size: int | None = None,
    *,
    batch_size: int = 1,
    method: Method = "analytic",
) -> Profile:
    """Profile a model, a config or a zoo name.

    Args:
        target: what to profile.
        input_size: square input size (default: the config's).
        batch_size: images per forward pass; MACs, other ops and activations scale with it.
        method: ``"analytic"`` (from the layer plan: no model, no tensor, milliseconds),
            ``"fvcore"`` (fvcore's ``FlopCountAnalysis`` on the given model, or on one built
            from the config) or ``"torch"`` (``FlopCounterMode``: on the given model, or on
            one built on the meta device from a config). Measured params are the model's.

    Examples:
        >>> import scalenet
        >>> scalenet.profile("resnet20_cifar").macs
        40551040
        >>> scalenet.profile("resnet20_cifar", method="fvcore").macs
        40551040
    """
    config, name, model = _resolve(target)
    size = config.input_size if input_size is None else input_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", batch_size, "a positive integer")
    analytic = analytic_profile(config, name, size, batch_size)
    if method == "analytic":
        if model is not None:
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            analytic = replace(analytic, trainable_params=trainable)
        return analytic
    if method not in ("fvcore", "torch"):
        raise ConfigError("method", method, "one of 'analytic', 'fvcore', 'torch'")
    from .measure import measure

    return measure(config, model, analytic, method)

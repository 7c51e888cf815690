"""The layer plan: a config and an input size turned into plain data, before any tensor exists.

One plan feeds shape validation and analytic counting, and its templates
(:mod:`scalenet.spec.templates`) make the built model's layers (:mod:`scalenet.nn`: each stem,
block, shortcut and head is made from them, one module per spec): one description of each
network. Each :class:`LayerSpec`
names the module it describes by its path in the built model (``"layer2.0.conv1"``), so the
plan and the model can be compared one to one (the tests do, for every layer).

Walked backwards, the plan gives the input-size rule: valid sizes are ``output_stride * f +
offset`` (:func:`output_stride`, :func:`min_input_size`); :mod:`scalenet.spec.sizes` lists and
checks them.

Examples:
    >>> import scalenet
    >>> cfg = scalenet.ResNetConfig(depths=(3, 3, 3), width=16, stem="cifar", input_size=32)
    >>> [s.out_size for s in scalenet.plan(cfg) if s.name == "layer3.2.conv2"]
    [(8, 8)]
"""

from __future__ import annotations

from ..config import ResNetConfig, SimpleCNNConfig
from ..errors import ShapeError, check_type
from .templates import _WINDOWED, CONFIG_ALLOWED, Config, LayerSpec, templates

__all__ = [
    "LayerSpec",
    "count_macs",
    "count_params",
    "count_state",
    "min_input_size",
    "output_stride",
    "plan",
]


def _window_out(size: int, spec: LayerSpec) -> int:
    if not spec.ceil_mode:
        return (size + 2 * spec.padding - spec.kernel) // spec.stride + 1
    # PyTorch's ceil mode: round up, but the last window must start inside the map (or its
    # left padding).
    out = -(-(size + 2 * spec.padding - spec.kernel) // spec.stride) + 1
    if (out - 1) * spec.stride >= size + spec.padding:
        out -= 1
    return out


# --- the walk -----------------------------------------------------------------------------------


def plan(config: Config, input_size: int | None = None) -> list[LayerSpec]:
    """The layer plan of ``config`` at ``input_size`` (default: the config's own).

    No model is built and no tensor is allocated. Sizes follow PyTorch's (floor-mode)
    arithmetic, so a plan exists for every size the network can run, valid or not; use
    :func:`check_input_size` for the exact-division rule.

    Raises:
        ShapeError: the feature map vanishes (drops below 1x1) at some layer; the message names
            the layer and the smallest valid input size.

    Examples:
        >>> import scalenet
        >>> cfg = scalenet.SimpleCNNConfig(channels=(8, 16, 32, 64, 128, 256), kernel_size=5,
        ...                                padding=0, hidden=(1000, 500, 100), num_classes=2,
        ...                                input_size=444)
        >>> [s.out_channels for s in scalenet.plan(cfg) if s.kind == "flatten"]
        [2304]
    """
    check_type("config", config, (ResNetConfig, SimpleCNNConfig), CONFIG_ALLOWED)
    size = config.input_size if input_size is None else input_size
    check_type("input_size", size, int, "a positive integer, or None for the config's own")
    if size < 1:
        raise ShapeError(f"input_size must be a positive integer, got {size!r}")
    specs: list[LayerSpec] = []
    hw = (size, size)
    channels = config.in_chans
    block_in: tuple[str, tuple[int, int]] = ("", hw)  # (block name, size at block start)
    short_hw = hw
    for t in templates(config):
        block = ".".join(t.name.split(".")[:2]) if t.name.startswith("layer") else ""
        if block and block != block_in[0]:
            block_in = (block, hw)
            short_hw = hw
        cur = short_hw if t.shortcut else hw
        if t.kind in _WINDOWED and not t.global_pool:
            out = (_window_out(cur[0], t), _window_out(cur[1], t))
        elif t.kind == "pad":
            out = (-(-cur[0] // t.stride), -(-cur[1] // t.stride))
        elif t.kind == "avgpool" or t.kind == "flatten":
            out = (1, 1)
        else:
            out = cur
        if min(out) < 1:
            raise ShapeError(
                f"input size {size} is too small: the feature map vanishes at layer "
                f"{t.name!r} ({t.kind} {t.kernel}x{t.kernel}/{t.stride}, input "
                f"{cur[0]}x{cur[1]}); the smallest valid input size is {min_input_size(config)}"
            )
        cin, cout = t.in_channels, t.out_channels
        if t.kind == "flatten":
            cin, cout = channels, channels * cur[0] * cur[1]
        elif t.kind in ("linear", "dropout") and cin == 0:
            cin, cout = channels, (cout if t.kind == "linear" else channels)
        spec = t._replace(in_channels=cin, out_channels=cout, in_size=cur, out_size=out)
        specs.append(spec)
        if t.shortcut:
            short_hw = out
        else:
            hw = out
            channels = spec.out_channels
    return specs


def count_params(config: Config) -> int:
    """Parameters of the model ``config`` describes, from its plan (no model, no tensor).

    Examples:
        >>> import scalenet
        >>> count_params(scalenet.get_config("resnet50"))
        25557032
    """
    return sum(s.params for s in plan(config))


def count_state(config: Config) -> int:
    """Elements of the state dict of the model ``config`` describes: its parameters, and each
    BatchNorm's running mean and variance (one each per channel) and batch counter.

    Examples:
        >>> import scalenet
        >>> count_state(scalenet.get_config("resnet20_cifar"))  # 269,722 + 19 BNs' 2 x 688 + 19
        271117
    """
    specs = plan(config)
    statistics = sum(2 * s.out_channels + 1 for s in specs if s.kind == "bn")
    return sum(s.params for s in specs) + statistics


def count_macs(config: Config) -> int:
    """Multiply-accumulates of one image through the model ``config`` describes, at its
    ``input_size``, from its plan (``scalenet.profile(config).macs``).

    Examples:
        >>> import scalenet
        >>> count_macs(scalenet.get_config("resnet20_cifar"))
        40551040
    """
    return sum(s.macs for s in plan(config))


# --- the affine input-size rule ------------------------------------------------------------


def _is_main_window(spec: LayerSpec) -> bool:
    """A layer that resizes the main path's map (not the global pool, not a shortcut)."""
    return spec.kind in _WINDOWED and not spec.global_pool and not spec.shortcut


def _main_windows(config: Config) -> list[LayerSpec]:
    return [t for t in templates(config) if _is_main_window(t)]


def _inverse(config: Config) -> tuple[int, int, int]:
    """``(A, B, f_min)``: valid input sizes are exactly ``A * f + B`` for integers ``f >= f_min``.

    Walking backwards, a layer with kernel k, stride s and padding p maps an output size o to
    the one input size divisible by s that gives it: ``s * o + c`` with
    ``c = s * ceil((k - 2p) / s) - s``; the composition is affine.
    """
    # Backwards from the last feature map (size f), the size before each layer is affine in f:
    # a * f + b with a >= 1. Each must be at least 1, so f >= ceil((1 - b) / a) for every
    # one: the smallest f is their maximum (and 1), found in one pass, however many layers.
    a, b, f_min = 1, 0, 1
    for t in reversed(_main_windows(config)):
        s = t.stride
        a, b = s * a, s * b + s * -((2 * t.padding - t.kernel) // s) - s
        f_min = max(f_min, -((b - 1) // a))  # ceil((1 - b) / a) in integers
    return a, b, f_min


def output_stride(config: Config) -> int:
    """How many input pixels one pixel of the last feature map spans (product of strides).

    Examples:
        >>> import scalenet
        >>> scalenet.output_stride(scalenet.ResNetConfig())
        32
    """
    return _inverse(config)[0]


def min_input_size(config: Config) -> int:
    """The smallest valid input size (the last feature map is then 1x1).

    Examples:
        >>> import scalenet
        >>> scalenet.min_input_size(scalenet.SimpleCNNConfig(
        ...     channels=(8, 16, 32, 64, 128, 256), kernel_size=5, padding=0, input_size=444))
        316
    """
    a, b, f_min = _inverse(config)
    return a * f_min + b

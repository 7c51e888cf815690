"""The ``scalenet`` group and what its commands share: reading a target (a zoo name or a
config file, ``--depth``), the option types, and scalenet's errors as usage errors.

Examples:
    >>> from scalenet.cli.group import main
    >>> main.name
    'main'
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import MAX_INPUT_SIZE, Config, ResNetConfig
from ..config.depth import resnet_layout
from ..errors import ConfigError, ScaleNetError

if TYPE_CHECKING:
    pass

# Start-up time: `scalenet --help` and usage errors import no torch, and neither the zoo nor
# the file reader. The commands import what they use when they run: scalenet.profile (and
# torch) to count or measure.


def _load(target: str, depth: int | None = None) -> tuple[Config, str]:
    """A zoo name or a config JSON file (named after its model's folder if a saved model's),
    rebuilt at ``depth`` (ResNet-``depth``) if given."""
    from ..io.folder import read_config
    from ..zoo import get_config

    path = Path(target)
    try:
        is_file = target.endswith(".json") or path.is_file()
    except OSError:  # e.g. ENAMETOOLONG: read_config names the error
        is_file = True
    if is_file:
        config, data = read_config(path)  # a ConfigError (a usage error) for any bad file
        name = path.resolve().parent.name if "model_args" in data else path.stem
    else:
        config, name = get_config(target), target
    if depth is None:
        return config, name
    return _at_depth(config, name, depth), f"{name} --depth {depth}"


def _at_depth(config: Config, name: str, depth: int) -> ResNetConfig:
    """``config`` as ResNet-``depth``: blocks per stage (and the block type for the ImageNet
    stem) as ``scalenet.resnet(depth=...)`` makes them; every other field kept."""
    if not isinstance(config, ResNetConfig):
        raise click.BadParameter(
            f"{name} is not a ResNet; --depth is for ResNets", param_hint="'--depth'"
        )
    block = config.block if config.stem == "cifar" else None
    try:
        depths, block = resnet_layout(depth, config.stem, block, wide=config.widen_factor > 1)
        return config.replace(depths=depths, block=block)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="'--depth'") from None


class _FiniteRange(click.FloatRange):
    """A ``click.FloatRange`` that also rejects nan (which no comparison with a bound catches)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"nan is not in the range {self._describe_range()}.", param, ctx)
        return number


#: EfficientNet's rule: alpha, beta, gamma >= 1 with alpha * beta**2 * gamma**2 about 2.
_BASE = _FiniteRange(1, 2)
#: From fit_budget's smallest member; past the config limits well before 100 (a usage error).
_PHI = _FiniteRange(-10, 100)
_INPUT_SIZE = click.IntRange(1, MAX_INPUT_SIZE)


class _ScaleNetCommand(click.Command):
    """A subcommand that turns scalenet's own errors into a usage error of its own context, so
    the message shows this command's usage line and ``--help`` hint; exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScaleNetError as err:  # a bad name, field, size or file: a usage error
            raise click.UsageError(str(err), ctx) from None


class _ScaleNetGroup(click.Group):
    """The ``scalenet`` group: every subcommand is a :class:`_ScaleNetCommand`."""

    command_class = _ScaleNetCommand


@click.group(cls=_ScaleNetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scalenet")
def main() -> None:
    """Scalable convolutional classifiers: list, summarise and check models."""


_DEPTH = click.option(
    "--depth",
    type=int,
    help="Build TARGET (a ResNet) as ResNet-DEPTH, as scalenet.resnet(depth=...) does.",
)

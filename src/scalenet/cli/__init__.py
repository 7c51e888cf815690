"""The ``scalenet`` command: list the zoo, summarise a model, check an input size, convert
published weights, measure a model's accuracy.

Built on click (already installed with huggingface_hub). Every command takes a zoo name or the
path of a config JSON file: a saved model's ``config.json`` or ``config.to_dict()`` written out
(``{"family": "resnet", ...}``); ``--depth N`` turns a ResNet target into its ResNet-N. Every
option, the target and the model they make are checked before anything is printed: a bad one
is a usage error (exit 2) that shows the subcommand's usage.

Examples:
    >>> from click.testing import CliRunner
    >>> from scalenet.cli import main
    >>> CliRunner().invoke(main, ["check", "resnet50", "--input-size", "250"]).exit_code
    1
"""

from __future__ import annotations

from . import listing, scale, summary, validate  # each registers its commands with main
from .group import main

__all__ = ["listing", "main", "scale", "summary", "validate"]

"""``python -m scalenet``: the ``scalenet`` command, or a demo when given no arguments.

With arguments it is the ``scalenet`` command (``python -m scalenet list`` is ``scalenet list``).
With none it builds the CIFAR ResNet-20, runs a batch through it and prints its summary, then
points at ``scalenet --help``.
"""

from __future__ import annotations

import sys


def demo() -> None:
    """Build ``resnet20_cifar``, check it on a real batch and print its profile table."""
    import torch

    from .analysis.profile import profile
    from .zoo import create

    model = create("resnet20_cifar").eval()
    size = model.config.input_size
    with torch.no_grad():
        out = model(torch.randn(2, model.config.in_chans, size, size))
    print(profile(model).table(kinds=("conv", "linear", "pad")))
    print(f"forward of a (2, 3, {size}, {size}) batch -> {tuple(out.shape)}")
    print("\nThe scalenet command: python -m scalenet --help (or scalenet --help)")


def main(args: list[str] | None = None) -> None:
    """``python -m scalenet ARGS``: the ``scalenet`` command; the demo when ``ARGS`` is empty."""
    args = sys.argv[1:] if args is None else args
    if not args:
        demo()
        return
    from .cli import main as cli

    cli.main(args, prog_name="python -m scalenet")


if __name__ == "__main__":
    main()

"""``python -m scalenet``: build the CIFAR ResNet-20, run a batch through it, print its summary.

For everything else use the ``scalenet`` command (``scalenet --help``).
"""

from __future__ import annotations

import torch

from .profile import profile
from .zoo import create


def main() -> None:
    """Build ``resnet20_cifar``, check it on a real batch and print its profile table."""
    model = create("resnet20_cifar").eval()
    size = model.config.input_size
    with torch.no_grad():
        out = model(torch.randn(2, model.config.in_chans, size, size))
    print(profile(model).table(kinds=("conv", "linear", "pad")))
    print(f"forward of a (2, 3, {size}, {size}) batch -> {tuple(out.shape)}")


if __name__ == "__main__":
    main()

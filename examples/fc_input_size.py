"""Never compute a first linear layer's input size by hand again.

Builds a 6-block CNN (5x5 convolutions without padding, each followed by 2x2 max pooling; three
hidden linear layers) at 444 px, prints where each block leaves the feature map and the
classifier's input size. At a size that does not fit, it prints the ShapeError (which names
the nearest sizes that do) and exits with status 1.

    python examples/fc_input_size.py [--input-size 444]
"""

from __future__ import annotations

import argparse
import sys

import scalenet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--input-size", type=int, default=444, help="input size in px")
    args = parser.parse_args(argv)
    try:
        model = scalenet.simple_cnn(
            (8, 16, 32, 64, 128, 256), kernel_size=5, padding=0,
            hidden=(1000, 500, 100), num_classes=2, input_size=args.input_size,
        )  # fmt: skip
    except scalenet.ShapeError as err:
        print(f"error: ShapeError: {err}", file=sys.stderr)
        return 1
    for spec in scalenet.plan(model.config):
        if spec.kind in ("conv", "maxpool", "flatten", "linear"):
            size = f"{spec.out_size[0]}x{spec.out_size[1]}" if spec.kind != "linear" else ""
            print(f"{spec.name:<18}{spec.kind:<9}{spec.out_channels:>7} {size}")
    print(f"first linear layer: {model.hidden[0].fc.in_features} inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

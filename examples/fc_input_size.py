"""Never compute a first linear layer's input size by hand again.

Builds the 6-block 5x5 CNN of the seed report at 444 px, prints where each block leaves the
feature map, the classifier's input size, and what happens at a size that does not fit.

    python examples/fc_input_size.py [--input-size 444]
"""

from __future__ import annotations

import argparse

import scalenet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=444)
    args = parser.parse_args()
    try:
        model = scalenet.simple_cnn(
            (8, 16, 32, 64, 128, 256), kernel_size=5, padding=0,
            hidden=(1000, 500, 100), num_classes=2, input_size=args.input_size,
        )  # fmt: skip
    except scalenet.ShapeError as err:
        print(f"ShapeError: {err}")
        return
    for spec in scalenet.plan(model.config):
        if spec.kind in ("conv", "maxpool", "flatten", "linear"):
            size = f"{spec.out_size[0]}x{spec.out_size[1]}" if spec.kind != "linear" else ""
            print(f"{spec.name:<18}{spec.kind:<9}{spec.out_channels:>7} {size}")
    print(f"first linear layer: {model.hidden[0].fc.in_features} inputs")


if __name__ == "__main__":
    main()

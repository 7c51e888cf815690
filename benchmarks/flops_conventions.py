"""scalenet's counts beside fvcore, thop, ptflops and torchinfo on the same models.

Prints the Markdown table of docs/profiling.md. Needs the comparison counters, which are not
scalenet dependencies: ``pip install -e ".[bench]"``.

    python benchmarks/flops_conventions.py
"""

from __future__ import annotations

import contextlib
import io
import warnings
from importlib.metadata import version

import torch
from fvcore.nn import FlopCountAnalysis

import scalenet

MODELS = ["resnet18", "resnet50", "resnet20_cifar", "simple_cnn_cifar"]


def fvcore_total(model: torch.nn.Module, x: torch.Tensor) -> int:
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total())


def thop_total(model: torch.nn.Module, x: torch.Tensor) -> int:
    import thop

    with contextlib.redirect_stdout(io.StringIO()):
        macs, _ = thop.profile(model, inputs=(x,), verbose=False)
    return int(macs)


def ptflops_total(model: torch.nn.Module, x: torch.Tensor) -> int:
    from ptflops import get_model_complexity_info

    with contextlib.redirect_stdout(io.StringIO()):
        macs, _ = get_model_complexity_info(
            model, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False
        )
    return int(macs)


def torchinfo_total(model: torch.nn.Module, x: torch.Tensor) -> int:
    from torchinfo import summary

    return int(summary(model, input_data=x, verbose=0).total_mult_adds)


def main() -> None:
    warnings.simplefilter("ignore")
    tools = ["fvcore", "thop", "ptflops", "torchinfo"]
    versions = ", ".join(f"{t} {version(t)}" for t in tools)
    print(f"Measured with scalenet {scalenet.__version__}, torch {torch.__version__}, {versions}.")
    print()
    header = "| model | scalenet MACs | + BN elements | fvcore | thop | ptflops | torchinfo |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in MODELS:
        p = scalenet.profile(name)
        row = [f"`{name}`", f"{p.macs:,}", f"{p.other_ops['batchnorm']:,}"]
        for counter in (fvcore_total, thop_total, ptflops_total, torchinfo_total):
            # A fresh model each time: thop and ptflops attach buffers and hooks to it.
            model = scalenet.create(name).eval()
            size = model.config.input_size
            x = torch.randn(1, model.config.in_chans, size, size)
            row.append(f"{counter(model, x):,}")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

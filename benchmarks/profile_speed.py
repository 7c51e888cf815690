"""How long a MACs/params count takes: scalenet's analytic profile vs fvcore vs FlopCounterMode.

All three run in this one process, interleaved, on the same models; each figure is the median
of several runs and the ratio is fvcore (or FlopCounterMode) time over analytic time.

    python benchmarks/profile_speed.py [--repeats 5]

- analytic: ``scalenet.profile(config)``, from the layer plan (no model, no tensor).
- fvcore: ``FlopCountAnalysis(model, x).by_operator()`` on an already-built model (model
  construction not counted, which favours fvcore).
- torch: ``FlopCounterMode`` over a forward pass on the meta device (model built on meta,
  construction counted, since that is part of the method).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from fvcore.nn import FlopCountAnalysis
from torch.utils.flop_counter import FlopCounterMode

import scalenet

CASES = [("resnet50", 224), ("resnet1202_cifar", 32)]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, scalenet {scalenet.__version__}"
    )
    print(
        f"{'model':<18}{'analytic':>12}{'fvcore':>12}{'torch':>12}{'fvcore/an.':>12}"
        f"{'torch/an.':>11}"
    )
    for name, size in CASES:
        cfg = scalenet.get_config(name)
        model = cfg.build().eval()
        x = torch.randn(1, cfg.in_chans, size, size)

        def analytic(cfg: scalenet.ResNetConfig | scalenet.SimpleCNNConfig = cfg) -> None:
            scalenet.profile(cfg)

        def fvcore(model: torch.nn.Module = model, x: torch.Tensor = x) -> None:
            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.by_operator()

        def flop_counter(
            cfg: scalenet.ResNetConfig | scalenet.SimpleCNNConfig = cfg, size: int = size
        ) -> None:
            with torch.device("meta"):
                net = cfg.build()
            with FlopCounterMode(display=False), torch.no_grad():
                net(torch.empty(1, cfg.in_chans, size, size, device="meta"))

        times: dict[str, list[float]] = {"analytic": [], "fvcore": [], "torch": []}
        analytic(), fvcore(), flop_counter()  # warm up
        for _ in range(args.repeats):
            times["analytic"].append(timed(analytic))
            times["fvcore"].append(timed(fvcore))
            times["torch"].append(timed(flop_counter))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"{name + '@' + str(size):<18}{med['analytic'] * 1e3:>10.1f}ms"
            f"{med['fvcore'] * 1e3:>10.0f}ms{med['torch'] * 1e3:>10.0f}ms"
            f"{med['fvcore'] / med['analytic']:>11.0f}x{med['torch'] / med['analytic']:>10.0f}x"
        )


if __name__ == "__main__":
    main()

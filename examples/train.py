"""Train and evaluate a scalenet model: one thin script for the classic experiments.

    python examples/train.py                                  # resnet20_cifar on digits
    python examples/train.py --data cifar10 --data-dir data --epochs 3
    torchrun --nproc_per_node 2 examples/train.py --epochs 1   # DistributedDataParallel

--data cifar10 reads torchvision's download: ``torchvision.datasets.CIFAR10("data",
download=True)`` puts ``data/cifar-10-batches-py`` on disk (or give folders of images, see
examples/README.md). It composes scalenet (models, weights), torchvision (data), torchmetrics
(metrics), tqdm (progress) and matplotlib (plots). Outputs in --out: metrics.jsonl, best/ and
last/ (each a ``save_pretrained`` folder, pushable to the Hub as is; last/ also holds the
training state, committed with its weights), with --ema also ema/ (timm's moving average of
the weights, evaluated beside them), test_metrics.json and PNG plots (unless --no-plots).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from balance import collapse_message, imbalance_advice, loss_weights, sample_weights
from data import DIGITS_SIZE, DataBundle, DataError, ImageDataset, load_data
from epoch_metrics import Metrics
from pipeline import EpochSampler, MemoryBatches, loader_batches
from timm.utils import ModelEmaV3
from torch import nn
from torch.optim.swa_utils import update_bn
from tqdm import tqdm
from training_state import STATE_NAME, pack_state, unpack_state
from transfer import param_groups, set_train_mode

import scalenet

DEFAULT_MODEL = "resnet20_cifar"
# BatchNorm statistics are recomputed from this many training batches before each validation.
BN_BATCHES = 20
# The warning when the predictions collapse onto one class, where imbalance does not explain it.
LR_ADVICE = "Try a lower --lr, a --warmup-epochs or more --epochs"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help: each option's default after its help (where it has one: not for flags and
    options that are unset by default), and the description's line breaks kept."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False
        if unset or action.default is argparse.SUPPRESS or "%(default)" in text:
            return text
        return f"{text} (default: %(default)s)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, and in ``explicit`` the names of those given on the command line (a
    resumed run takes the others from its checkpoint)."""
    args = _parser().parse_args(argv)
    probe = _parser()  # no defaults: only what the command line gives
    for action in probe._actions:  # (set_defaults would put SUPPRESS in the namespace)
        action.default = argparse.SUPPRESS
    args.explicit = sorted(vars(probe.parse_args(argv)))
    return args


#: What a run is, beside its model and data: recorded in its checkpoints; ``--resume`` takes
#: them from there, and a different value given with it is an error. The others say where
#: and how fast it runs (output folder, time limit, workers, plots, the pipeline, compile).
NOT_RECORDED = frozenset(
    {"resume", "out", "time_limit", "workers", "no_plots", "pipeline", "compile",
     "channels_last", "explicit"}
)  # fmt: skip


def recorded_args(args: argparse.Namespace) -> dict[str, Any]:
    """The run's arguments as JSON values (paths as strings), for its checkpoints."""
    return {
        k: str(v) if isinstance(v, Path) else v
        for k, v in vars(args).items()
        if k not in NOT_RECORDED
    }


def apply_recorded(args: argparse.Namespace, recorded: dict[str, Any]) -> None:
    """``--resume``: take the run's own arguments from its checkpoint; one given with a value
    other than the run's is a Fail naming it (a resumed run is the run it continues)."""
    for key, old in recorded.items():
        new = getattr(args, key, None)
        new = str(new) if isinstance(new, Path) else new
        if key in args.explicit and new != old:
            flag = "--" + key.replace("_", "-")
            raise Fail(
                f"--resume: {flag} {new} differs from the run's {old}: a resumed run continues "
                f"the run as it was started (resume without {flag}; to train on with another "
                f"value, start a new run from the weights: --pretrained {args.out / 'last'})"
            )
        setattr(args, key, Path(old) if key in _PATHS and old is not None else old)


#: The arguments that are paths (recorded as strings).
_PATHS = frozenset({"config", "data_dir", "csv_file"})


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--model", help=f"a zoo name (scalenet list); default {DEFAULT_MODEL} unless --config or "
        "--pretrained PATH gives the architecture"
    )  # fmt: skip
    what.add_argument("--config", type=Path, help="a config JSON file (config.to_dict())")
    p.add_argument(
        "--data",
        default="digits",
        choices=["digits", "cifar10", "imagefolder", "csv"],
        help="digits: scikit-learn's bundled 8x8 digits (no download); the others read --data-dir",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        help="cifar10: torchvision's download (the folder holding cifar-10-batches-py), "
        "train/ and test/ image folders, or train.zip and test.zip; imagefolder: train/, test/ "
        "(and val/) class folders; csv: the root of the CSV's file paths",
    )
    p.add_argument(
        "--csv-file",
        type=Path,
        help="csv: the file,label table; without it, --data-dir's labels.csv, or its train.csv "
        "and test.csv",
    )
    p.add_argument(
        "--image-size",
        type=int,
        help="input size in px; default: the data's (digits: 32; else the median of the "
        "training images' shorter sides), moved to the nearest size the model accepts",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="the stratified share of train held out for validation (where there is no val split)",
    )
    p.add_argument("--epochs", type=int, default=5, help="training epochs (at least 1)")
    p.add_argument("--batch-size", type=int, default=64, help="global batch size")
    p.add_argument("--opt", default="sgd", choices=["sgd", "adam", "adamw"], help="optimizer")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--wd", type=float, default=1e-4, help="weight decay")
    p.add_argument(
        "--schedule",
        default="cosine",
        choices=["step", "multistep", "cosine", "constant"],
        help="learning-rate schedule after the warm-up, stepped every batch",
    )
    p.add_argument(
        "--milestones",
        type=float,
        nargs="+",
        default=[0.5, 0.75],
        help="multistep: fractions of the run (<1) or epoch numbers",
    )
    p.add_argument("--step-size", type=int, default=30, help="step: epochs between decays")
    p.add_argument("--gamma", type=float, default=0.1, help="step/multistep decay factor")
    p.add_argument(
        "--warmup-epochs",
        type=float,
        default=0.0,
        help="a linear warm-up to --lr over this many epochs",
    )
    p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy smoothing")
    p.add_argument("--no-normalize", action="store_true", help="skip the training split's mean/std")
    p.add_argument(
        "--no-augment", action="store_true", help="no random crop (and flip) in training"
    )
    p.add_argument(
        "--pretrained",
        nargs="?",
        const="hub",
        metavar="PATH",
        help="start from --model's published weights, or from a save_pretrained folder (e.g. a "
        "run's best/): its architecture, with the classifier re-initialised for the data's "
        "classes",
    )
    p.add_argument(
        "--freeze-backbone", action="store_true", help="train only the classifier (the head)"
    )
    p.add_argument(
        "--backbone-lr-mult",
        type=float,
        default=1.0,
        help="the backbone's learning rate is --lr times this (the head's is --lr)",
    )
    p.add_argument(
        "--pipeline",
        default="auto",
        choices=["auto", "memory", "loader"],
        help="memory: decode once, augment batches on the device; loader: a DataLoader; "
        "auto: memory when the decoded images fit (CIFAR-10: 184 MB)",
    )
    p.add_argument(
        "--balance",
        default="none",
        choices=["none", "sampler", "loss"],
        help="class imbalance: draw classes equally often, or weight the loss by 1/frequency",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds: stop, checkpointed, after the epoch that the next one would overrun "
        "(continue with --resume)",
    )
    p.add_argument("--seed", type=int, default=0, help="splits, initialisation, batch order")
    p.add_argument("--out", type=Path, default=Path("runs/train"), help="output folder")
    p.add_argument(
        "--no-plots",
        action="store_true",
        help="write no PNG plots (the metrics files hold the same figures; saves ~1 s a run)",
    )
    p.add_argument(
        "--ema",
        action="store_true",
        help="keep an exponential moving average of the weights (timm's ModelEmaV3, with its "
        "decay warm-up), evaluated each epoch and saved to --out/ema",
    )
    p.add_argument(
        "--ema-decay",
        type=float,
        default=0.9998,
        help="--ema: the decay the warm-up rises to (timm train.py's --model-ema-decay)",
    )
    p.add_argument("--resume", action="store_true", help="continue from --out/last")
    p.add_argument("--amp", action="store_true", help="mixed precision (bfloat16 autocast)")
    p.add_argument(
        "--channels-last", action="store_true", help="NHWC memory format (faster on GPUs)"
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="DataLoader worker processes (0: in the main process; decoding into memory uses "
        "up to 8 whatever this is)",
    )
    return p


class Fail(Exception):
    """A user error: printed as one line, exit status 2."""


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    return (dist.get_rank() if world > 1 else 0), world, device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def architecture(args: argparse.Namespace) -> tuple[Any, nn.Module | None]:
    """The config of the model to train: --pretrained PATH's (with that model, whose weights
    are loaded later), --config's or --model's; the data sets its classes and size later."""
    if args.pretrained is not None and args.pretrained != "hub":
        try:
            source = scalenet.from_pretrained(Path(args.pretrained))
        except (OSError, scalenet.ScaleNetError) as err:
            raise Fail(f"--pretrained {args.pretrained}: {err}") from None
        return source.config, source
    try:
        if args.config is not None:
            return scalenet.config_from_dict(json.loads(args.config.read_text())), None
        return scalenet.get_config(args.model or DEFAULT_MODEL), None
    except (OSError, json.JSONDecodeError) as err:
        raise Fail(f"cannot read --config {args.config}: {err}") from None
    except scalenet.ScaleNetError as err:
        raise Fail(str(err)) from None


def nearest_size(config: Any, size: int) -> int:
    """``size`` if the model accepts it, else the nearest size it accepts (the larger on a tie)."""
    below, above = scalenet.nearest_valid_sizes(config, size)
    return below if below is not None and size - below < above - size else above


def size_note(args: argparse.Namespace, data: DataBundle, name: str) -> str:
    """How the input size was chosen, for the user."""
    size = data.image_size
    if args.image_size is not None:
        return f"input size: {size} px (--image-size)"
    own = data.data_size
    if args.data == "digits":
        wanted, what = DIGITS_SIZE, f"the size that the {own}x{own} digits are upsampled to"
    else:
        wanted, what = own, "the data's size (the median of the training images' shorter sides)"
    if size == wanted:
        return f"input size: {size} px, {what} (--image-size to change it)"
    return (
        f"input size: {size} px: {what} is {wanted} px, and {size} px is the nearest size that "
        f"{name} accepts (--image-size to change it)"
    )


def check_memory(args: argparse.Namespace, config: Any, device: torch.device) -> None:
    """With --image-size, refuse a run whose training step cannot fit in the device's memory
    (the CPU's RAM, or the GPU's), from scalenet's analytic estimate (weights, gradients,
    optimizer state and saved activations), before any data is read at that size."""
    if args.image_size is None:
        return
    try:
        p = scalenet.profile(config.replace(input_size=args.image_size))
    except scalenet.ScaleNetError:
        return  # a size the model refuses: the size check says so, with the nearest sizes
    need = p.train_memory(args.batch_size, args.opt)
    if device.type == "cuda":
        have, where = torch.cuda.mem_get_info(device)[1], f"{device}'s memory"
    else:
        have, where = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "this machine's RAM"
    if need > have:
        raise Fail(
            f"--image-size {args.image_size}: one training step at --batch-size "
            f"{args.batch_size} needs about {need / 1e9:,.1f} GB (weights, gradients, optimizer "
            f"state and saved activations, by scalenet.profile(...).train_memory), more than "
            f"{where} ({have / 1e9:,.1f} GB); use a smaller --image-size or --batch-size"
        )


def build_model(
    args: argparse.Namespace,
    config: Any,
    source: nn.Module | None,
    classes: int,
    in_chans: int,
    size: int,
) -> nn.Module:
    """The model for the data: ``config`` (from :func:`architecture`) with its classifier,
    input channels and size following the data; --pretrained's weights loaded."""
    fields = {"num_classes": classes, "in_chans": in_chans, "input_size": size}
    try:
        if source is not None:
            model = config.replace(**fields).build()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                scalenet.load_weights(model, source.state_dict())
            for w in caught:
                print(f"note: --pretrained {args.pretrained}: {w.message}", file=sys.stderr)
            return model
        if args.config is not None:
            return config.replace(**fields).build()
        name = args.model or DEFAULT_MODEL
        return scalenet.create(name, pretrained=args.pretrained == "hub", **fields)
    except scalenet.ScaleNetError as err:
        raise Fail(str(err)) from None


def recompute_batchnorm(model: nn.Module, batches: Any, device: torch.device, world: int) -> None:
    """Set every BatchNorm's running mean and variance to their average over the first
    BN_BATCHES training batches, at the current weights (PreciseBN).

    The running averages that training keeps (momentum 0.1) lag behind weights that change
    fast, and a short epoch leaves part of their initial values in them (0.9^21 = 11% after
    the 21 steps of a digits epoch): evaluated with them, epoch 1 of the default run had a
    validation loss of 75, against 1.4 with the statistics recomputed. Under torchrun the
    ranks' statistics are averaged."""
    update_bn(itertools.islice(batches, BN_BATCHES), model, device)
    if world > 1:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                for buffer in (m.running_mean, m.running_var):
                    if buffer is not None:
                        dist.all_reduce(buffer)
                        buffer /= world


def make_scheduler(opt: torch.optim.Optimizer, args: argparse.Namespace, steps_per_epoch: int):  # type: ignore[no-untyped-def]
    total = args.epochs * steps_per_epoch
    warmup = int(args.warmup_epochs * steps_per_epoch)
    milestones = [m * total if m < 1 else m * steps_per_epoch for m in args.milestones]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if args.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
        if args.schedule == "step":
            return float(args.gamma ** (step // (args.step_size * steps_per_epoch)))
        if args.schedule == "multistep":
            return float(args.gamma ** sum(step >= m for m in milestones))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)  # stepped every batch


def make_batches(
    data: ImageDataset,
    bundle: DataBundle,
    args: argparse.Namespace,
    sampler: EpochSampler,
    device: torch.device,
    memory: bool,
    train: bool,
    store: dict[int, torch.Tensor],
) -> Any:
    """The batches of a split, made once for the run (``sampler.set_epoch`` picks the epoch):
    a MemoryBatches (memory path) or a DataLoader with persistent workers."""
    batch = args.batch_size // sampler.world
    normalize = not args.no_normalize
    mean, std = (bundle.mean, bundle.std) if normalize else (None, None)
    pad, flip = (bundle.pad, bundle.flip) if train else (0, False)
    if not memory:
        return loader_batches(
            data, batch, sampler, device, args.workers, mean, std, pad, flip, args.seed
        )
    return MemoryBatches(
        data, batch, sampler, device, mean, std, pad=pad, flip=flip, seed=args.seed, store=store
    )


def run_epoch(
    model: nn.Module,
    data: Any,
    loss_fn: nn.Module,
    m: Metrics,
    device: torch.device,
    args: argparse.Namespace,
    opt: Any = None,
    sched: Any = None,
    show: bool = False,
    label: str = "",
    after_step: Callable[[], None] | None = None,
) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """One pass; trains when an optimizer is given (and calls ``after_step`` after each
    step). Returns Metrics.compute(), over all ranks."""
    train = opt is not None
    set_train_mode(model, train, args.freeze_backbone)
    m.reset()
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp)
    with torch.set_grad_enabled(train):
        for x, y in tqdm(
            data, desc=label, disable=not show or not sys.stderr.isatty(), leave=False
        ):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if args.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with amp:
                logits = model(x)
                loss = loss_fn(logits, y)
            if train:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if after_step is not None:
                    after_step()
            m.update(logits, y, loss)
    return m.compute()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rank, world, device = setup_distributed()
    try:
        return train(args, rank, world, device)
    except (Fail, DataError) as err:
        if rank == 0:
            print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def check_args(args: argparse.Namespace, world: int) -> None:
    if args.batch_size % world:
        raise Fail(f"--batch-size {args.batch_size} does not divide over {world} processes")
    if args.backbone_lr_mult < 0:
        raise Fail(f"--backbone-lr-mult must be >= 0, got {args.backbone_lr_mult}")
    if args.freeze_backbone and args.backbone_lr_mult != 1.0:
        raise Fail("--freeze-backbone trains only the head: --backbone-lr-mult does not apply")
    if args.epochs < 1:
        raise Fail(f"--epochs must be at least 1, got {args.epochs}")
    if args.pretrained == "hub" and args.config is not None:
        raise Fail("--pretrained without a PATH needs --model (published weights)")
    if args.pretrained not in (None, "hub"):
        for flag, value in (("--config", args.config), ("--model", args.model)):
            if value is not None:
                raise Fail(
                    f"--pretrained {args.pretrained} trains the architecture saved there: "
                    f"{flag} {value} does not apply (drop one of them)"
                )
    if args.time_limit is not None and args.time_limit <= 0:
        raise Fail(f"--time-limit must be positive, got {args.time_limit}")
    if not 0 <= args.ema_decay < 1:
        raise Fail(f"--ema-decay must be in [0, 1), got {args.ema_decay}")
    if args.ema_decay != 0.9998 and not args.ema:
        raise Fail(f"--ema-decay {args.ema_decay} needs --ema")


def prepare_out(out: Path) -> None:
    """Make the --out folder, or fail with one line saying why it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise Fail(f"--out {out}: a file is in the way (--out names a folder)") from None
    except OSError as err:
        raise Fail(f"--out {out}: cannot create the folder ({err.strerror or err})") from None


def checkpoint(model: Any, folder: Path, **kwargs: Any) -> None:
    """``save_pretrained`` into ``folder``; a save that fails (a full disk...) is one line."""
    try:
        scalenet.save_pretrained(model, folder, **kwargs)
    except scalenet.WeightsError as err:
        raise Fail(f"cannot write the checkpoint: {err}") from None


def read_last(last: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The weights of --out/last and the training state committed with them (read once, for
    the run's arguments and then the rest; a Fail if there is no such checkpoint)."""
    from scalenet.hub.load import read_checkpoint

    try:
        weights, companions = read_checkpoint(last)
    except scalenet.WeightsError as err:
        raise Fail(f"--resume: no usable checkpoint in {last}: {err}") from None
    if STATE_NAME not in companions:
        raise Fail(
            f"--resume: {last} holds weights but no training state committed with them "
            "(not a checkpoint of this script); start without --resume"
        )
    try:
        state: dict[str, Any] = unpack_state(companions[STATE_NAME])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise Fail(f"--resume: the training state in {last} is damaged: {err}") from None
    return weights, state


def resume(
    core: nn.Module,
    opt: Any,
    sched: Any,
    last: Path,
    ema: Any = None,
    checkpoint: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> tuple[int, float, list[Any]]:
    """Load --out/last into the model, optimizer, scheduler (and the moving average of the
    weights, with ``ema``); ``checkpoint``: its weights and training state if already read
    (:func:`read_last`).

    Returns (epochs done, best validation top-1, metrics rows); a missing, damaged or
    mismatched checkpoint is a Fail naming what is wrong.
    """
    weights, state = checkpoint if checkpoint is not None else read_last(last)
    try:
        scalenet.load_weights(core, weights, adapt=False)  # type: ignore[arg-type]
    except scalenet.WeightsError as err:
        raise Fail(f"--resume: {last} is not a checkpoint of this model: {err}") from None
    try:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start, best, history = int(state["epoch"]), float(state["best"]), list(state["history"])
        if (ema is not None) != ("ema" in state):
            had = "with" if "ema" in state else "without"
            raise Fail(
                f"--resume: {last} is a run {had} --ema; resume it {had} --ema "
                "(the moving average cannot start or stop in the middle of a run)"
            )
        if ema is not None:
            ema.module.load_state_dict(state["ema"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise Fail(f"--resume: the training state in {last} does not fit this run: {err}") from None
    return start, best, history


def learning_rates(sched: Any, base: float, steps: int, epochs: int) -> list[float]:
    """The head's learning rate at every step of the run (the scheduler's factor x --lr)."""
    factor = sched.lr_lambdas[-1]
    return [base * factor(step) for step in range(steps * epochs)]


def plot(
    out: Path,
    history: list[Any],
    sched: Any,
    args: argparse.Namespace,
    steps: int,
    confusion: torch.Tensor,
    per_class: torch.Tensor,
    data: DataBundle,
) -> list[Path]:
    """Write the run's three PNGs into ``out`` (matplotlib imported only here)."""
    from plots import save_all

    lrs = learning_rates(sched, args.lr, steps, args.epochs)
    epochs = [i / steps for i in range(len(lrs))]
    return save_all(out, history, epochs, lrs, confusion, per_class.tolist(), data.classes)


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> int:
    last = read_last(args.out / "last") if args.resume else None
    if last is not None:  # the run's own arguments first: they decide everything below
        apply_recorded(args, last[1].get("args", {}))
    check_args(args, world)
    if rank == 0:
        prepare_out(args.out)
    began = time.perf_counter()
    seed_everything(args.seed)
    config, source = architecture(args)
    check_memory(args, config, device)  # before any image is decoded at that size
    name = (args.model or DEFAULT_MODEL) if args.config is None and source is None else "the model"
    data = load_data(
        args.data,
        args.data_dir,
        image_size=args.image_size,
        fit_size=lambda size: nearest_size(config, size),
        seed=args.seed,
        val_fraction=args.val_fraction,
        augment=not args.no_augment,
        normalize=not args.no_normalize,
        csv_file=args.csv_file,
        in_memory={"auto": None, "memory": True, "loader": False}[args.pipeline],
        workers=args.workers or min(8, os.cpu_count() or 1),
    )
    show = rank == 0
    if show:
        print(size_note(args, data, name), file=sys.stderr)
    if show and data.in_memory:
        print(
            f"decoded {len(data.train) + len(data.val) + len(data.test)} images into memory in "
            f"{data.decode_seconds:.1f} s (--pipeline memory)",
            file=sys.stderr,
        )
    classes = len(data.classes)
    model = build_model(args, config, source, classes, data.in_chans, data.image_size)
    model = model.to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    core = model
    groups = param_groups(core, args)
    if args.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    if args.opt == "sgd":
        opt: Any = torch.optim.SGD(groups, args.lr, momentum=args.momentum, weight_decay=args.wd)
    else:
        cls = torch.optim.Adam if args.opt == "adam" else torch.optim.AdamW
        opt = cls(groups, args.lr, weight_decay=args.wd)
    targets = data.train.targets  # type: ignore[attr-defined]
    advice = imbalance_advice(targets, classes, args.balance)  # None: the classes are balanced
    weights = sample_weights(targets, classes) if args.balance == "sampler" else None
    samplers = {
        "train": EpochSampler(len(data.train), args.seed, True, weights, rank, world),  # type: ignore[arg-type]
        "val": EpochSampler(len(data.val), args.seed, False, None, rank, world),  # type: ignore[arg-type]
        "test": EpochSampler(len(data.test), args.seed, False, None, rank, world),  # type: ignore[arg-type]
    }
    store: dict[int, torch.Tensor] = {}
    batches = {
        split: make_batches(
            getattr(data, split),
            data,
            args,
            sampler,
            device,
            data.in_memory,
            split == "train",
            store,
        )
        for split, sampler in samplers.items()
    }
    steps = len(batches["train"])
    sched = make_scheduler(opt, args, steps)
    class_weight = loss_weights(targets, classes).to(device) if args.balance == "loss" else None
    loss_fn = nn.CrossEntropyLoss(weight=class_weight, label_smoothing=args.label_smoothing)
    if show and class_weight is not None:
        print(f"--balance loss: class weights {class_weight.tolist()}", file=sys.stderr)
    eval_loss = nn.CrossEntropyLoss()  # validation and test: the plain loss
    m = Metrics(classes, device)
    out = args.out
    history: list[dict[str, Any]] = []
    start, best = 0, -1.0
    # timm's EMA of the weights (and BatchNorm statistics), updated after each optimizer
    # step with the step count (its decay warms up from 0 to --ema-decay).
    ema = ModelEmaV3(core, decay=args.ema_decay, use_warmup=True) if args.ema else None
    if last is not None:
        start, best, history = resume(core, opt, sched, out / "last", ema, checkpoint=last)

    def update_ema() -> None:
        assert ema is not None
        ema.update(core, step=sched.last_epoch)  # the scheduler counts optimizer steps

    if show:
        # Rows of the epochs the checkpoint holds, and none past it (a run stopped after
        # writing a row but before its checkpoint committed does not repeat that row).
        (out / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in history))
    longest = 0.0
    for epoch in range(start, args.epochs):
        tic = time.perf_counter()
        samplers["train"].set_epoch(epoch)
        tr, _, tr_confusion = run_epoch(
            model,
            batches["train"],
            loss_fn,
            m,
            device,
            args,
            opt,
            sched,
            show,
            f"epoch {epoch + 1}/{args.epochs}",
            update_ema if ema is not None else None,
        )
        seconds = time.perf_counter() - tic
        if not args.freeze_backbone:  # (a frozen backbone keeps its statistics)
            recompute_batchnorm(core, batches["train"], device, world)
        va, _, va_confusion = run_epoch(model, batches["val"], eval_loss, m, device, args)
        va_ema = {}
        if ema is not None:
            va_ema = run_epoch(ema.module, batches["val"], eval_loss, m, device, args)[0]
        row = {
            "epoch": epoch + 1,
            **{f"train_{k}": v for k, v in tr.items()},
            **{f"val_{k}": v for k, v in va.items()},
            **{f"val_ema_{k}": v for k, v in va_ema.items()},
            "val_pred_max_share": float(va_confusion.sum(0).max() / va_confusion.sum()),
            "train_class_counts": tr_confusion.sum(1).tolist(),  # the images drawn, per class
            "lr": sched.get_last_lr()[-1],
            "images_per_s": len(samplers["train"]) * world / seconds,
            "seconds": time.perf_counter() - tic,
        }
        history.append(row)
        if show:
            print(
                json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
            )
            # After epoch 1, and only where balancing is the advice: an early epoch's
            # predictions are often lopsided on balanced data too.
            message = collapse_message(va_confusion, data.classes)
            if message and advice and epoch > 0:
                print(
                    f"warning: epoch {epoch + 1}: validation: the model {message}. {advice}",
                    file=sys.stderr,
                )
            with (out / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")
            if va["top1"] > best:
                best = va["top1"]
                checkpoint(core, out / "best", metrics={"val_top1": best}, label_names=data.classes)
            # Weights and training state commit together (one rename): a run stopped at any
            # moment resumes from one epoch's weights with that epoch's state, or refuses.
            if ema is not None:
                checkpoint(
                    ema.module, out / "ema", metrics={"val_top1": va_ema["top1"]},
                    label_names=data.classes,
                )  # fmt: skip
            state = pack_state(
                optimizer=opt.state_dict(),
                scheduler=sched.state_dict(),
                epoch=epoch + 1,
                best=best,
                history=history,
                args=recorded_args(args),
                **({"ema": ema.module.state_dict()} if ema is not None else {}),
            )
            checkpoint(core, out / "last", companions={STATE_NAME: state}, label_names=data.classes)
        if world > 1:
            dist.barrier()  # rank 0 has written the checkpoints
        longest = max(longest, time.perf_counter() - tic)
        elapsed = time.perf_counter() - began
        if args.time_limit and epoch + 1 < args.epochs and elapsed + longest > args.time_limit:
            if show:
                print(
                    f"stopped after epoch {epoch + 1} of {args.epochs}: --time-limit "
                    f"{args.time_limit:g} s; continue with --resume --out {out}",
                    file=sys.stderr,
                )
            return 0
    # Test the best checkpoint.
    scalenet.load_weights(core, out / "best" / "model.safetensors")
    te, per_class, confusion = run_epoch(model, batches["test"], eval_loss, m, device, args)
    te_ema = {}
    if ema is not None:  # the average after the last epoch
        te_ema = run_epoch(ema.module, batches["test"], eval_loss, m, device, args)[0]
    if show:
        result = {
            "test": te,
            **({"test_ema": te_ema} if ema is not None else {}),
            "per_class": dict(zip(data.classes, per_class.tolist(), strict=True)),
            "confusion": confusion.tolist(),
            "classes": data.classes,
            "train_seconds": sum(h["seconds"] for h in history),
            "image_size": data.image_size,
            "torch_threads": torch.get_num_threads(),  # the figures depend on it (on CPUs)
        }
        (out / "test_metrics.json").write_text(json.dumps(result, indent=2))
        if message := collapse_message(confusion, data.classes):
            print(f"warning: test: the model {message}. {advice or LR_ADVICE}", file=sys.stderr)
        plots = ""
        if not args.no_plots:
            paths = plot(out, history, sched, args, steps, confusion, per_class, data)
            plots = "; plots: " + ", ".join(str(p) for p in paths)
        print(
            f"test accuracy: {100 * te['top1']:.2f}% (top-3 {100 * te['top3']:.2f}%, balanced "
            f"{100 * te['balanced_acc']:.2f}%, macro-F1 {100 * te['macro_f1']:.2f}%, loss "
            f"{te['loss']:.3f}); best model in {out / 'best'}{plots}"
            + (
                f"; EMA of the weights: {100 * te_ema['top1']:.2f}% ({out / 'ema'})"
                if te_ema
                else ""
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""examples/train.py end to end on small data: accuracy, resume, torchrun, bad arguments.

The runs call its main() in this process (a subprocess would spend seconds importing torch,
timm, torchmetrics, matplotlib and scikit-learn each time); the script runs as a program once,
and under torchrun, where the process boundary is what is tested."""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import safetensors.torch
import torch
from PIL import Image

import scalenet

ROOT = Path(__file__).parents[2]
TRAIN = ROOT / "examples" / "train.py"
# A small ResNet so that a CPU epoch on digits takes seconds.
TINY = scalenet.ResNetConfig(depths=(1, 1, 1), width=8, stem="cifar", input_size=16)
FAST = ["--image-size", "16", "--batch-size", "32", "--opt", "adam", "--lr", "0.003", "--no-plots"]
#: The plots are drawn where they are tested (matplotlib takes ~1.5 s a run).
PLOTTED = [flag for flag in FAST if flag != "--no-plots"]


@contextlib.contextmanager
def examples_on_path() -> Iterator[None]:
    """examples/ first on sys.path, as for the script run as a program (train.py imports its
    sibling modules, and plots only when it plots)."""
    sys.path.insert(0, str(TRAIN.parent))
    try:
        yield
    finally:
        sys.path.remove(str(TRAIN.parent))


@functools.cache
def example(name: str) -> ModuleType:
    """The script examples/<name>.py as a module, imported once."""
    with examples_on_path():
        return importlib.import_module(name)


def run_main(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``python examples/train.py ARGV`` in this process: train.main(ARGV), with the exit status
    and the text that it writes to stdout and stderr (tqdm's bars write to sys.stderr, whose
    isatty() is False here as on a pipe: disabled, as in a captured subprocess)."""
    script = example("train")
    out, err = io.StringIO(), io.StringIO()
    environ = dict(os.environ)
    threads = torch.get_num_threads()
    try:
        with examples_on_path(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = script.main(argv)
            except SystemExit as stop:  # argparse's errors and --help
                if stop.code is None or isinstance(stop.code, int):
                    code = stop.code or 0
                else:
                    print(stop.code, file=sys.stderr)
                    code = 1
    except BaseException:
        # What it had written, shown with the traceback in pytest's report.
        sys.stdout.write(out.getvalue())
        sys.stderr.write(err.getvalue())
        raise
    finally:
        # What a run would leave behind in this process: environment variables that imports
        # set on first use (scikit-learn's KMP_*), and the intra-op thread count.
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update((k, v) for k, v in environ.items() if os.environ.get(k) != v)
        torch.set_num_threads(threads)
    return subprocess.CompletedProcess(["train.py", *argv], code, out.getvalue(), err.getvalue())


def train(
    *args: str,
    tmp: Path,
    launcher: list[str] | None = None,
    timeout: int = 300,
    fast: list[str] = FAST,
) -> subprocess.CompletedProcess[str]:
    """examples/train.py with TINY (unless --pretrained PATH) and ``fast``: in this process
    (the torch threads of the tests), or as processes of ``launcher`` (one thread each)."""
    config = tmp / "tiny.json"
    config.write_text(json.dumps(TINY.to_dict()))
    # --pretrained PATH brings its own architecture (--config beside it is an error).
    model = [] if "--pretrained" in args else ["--config", str(config)]
    argv = [*model, *fast, *args]
    if launcher is None:
        return run_main(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [*launcher, str(TRAIN), *argv],
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )  # fmt: skip


def test_one_epoch_on_digits_is_well_above_chance(tmp_path: Path) -> None:
    result = train("--epochs", "1", "--out", str(tmp_path / "run"), tmp=tmp_path, fast=PLOTTED)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert metrics["test"]["top1"] >= 0.5  # chance is 0.10; measured 0.70 for this recipe
    assert "test accuracy:" in result.stdout.splitlines()[-1]
    for name in (
        "metrics.jsonl",
        "curves.png",
        "confusion.png",
        "per_class.png",
        "best/model.safetensors",
        "best/config.json",
        "last/model.safetensors",
    ):
        assert (tmp_path / "run" / name).is_file(), name
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert [r["epoch"] for r in rows] == [1]
    for split in ("train", "val"):
        for key in ("loss", "top1", "top3", "balanced_acc", "macro_f1"):
            assert 0 <= rows[0][f"{split}_{key}"] < 10, key
    assert sum(rows[0]["train_class_counts"]) == 1294  # digits' train split, drawn once
    assert "decoded 1797 images into memory" in result.stderr  # --pipeline auto: memory
    for name in ("curves.png", "confusion.png", "per_class.png"):
        with Image.open(tmp_path / "run" / name) as image:
            assert image.size[0] >= 500, name
    assert len(metrics["per_class"]) == 10
    assert sum(map(sum, metrics["confusion"])) == 359  # the digits test split
    # The best checkpoint is a save_pretrained folder: it loads as is, with the data's class
    # names where timm and transformers read them (config.json's label_names).
    best = scalenet.from_pretrained(tmp_path / "run" / "best")
    assert best.config.num_classes == 10
    assert len(metrics["classes"]) == 10
    assert best.pretrained_cfg["label_names"] == metrics["classes"]
    saved = json.loads((tmp_path / "run" / "last" / "config.json").read_text())
    assert saved["label_names"] == metrics["classes"]


def test_killed_and_resumed_run_equals_uninterrupted(tmp_path: Path) -> None:
    """On the in-memory path (augmentation on the device); --time-limit stops the second run
    after its first epoch, as a 10-minute GPU call would. With --ema: the moving average of
    the weights resumes too (its rows, its folder)."""
    memory = ["--pipeline", "memory", "--epochs", "2", "--ema", "--ema-decay", "0.99"]
    straight = train(*memory, "--out", str(tmp_path / "a"), tmp=tmp_path)
    assert straight.returncode == 0, straight.stderr
    killed = train(*memory, "--time-limit", "0.01", "--out", str(tmp_path / "b"), tmp=tmp_path)
    assert killed.returncode == 0, killed.stderr
    assert "stopped after epoch 1 of 2: --time-limit" in killed.stderr
    assert not (tmp_path / "b" / "test_metrics.json").exists()
    # A run killed after writing epoch 2's metrics row, before its checkpoint committed.
    with (tmp_path / "b" / "metrics.jsonl").open("a") as file:
        file.write(json.dumps({"epoch": 2, "note": "not checkpointed"}) + "\n")
    # Resumed with the command the stopped run printed, nothing more: the checkpoint holds the
    # run's arguments (--ema, the decay, the recipe, the tiny config).
    hint = killed.stderr.split("continue with ")[1].split()
    assert hint == ["--resume", "--out", str(tmp_path / "b")]
    resumed = run_main(hint)
    assert resumed.returncode == 0, resumed.stderr
    rows = [
        [json.loads(line) for line in (tmp_path / d / "metrics.jsonl").open()] for d in ("a", "b")
    ]
    assert [row["epoch"] for row in rows[1]] == [1, 2]  # no row repeated
    for a, b in zip(*rows, strict=True):
        for row in (a, b):
            row.pop("images_per_s"), row.pop("seconds")
        assert a.pop("train_class_counts") == b.pop("train_class_counts")
        assert a == pytest.approx(b, rel=1e-6, abs=1e-6)
    assert "val_ema_top1" in rows[0][0]
    for name in ("last", "best", "ema"):
        wa = safetensors.torch.load_file(str(tmp_path / "a" / name / "model.safetensors"))
        wb = safetensors.torch.load_file(str(tmp_path / "b" / name / "model.safetensors"))
        for key in wa:
            torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-6, msg=key)
    for key in ("test", "test_ema"):
        ta = json.loads((tmp_path / "a" / "test_metrics.json").read_text())[key]
        tb = json.loads((tmp_path / "b" / "test_metrics.json").read_text())[key]
        assert ta == pytest.approx(tb, rel=1e-6, abs=1e-6)
    # The average is not the weights (decay 0.99 over ~40 steps), and a run with it resumes
    # only with it.
    ema = safetensors.torch.load_file(str(tmp_path / "a" / "ema" / "model.safetensors"))
    last = safetensors.torch.load_file(str(tmp_path / "a" / "last" / "model.safetensors"))
    assert not torch.equal(ema["fc.weight"], last["fc.weight"])
    # A flag given with --resume that differs from the run's is an error naming both values
    # (the run would silently have been another one: the scheduler's state decided the lr).
    out = ["--resume", "--out", str(tmp_path / "b")]
    for flag, value, old in (
        ("--lr", "0.5", "0.003"), ("--momentum", "0.0", "0.9"), ("--wd", "0.1", "0.0001"),
        ("--batch-size", "16", "32"), ("--schedule", "constant", "cosine"), ("--epochs", "3", "2"),
        ("--seed", "3", "0"), ("--image-size", "32", "16"), ("--label-smoothing", "0.1", "0.0"),
        ("--ema-decay", "0.9", "0.99"),
    ):  # fmt: skip
        changed = run_main([*out, flag, value])
        assert changed.returncode == 2, flag
        assert f"{flag} {value} differs from the run's {old}" in changed.stderr, changed.stderr


def test_ema_with_decay_0_is_the_weights(tmp_path: Path) -> None:
    """timm's ModelEmaV3 at decay 0 copies the weights at each step: after the last step the
    average's parameters are the model's (its BatchNorm statistics are the average's own: the
    model's are recomputed after the epoch)."""
    out = tmp_path / "run"
    result = train("--epochs", "1", "--ema", "--ema-decay", "0", "--out", str(out), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "EMA of the weights:" in result.stdout.splitlines()[-1]
    ema = scalenet.from_pretrained(out / "ema")
    last = scalenet.from_pretrained(out / "last")
    for (name, a), (_, b) in zip(ema.named_parameters(), last.named_parameters(), strict=True):
        assert torch.equal(a, b), name


def test_torchrun_two_processes_gloo_matches_one_process(tmp_path: Path) -> None:
    single = train("--epochs", "1", "--out", str(tmp_path / "one"), tmp=tmp_path)
    assert single.returncode == 0, single.stderr
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    double = train("--epochs", "1", "--out", str(tmp_path / "two"), tmp=tmp_path, launcher=launcher)
    assert double.returncode == 0, double.stderr
    one = json.loads((tmp_path / "one" / "test_metrics.json").read_text())["test"]
    two = json.loads((tmp_path / "two" / "test_metrics.json").read_text())["test"]
    # Same global batch and data; only BatchNorm sees half a batch per process.
    assert two["top1"] == pytest.approx(one["top1"], abs=0.12)
    assert two["top1"] >= 0.5
    # Only rank 0 wrote: one metrics line per epoch, one final line.
    assert len((tmp_path / "two" / "metrics.jsonl").read_text().splitlines()) == 1
    assert double.stdout.count("test accuracy:") == 1


def write_images(root: Path, count: int, corrupt: str | None = None, size: int = 20) -> None:
    for split in ("train", "test"):
        for label in ("cat", "dog"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                colour = (200, 30, 30) if label == "cat" else (30, 30, 200)
                Image.new("RGB", (size, size), colour).save(folder / f"{i}.png")
    if corrupt:
        (root / "train" / "cat" / corrupt).write_bytes(b"not an image at all")


def test_imagefolder_and_csv_data_train(tmp_path: Path) -> None:
    write_images(tmp_path / "folder", 12)
    result = train(
        "--data",
        "imagefolder",
        "--data-dir",
        str(tmp_path / "folder"),
        "--epochs",
        "2",
        "--out",
        str(tmp_path / "r1"),
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r1" / "test_metrics.json").read_text())["test"]["top1"] > 0.9
    lines = ["file,label"] + [
        f"{split}/{label}/{i}.png,{label}"
        for split in ("train", "test")
        for label in ("cat", "dog")
        for i in range(12)
    ]
    (tmp_path / "folder" / "labels.csv").write_text("\n".join(lines) + "\n")
    result = train(
        "--data",
        "csv",
        "--data-dir",
        str(tmp_path / "folder"),
        "--epochs",
        "2",
        "--out",
        str(tmp_path / "r2"),
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r2" / "test_metrics.json").read_text())["test"]["top1"] > 0.9


@pytest.mark.parametrize(("side", "expected"), [(20, 20), (17, 16)])
def test_the_input_size_is_the_datas_moved_to_one_the_model_accepts(
    tmp_path: Path, side: int, expected: int
) -> None:
    """TINY (CIFAR stem, three stages) takes multiples of 4: 20 px images are trained at 20,
    17 px ones at 16 (the nearest), and the script says so."""
    write_images(tmp_path / "folder", 4, size=side)
    result = train(
        "--data", "imagefolder", "--data-dir", str(tmp_path / "folder"), "--epochs", "1",
        "--out", str(tmp_path / "run"), tmp=tmp_path, fast=FAST[2:],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    note = next(line for line in result.stderr.splitlines() if line.startswith("input size:"))
    if side == expected:
        assert note.startswith(f"input size: {side} px, the data's size (the median")
    else:
        assert note.startswith(f"input size: {expected} px: the data's size (the median")
        assert f"is {side} px, and {expected} px is the nearest size that the model accepts" in note
    saved = scalenet.from_pretrained(tmp_path / "run" / "best").config
    assert saved.input_size == expected
    metrics = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert metrics["image_size"] == expected


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # (A progress bar may have started on stderr before a bad image was reached.)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    assert "\n" not in lines[0]
    return lines[0]


def test_bad_arguments_give_one_clear_line(tmp_path: Path) -> None:
    # The script itself, once: exit status 2, one line, no traceback.
    result = subprocess.run(
        [sys.executable, str(TRAIN), "--model", "resnet5O", "--out", str(tmp_path / "bad")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "resnet50" in one_error_line(result)

    # The other cases through its main() in this process (each subprocess costs an import of
    # torch, timm and torchmetrics: seconds), with the same checks on what it prints.
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_main(["--out", str(tmp_path / "bad"), *args])

    assert "nowhere" in one_error_line(run("--data", "cifar10", "--data-dir", "/nowhere"))
    write_images(tmp_path / "broken", 3, corrupt="9.jpg")
    assert "9.jpg" in one_error_line(
        run("--data", "imagefolder", "--data-dir", str(tmp_path / "broken"), "--image-size", "16")
    )
    write_images(tmp_path / "csv", 3)
    (tmp_path / "csv" / "labels.csv").write_text(
        "file,label\n"
        + "".join(f"train/cat/{i}.png,{i * 7}\n" for i in range(3))
        + "test/cat/0.png,-1\n"
    )
    assert "-1" in one_error_line(
        run("--data", "csv", "--data-dir", str(tmp_path / "csv"), "--image-size", "16")
    )
    assert "resume" in one_error_line(run("--resume", "--out", str(tmp_path / "empty")))
    assert "--epochs must be at least 1, got 0" in one_error_line(run("--epochs", "0"))
    assert "--ema-decay must be in [0, 1), got 1.0" in one_error_line(
        run("--ema", "--ema-decay", "1")
    )
    assert "--ema-decay 0.99 needs --ema" in one_error_line(run("--ema-decay", "0.99"))
    # 1500 px: refused from the analytic estimate (427 GB for resnet20_cifar at batch 128, far
    # past any machine's RAM), before the digits are decoded at that size (12 GB) or the
    # mean/std pass runs (once 27 GB of float64 batches).
    line = one_error_line(run("--image-size", "1500", "--batch-size", "128"))
    expected = scalenet.profile(scalenet.get_config("resnet20_cifar").replace(input_size=1500))
    assert f"needs about {expected.train_memory(128) / 1e9:,.1f} GB" in line
    assert "this machine's RAM" in line
    # --pretrained PATH brings its architecture: --config (even a missing file) or --model
    # beside it is refused, not ignored.
    TINY.build().save_pretrained(tmp_path / "pre")
    pre = ["--pretrained", str(tmp_path / "pre")]
    line = one_error_line(run(*pre, "--config", str(tmp_path / "missing.json")))
    assert "--config" in line
    assert "missing.json does not apply" in line
    assert "--model resnet18 does not apply" in one_error_line(run(*pre, "--model", "resnet18"))
    assert not (tmp_path / "bad" / "metrics.jsonl").exists()  # nothing ran


def test_train_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    script = example("train")
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    defaults = {
        name: value
        for name, value in vars(script.parse_args([])).items()
        # (explicit: the names the command line gave, not an option)
        if value is not None and value is not False and name != "explicit"
    }
    assert len(defaults) >= 20
    for name, value in defaults.items():
        assert f"(default: {value})" in text, name
    assert text.count("(default: ") == len(defaults)  # and none for unset options and flags
    assert "default resnet20_cifar unless --config or --pretrained PATH" in text


def test_fc_input_size_exits_non_zero_at_a_size_that_does_not_fit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = example("fc_input_size")
    assert script.main(["--input-size", "450"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ShapeError: input_size=450 does not fit")
    assert "444 or 508" in captured.err
    assert script.main(["--input-size", "444"]) == 0
    # 256 channels of 3x3 after six 5x5 convolutions and 2x2 poolings of 444 px
    assert capsys.readouterr().out.splitlines()[-1] == "first linear layer: 2304 inputs"


def grey_tree(root: Path, counts: dict[str, int], size: int = 8) -> None:
    """Identical grey images: nothing tells the classes apart, so a model can only predict the
    same class for every image (BatchNorm makes the output one constant vector)."""
    for split in ("train", "test"):
        for label, n in counts.items():
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n if split == "train" else max(1, n // 4)):
                Image.new("RGB", (size, size), (128, 128, 128)).save(folder / f"{i}.png")


def test_imbalance_collapse_warning_and_balance(tmp_path: Path) -> None:
    grey_tree(tmp_path / "set", {"common": 90, "rare": 10})
    base = ["--data", "imagefolder", "--data-dir", str(tmp_path / "set"), "--image-size", "8"]
    plain = train(*base, "--epochs", "2", "--out", str(tmp_path / "none"), tmp=tmp_path)
    assert plain.returncode == 0, plain.stderr
    # Not after epoch 1 (early epochs are often lopsided), from epoch 2 on.
    assert "warning: epoch 1" not in plain.stderr
    assert "warning: epoch 2: validation: the model predicts class '" in plain.stderr
    assert "for 100% of images" in plain.stderr
    advice = "Imbalanced training classes (81 to 9 images): try --balance sampler or --balance"
    assert plain.stderr.count(advice) == 2  # epoch 2 and test
    assert "warning: test: the model predicts class" in plain.stderr
    row = json.loads((tmp_path / "none" / "metrics.jsonl").read_text().splitlines()[0])
    # Validation: 10 images (9 + 1); one class for all of them.
    assert row["val_pred_max_share"] == 1.0
    assert row["val_balanced_acc"] == pytest.approx(0.5)  # recall 1 and 0
    assert row["val_top1"] in (pytest.approx(0.9), pytest.approx(0.1))
    f1 = (2 * 0.9 / 1.9) / 2 if row["val_top1"] > 0.5 else (2 * 0.1 / 1.1) / 2
    assert row["val_macro_f1"] == pytest.approx(f1, abs=1e-6)
    assert row["train_class_counts"] == [81, 9]  # the train split, each image once

    sampler = train(
        *base, "--balance", "sampler", "--epochs", "2", "--out", str(tmp_path / "s"), tmp=tmp_path
    )
    assert sampler.returncode == 0, sampler.stderr
    # Already balanced: the collapse (the images are identical) is reported once, at test,
    # without the advice to balance.
    assert "warning: epoch" not in sampler.stderr
    assert "warning: test: the model predicts class" in sampler.stderr
    assert "--balance" not in sampler.stderr
    assert "Try a lower --lr" in sampler.stderr
    drawn = [
        json.loads(line)["train_class_counts"] for line in (tmp_path / "s" / "metrics.jsonl").open()
    ]
    assert all(sum(d) == 90 for d in drawn)
    assert all(25 <= d[1] <= 65 for d in drawn)  # ~45 each, not 9
    weighted = train(
        *base, "--balance", "loss", "--epochs", "1", "--out", str(tmp_path / "l"), tmp=tmp_path
    )
    assert weighted.returncode == 0, weighted.stderr
    # n / (classes * n_c) for 81 and 9 training images
    printed = re.search(r"--balance loss: class weights \[(.*)\]", weighted.stderr)
    assert printed is not None, weighted.stderr
    weights = [float(w) for w in printed.group(1).split(",")]
    assert weights == pytest.approx([90 / (2 * 81), 90 / (2 * 9)])

    # Balanced labels (the training split has 45 and 45): no advice to balance, no warning
    # per epoch.
    grey_tree(tmp_path / "even", {"a": 50, "b": 50})
    even = [*base[:3], str(tmp_path / "even"), *base[4:]]
    result = train(*even, "--epochs", "2", "--out", str(tmp_path / "even-run"), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: epoch" not in result.stderr
    assert "--balance" not in result.stderr


def test_pretrained_folder_freeze_backbone_at_512_px(tmp_path: Path) -> None:
    pretrained = TINY.replace(num_classes=10).build()
    pretrained.save_pretrained(tmp_path / "pre")
    write_images(tmp_path / "big", 3)
    result = train(
        "--data", "imagefolder", "--data-dir", str(tmp_path / "big"), "--image-size", "512",
        "--pretrained", str(tmp_path / "pre"), "--freeze-backbone", "--batch-size", "4",
        "--epochs", "1", "--out", str(tmp_path / "run"), tmp=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "classifier was re-initialised" in result.stderr
    before = safetensors.torch.load_file(str(tmp_path / "pre" / "model.safetensors"))
    after = safetensors.torch.load_file(str(tmp_path / "run" / "last" / "model.safetensors"))
    assert after["fc.weight"].shape == (2, before["fc.weight"].shape[1])
    backbone = [k for k in before if not k.startswith("fc.")]
    assert any("running_mean" in k for k in backbone)
    for key in backbone:  # weights and BatchNorm statistics untouched
        assert torch.equal(before[key], after[key]), key
    assert scalenet.from_pretrained(tmp_path / "run" / "last").config.input_size == 512


def test_scaling_study_help_and_seeds_are_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same variant and seed give the same figures whatever ran before in the process, and
    the table's mean and range are those of the seeds' runs."""
    monkeypatch.syspath_prepend(str(TRAIN.parent))  # train.py imports plots when plotting
    study = example("scaling_study")
    with pytest.raises(SystemExit):
        study.main(["--help"])
    text = capsys.readouterr().out
    assert "Every flag that this script does not define goes to train.py" in text
    assert text.rstrip().endswith("otherwise it varies like another seed.")
    assert "--seeds SEEDS [SEEDS ...]" in text
    assert "(default: [0])" in text
    assert study.main(["--seed", "3"]) == 2
    assert (
        capsys.readouterr().err
        == "error: --seed is not passed to train.py here (--seeds sets it)\n"
    )

    write_images(tmp_path / "folder", 3, size=8)
    (tmp_path / "tiny.json").write_text(json.dumps(TINY.to_dict()))
    common = [
        "--model", str(tmp_path / "tiny.json"), "--data", "imagefolder",
        "--data-dir", str(tmp_path / "folder"), "--epochs", "1", "--no-plots",
    ]  # fmt: skip
    assert study.main([*common, "--seeds", "0", "1", "--out", str(tmp_path / "a")]) == 0
    assert study.main([*common, "--seeds", "1", "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "results.json").read_text())
    b = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [r["variant"] for r in a] == [
        "base", "depth x2", "width x1.5", "resolution x1.5", "compound phi=1"
    ]  # fmt: skip
    for ra, rb in zip(a, b, strict=True):
        assert rb["top1_per_seed"] == [ra["top1_per_seed"][1]]  # seed 1: identical
        folder = tmp_path / "a" / ra["variant"].replace(" ", "_").replace("=", "")
        per_seed = [
            json.loads((folder / f"seed{s}" / "test_metrics.json").read_text())["test"]["top1"]
            for s in (0, 1)
        ]
        assert ra["top1_per_seed"] == per_seed
        assert ra["top1"] == pytest.approx(sum(per_seed) / 2)
        assert (ra["top1_min"], ra["top1_max"]) == (min(per_seed), max(per_seed))
    table = (tmp_path / "a" / "results.md").read_text()
    assert "| test top-1 | lowest-highest (2 seeds) |" in table
    assert (tmp_path / "a" / "accuracy_vs_macs.png").is_file()  # the study's own plot
    assert [p.name for p in (tmp_path / "a").rglob("*.png")] == ["accuracy_vs_macs.png"]


def test_readme_figures_that_are_cheap_to_regenerate() -> None:
    """examples/README.md's fc_input_size row and the scaling table's params and MACs, against
    what the scripts compute now."""
    readme = (ROOT / "examples" / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "examples/fc_input_size.py" in line)
    fc, study = example("fc_input_size"), example("scaling_study")
    model = scalenet.simple_cnn(
        (8, 16, 32, 64, 128, 256), kernel_size=5, padding=0,
        hidden=(1000, 500, 100), num_classes=2, input_size=444,
    )  # fmt: skip
    assert f"{model.hidden[0].fc.in_features:,} inputs" in row
    assert fc.main(["--input-size", "444"]) == 0
    below, above = scalenet.nearest_valid_sizes(model.config, 450)
    assert f"nearest sizes {below} or {above}" in row
    assert "exits with status 1" in row
    assert fc.main(["--input-size", "450"]) == 1

    table = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in readme.split("## scaling_study.py")[1].splitlines()
        if line.startswith("| ") and "variant" not in line
    ]
    configs = study.variants(scalenet.get_config("resnet20_cifar"))
    assert [r[0] for r in table] == list(configs)
    for r in table:
        config = configs[r[0]]
        cost = scalenet.profile(config)
        assert r[1:6] == [
            str(list(config.depths)),
            str(config.width),
            str(config.input_size),
            f"{cost.params:,}",
            f"{cost.macs / 1e6:.1f}",
        ], r[0]


def test_an_out_that_cannot_be_a_folder_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for out, reason in ((tmp_path / "file", "a file is in the way"), (Path("/dev/null/run"), "")):
        result = train("--epochs", "1", "--out", str(out), tmp=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: --out {out}: {reason}"), result.stderr
        assert "Traceback" not in result.stderr

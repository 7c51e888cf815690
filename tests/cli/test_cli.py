"""The `scalenet` command: in-process through click's CliRunner (stdout and stderr apart, exit
codes as the shell sees them), and the installed console script itself in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import timm
import torch
import torchvision
from click.testing import CliRunner, Result

import scalenet
import scalenet.analysis.tables
from scalenet._format import human
from scalenet.cli import main

SCRIPT = shutil.which("scalenet") or str(Path(sys.executable).with_name("scalenet"))


def script(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script (each run pays ~3 s of torch import)."""
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120, check=False)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process, with what a subprocess would give: status, stdout, stderr."""
    result = CliRunner().invoke(main, list(args), prog_name="scalenet")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_help_everywhere() -> None:
    # In-process (each subprocess pays ~3 s of torch import); the script itself is run below.
    runner = CliRunner()
    for cmd in ([], ["list"], ["summary"], ["check"]):
        result = runner.invoke(main, [*cmd, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.output
    assert runner.invoke(main, ["--version"]).output.strip().endswith(scalenet.__version__)


def test_list() -> None:
    result = run("list", "resnet*_cifar")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == scalenet.list_models("resnet*_cifar")
    assert "269.72 K" in lines[1]
    assert "40.55 M" in lines[1]
    # The default tag of each architecture's weights: what pretrained=True loads.
    for line in lines[1:-1]:
        assert line.split()[6] == scalenet.weights.default_tag(line.split()[0])
    assert lines[-1].startswith("weights: the default tag")
    assert run("list", "nothing*").returncode == 1


def test_summary_json_is_exact_and_table_has_totals(tmp_path: Path) -> None:
    result = run("summary", "resnet50", "--format", "json", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["params"], data["macs"]) == (25_557_032, 2 * 4_089_184_256)
    table = run("summary", "resnet20_cifar", "--batch-size", "128", "--memory", "8GiB")
    assert table.returncode == 0, table.stderr
    assert "Total params: 269,722" in table.stdout
    assert "Training memory, sgd, float32, batch 128 (MB)" in table.stdout
    profile = scalenet.profile("resnet20_cifar")
    best = profile.max_batch_size(8 * 1024**3)
    assert f"Largest training batch in 8GiB: {best}" in table.stdout
    # A config file written by to_dict() works as a target.
    cfg = scalenet.get_config("resnet20_cifar").replace(width=32)
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(cfg.to_dict()))
    md = run("summary", str(path), "--format", "markdown")
    assert md.returncode == 0, md.stderr
    assert f"{scalenet.profile(cfg).params:,}" in md.stdout
    assert md.stdout.startswith("**wide:")


def test_check_exit_codes_and_messages() -> None:
    ok = run("check", "simple_cnn6_k5", "--input-size", "444")
    assert ok.returncode == 0
    assert "fits" in ok.stdout
    bad = run("check", "resnet50", "--input-size", "250")
    assert bad.returncode == 1
    assert "224 or 256" in bad.stderr
    unknown = run("check", "resnet5O", "--input-size", "224")
    assert unknown.returncode == 2
    assert "resnet50" in unknown.stderr  # the suggestion


def test_the_installed_script() -> None:
    ok = script("check", "resnet50", "--input-size", "224")
    assert ok.returncode == 0, ok.stderr
    assert "fits" in ok.stdout
    bad = script("check", "resnet50", "--input-size", "250")
    assert bad.returncode == 1
    assert "224 or 256" in bad.stderr
    usage = script("summary", "resnet18", "--format", "yaml")
    assert usage.returncode == 2
    assert "Error" in usage.stderr
    assert "Traceback" not in usage.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "resnet18"],
        ["summary", "resnet18", "--memory", "lots"],
        ["summary", "missing.json"],
        ["summary", "resnet18", "--input-size", "250"],
        ["summary", "resnet18", "--memory", "nan"],
        ["summary", "resnet18", "--memory", "inf"],
    ],
)
def test_usage_errors(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Error" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["summary"], ["check", "--input-size", "32"], ["scale"]])
def test_a_config_file_with_an_invalid_size_is_a_usage_error(
    tmp_path: Path, command: list[str]
) -> None:
    config = scalenet.get_config("resnet20_cifar").to_dict() | {"input_size": 34}
    (tmp_path / "bad.json").write_text(json.dumps(config))
    result = CliRunner().invoke(main, [command[0], str(tmp_path / "bad.json"), *command[1:]])
    assert result.exit_code == 2, result.output
    assert "input_size=34 does not fit" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_scale_prints_the_compound_family() -> None:
    result = CliRunner().invoke(main, ["scale", "resnet18", "--budget", "4e9"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for phi, line in enumerate(lines[1:6]):
        cfg = scalenet.get_config(f"scalenet_b{phi}")
        assert line.startswith(f"phi={phi} ")
        assert f"{cfg.depths}" in line
        assert f" {cfg.width} " in line
        assert f" {cfg.input_size} " in line
    bracket = scalenet.spec.scaling.bracket_budget(scalenet.get_config("resnet18"), 4_000_000_000)
    assert bracket.over is not None
    for line, (label, cfg) in zip(
        lines[-2:], [("<= 4.00 G", bracket.under), ("> 4.00 G", bracket.over)], strict=True
    ):
        assert line.startswith(label)
        assert f"{cfg.depths}" in line
        assert f" {cfg.width} " in line
        assert f" {cfg.input_size} " in line
    assert not any(line.startswith("note") for line in lines)
    assert CliRunner().invoke(main, ["scale", "simple_cnn_cifar"]).exit_code == 2


def test_scale_budget_that_returns_the_target_says_why(tmp_path: Path) -> None:
    config = scalenet.ResNetConfig(width=80, num_classes=11)
    (tmp_path / "w80.json").write_text(json.dumps(config.to_dict()))
    result = CliRunner().invoke(main, ["scale", str(tmp_path / "w80.json"), "--budget", "4e9"])
    assert result.exit_code == 0, result.output
    *_, under, over, note = result.output.splitlines()
    bracket = scalenet.spec.scaling.bracket_budget(config, 4_000_000_000)
    assert under.startswith("<= 4.00 G       (2, 2, 2, 2)          80    224")
    assert under.rstrip().endswith(" 2.80 G")
    assert over.startswith("> 4.00 G        (3, 3, 3, 3)          80    224")
    assert over.rstrip().endswith(" 4.24 G")
    assert note == f"note: {bracket.note}"
    assert "returned unchanged" in note


def test_docs_zoo_table_is_the_registry() -> None:
    page = (Path(__file__).parents[2] / "docs" / "zoo.md").read_text()
    table = page.split("<!-- zoo-table:start -->\n")[1].split("\n<!-- zoo-table:end -->")[0]
    assert table == scalenet.analysis.tables.zoo_markdown()
    assert CliRunner().invoke(main, ["list", "--format", "markdown"]).output.strip() == table


USAGE = {
    "list": "Usage: scalenet list [OPTIONS] [PATTERN]",
    "summary": "Usage: scalenet summary [OPTIONS] TARGET",
    "check": "Usage: scalenet check [OPTIONS] TARGET",
    "scale": "Usage: scalenet scale [OPTIONS] TARGET",
}


def invoke(args: list[str]) -> Result:
    """Run ARGS in-process as the `scalenet` command (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, args, prog_name="scalenet")


def usage_error(args: list[str]) -> str:
    """Run ARGS in-process; assert a clean usage error of the subcommand ARGS[0] (exit 2, no
    traceback, its usage and help hint, nothing on stdout); the error output."""
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == "", result.stdout  # nothing printed before the error
    lines = result.stderr.splitlines()
    assert lines[:2] == [USAGE[args[0]], f"Try 'scalenet {args[0]} --help' for help."], lines
    assert "Traceback" not in result.stderr
    return result.stderr


def test_summary_reads_a_saved_models_config_json(tmp_path: Path) -> None:
    scalenet.create("resnet20_cifar").save_pretrained(tmp_path / "r20")
    runner = CliRunner()
    zoo = runner.invoke(main, ["summary", "resnet20_cifar", "--format", "json"])
    assert zoo.exit_code == 0, zoo.output
    saved = runner.invoke(
        main, ["summary", str(tmp_path / "r20" / "config.json"), "--format", "json"]
    )
    assert saved.exit_code == 0, saved.output
    data, expected = json.loads(saved.output), json.loads(zoo.output)
    assert (data["params"], data["macs"]) == (expected["params"], expected["macs"])
    assert data["params"] == 269_722
    assert data["name"] == "r20"  # the model's folder, not "config"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"family": "r\xe9snet"}', "UTF-8"),
        (b"[" * 100_000, "nested less than 1,000 levels"),
        (b'{"family": "resnet", "width": ' + b"9" * 5000 + b"}", "valid JSON"),
        (b"{not json", "valid JSON"),
        (b'{"depths": [2, 2]}', "a scalenet config"),
    ],
    ids=["not-utf8", "deep", "huge-int", "not-json", "no-family"],
)
def test_a_bad_config_file_is_a_usage_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    output = usage_error(["summary", str(path)])
    assert "bad.json" in output
    assert message in output


@pytest.mark.parametrize(
    ("command", "option", "allowed"),
    [
        ("summary resnet20_cifar --memory 1e300TB", "'--memory'", "up to 16EiB"),
        ("summary resnet20_cifar --memory 24XB", "'--memory'", "up to 16EiB"),
        ("summary resnet20_cifar --memory -1GB", "'--memory'", "up to 16EiB"),
        ("summary resnet20_cifar --batch-size 0", "'--batch-size'", "x>=1"),
        ("summary resnet20_cifar --batch-size -3", "'--batch-size'", "x>=1"),
        ("summary resnet20_cifar --input-size 40000", "'--input-size'", "1<=x<=32768"),
        ("check resnet20_cifar --input-size 1000000000000", "'--input-size'", "1<=x<=32768"),
        ("check resnet20_cifar --input-size 0", "'--input-size'", "1<=x<=32768"),
        ("scale resnet20_cifar --budget nan", "'--budget'", "1<=x<=1e+18"),
        ("scale resnet20_cifar --budget inf", "'--budget'", "1<=x<=1e+18"),
        ("scale resnet20_cifar --budget -5", "'--budget'", "1<=x<=1e+18"),
        ("scale resnet20_cifar --phi 1e308", "'--phi'", "-10<=x<=100"),
        ("scale resnet20_cifar --phi nan", "'--phi'", "-10<=x<=100"),
        ("scale resnet20_cifar --phi -11", "'--phi'", "-10<=x<=100"),
        ("scale resnet20_cifar --phi 50", "'--phi'", "phi=50 is too large: depth="),
        ("scale resnet20_cifar --alpha 0", "'--alpha'", "1<=x<=2"),
        ("scale resnet20_cifar --beta -1", "'--beta'", "1<=x<=2"),
        ("scale resnet20_cifar --gamma nan", "'--gamma'", "1<=x<=2"),
        ("scale resnet20_cifar --alpha inf", "'--alpha'", "1<=x<=2"),
        ("scale resnet20_cifar --alpha 1 --beta 1 --gamma 1 --budget 1e9", "--budget", ">= 1.1"),
    ],
)
def test_numbers_out_of_range_are_usage_errors(command: str, option: str, allowed: str) -> None:
    output = usage_error(command.split())
    assert option in output
    assert allowed in output


def test_check_lists_no_size_above_the_limit() -> None:
    result = CliRunner().invoke(main, ["check", "resnet20_cifar", "--input-size", "32768"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("32764, 32768)")


# --- summary: the two memory figures ----------------------------------------------------------


def test_summary_labels_torchsummarys_estimate_beside_the_training_memory() -> None:
    result = invoke(["summary", "resnet50", "--batch-size", "128", "--memory", "24GiB"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.endswith(" backward.\nLargest training batch in 24GiB: 296\n")
    p = scalenet.profile("resnet50", batch_size=128)
    # torchsummary's rule, from its definition: input + every output and its gradient + params.
    naive = 4 * (128 * 3 * 224 * 224 + 2 * p.activations + 25_557_032) / 1024**2
    # SGD with momentum: weights, gradients, momentum; plus what autograd saves.
    train = (3 * 4 * 25_557_032 + p.saved_bytes(128)) / 1024**2
    assert result.stdout.splitlines()[-4:] == [
        f"Estimated total size, torchsummary's rule (MB): {naive:.2f}",
        f"Training memory, sgd, float32, batch 128 (MB): {train:.2f}",
        "Will it fit? Use the training memory (the model behind max_batch_size); torchsummary's"
        " rule is larger: it counts every layer's output and its gradient in float32, not only"
        " what autograd saves for backward.",
        f"Largest training batch in 24GiB: {p.max_batch_size(24 * 1024**3)}",
    ]
    assert (f"{naive:.2f}", f"{train:.2f}") == ("36850.47", "10779.48")  # the figures
    # docs/profiling.md shows this tail verbatim.
    page = (Path(__file__).parents[2] / "docs" / "profiling.md").read_text()
    shown = page.split("The summary ends with")[1].split("```text\n")[1].split("```")[0]
    assert result.stdout.endswith("\n" + shown)


def test_summary_shows_one_training_memory_for_the_chosen_optimizer_and_dtype() -> None:
    args = ["summary", "resnet18", "--optimizer", "adam", "--dtype", "bfloat16"]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "Training memory" in line]
    p = scalenet.profile("resnet18")
    # Adam: weights, gradients and two moments, 2 bytes each; saved activations in bfloat16.
    expected = (4 * 2 * p.params + p.saved_bytes(1, torch.bfloat16)) / 1024**2
    assert lines == [f"Training memory, adam, bfloat16, batch 1 (MB): {expected:.2f}"]
    assert "torchsummary's rule is larger: it counts every layer's output" in result.stdout
    # In float32 at batch 1 the weights dominate: torchsummary's rule is the smaller figure.
    sgd = invoke(["summary", "resnet18"]).stdout
    assert p.total_bytes < p.train_memory()
    assert f"{p.total_bytes / 1024**2:.2f}" in sgd
    assert sgd.endswith(
        "rule is smaller: it counts the weights once, without gradients or optimizer state.\n"
    )


def test_summary_formats_agree() -> None:
    args = ["summary", "resnet20_cifar", "--batch-size", "64", "--optimizer", "adamw"]
    memory = ["--memory", "1GB"]
    table, md, js = (invoke([*args, "--format", f, *memory]) for f in ("table", "markdown", "json"))
    for result in (table, md, js):
        assert result.exit_code == 0, result.output
        assert result.stdout.endswith("\n")
        assert not result.stdout.endswith("\n\n")
    p = scalenet.profile("resnet20_cifar", batch_size=64)
    train, best = p.train_memory(64, "adamw"), p.max_batch_size(10**9, "adamw")
    data = json.loads(js.stdout)
    assert data["total_bytes"] == p.total_bytes
    assert data["train_memory"] == {
        "optimizer": "adamw",
        "dtype": "float32",
        "batch_size": 64,
        "bytes": train,
    }
    assert data["max_batch_size"] == {"memory": "1GB", "bytes": 10**9, "batch": best}
    label = "Training memory, adamw, float32, batch 64 (MB)"
    naive = "Estimated total size, torchsummary's rule (MB)"
    assert f"\n{label}: {train / 1024**2:.2f}\n" in table.stdout
    assert f"\n| {label} | {train / 1024**2:.2f} |\n" in md.stdout
    assert f"\n{naive}: {p.total_bytes / 1024**2:.2f}\n" in table.stdout
    assert f"\n| {naive} | {p.total_bytes / 1024**2:.2f} |\n" in md.stdout
    note = p.fit_note("adamw")
    assert f"\n{note}\nLargest training batch in 1GB: {best}\n" in table.stdout
    # Markdown: the note and the batch are paragraphs after the totals table, not table rows.
    assert md.stdout.endswith(f" |\n\n{note}\n\nLargest training batch in 1GB: {best}\n")


# --- usage errors: before any output, with the subcommand's usage -----------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("list --format yaml", "'--format'"),
        ("list --bogus", "No such option '--bogus'"),
        ("summary", "Missing argument 'TARGET'"),
        ("summary nosuch", "unknown model 'nosuch'"),
        ("summary resnet50 --input-size 250", "nearest valid sizes are 224 or 256"),
        ("summary resnet20_cifar --input-size 34", "nearest valid sizes are 32 or 36"),
        ("summary resnet20_cifar --memory 24XB", "'24XB' is not a memory size"),
        ("summary resnet20_cifar --format yaml", "'--format'"),
        ("summary resnet20_cifar --method thop", "'--method'"),
        ("summary resnet20_cifar --optimizer lbfgs", "'--optimizer'"),
        ("summary resnet20_cifar --dtype float64", "'--dtype'"),
        ("summary resnet20_cifar --batch-size x", "'--batch-size'"),
        ("summary resnet20_cifar --depth x", "'--depth'"),
        (f"summary resnet20_cifar --method torch --batch-size {10**20}", "more than torch allows"),
        ("check resnet20_cifar", "Missing option '--input-size'"),
        ("check nosuch --input-size 32", "unknown model 'nosuch'"),
        ("check resnet5O --input-size 224", "did you mean 'resnet50'"),
        ("check resnet20_cifar --input-size 32 --depth 8.5", "'--depth'"),
        ("scale", "Missing argument 'TARGET'"),
        ("scale nosuch", "unknown model 'nosuch'"),
        ("scale simple_cnn_cifar", "simple_cnn_cifar is not a ResNet"),
        ("scale resnet20_cifar --phi x", "'--phi'"),
        ("scale resnet20_cifar --phi 1 --phi 50", "phi=50 is too large"),
        ("scale resnet20_cifar --budget 1", "'--budget': macs=1 is not allowed: at least"),
        ("scale resnet18 --alpha 1.05 --beta 1 --gamma 1.01 --budget 4e9", ">= 1.1"),
    ],
)
def test_every_bad_argument_is_a_usage_error_of_its_subcommand(args: str, message: str) -> None:
    assert message in usage_error(args.split())


@pytest.mark.parametrize("command", ["summary", "check", "scale"])
def test_a_bad_config_file_shows_the_subcommands_usage(tmp_path: Path, command: str) -> None:
    (tmp_path / "bad.json").write_text('{"family": "resnet", "width": 0}')
    extra = ["--input-size", "32"] if command == "check" else []
    assert "width=0 is not allowed" in usage_error([command, str(tmp_path / "bad.json"), *extra])


def test_an_unknown_resnet_n_name_explains_the_depth_rule() -> None:
    with pytest.raises(scalenet.ConfigError) as err:
        scalenet.create("resnet21_cifar")
    output = usage_error(["summary", "resnet21_cifar"])
    assert f"Error: {err.value}\n" in output
    assert 'nearest: scalenet.resnet(depth=20, stem="cifar") or' in output


# --- --depth: ResNet-N from a target -------------------------------------------------------


def summary_json(*args: str) -> dict[str, Any]:
    result = invoke(["summary", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_depth_gives_resnet_n() -> None:
    r56 = summary_json("resnet20_cifar", "--depth", "56")
    assert r56["params"] == 853_018  # ResNet-56 in the ResNet paper (0.85M)
    assert r56["name"] == "resnet20_cifar --depth 56"
    assert {k: v for k, v in r56.items() if k != "name"} == {
        k: v for k, v in summary_json("resnet56_cifar").items() if k != "name"
    }
    with torch.device("meta"):  # torchvision's ResNet-50, no memory for the weights
        tv50 = sum(p.numel() for p in torchvision.models.resnet50().parameters())
    assert tv50 == 25_557_032
    assert summary_json("resnet18", "--depth", "50")["params"] == tv50
    check = invoke(["check", "resnet20_cifar", "--depth", "110", "--input-size", "32"])
    assert check.exit_code == 0, check.output
    assert check.stdout.startswith("resnet20_cifar --depth 110: input size 32 fits")
    scale = invoke(["scale", "resnet20_cifar", "--depth", "56", "--phi", "0"])
    assert scale.exit_code == 0, scale.output
    assert scale.stdout.splitlines()[1].split()[:4] == ["phi=0", "(9,", "9,", "9)"]


def test_depth_keeps_every_other_field(tmp_path: Path) -> None:
    config = scalenet.ResNetConfig(
        depths=(1, 1, 1),
        width=24,
        stem="cifar",
        block="bottleneck",
        shortcut=False,
        downsample="projection",
        num_classes=100,
        in_chans=1,
        input_size=40,
    )
    (tmp_path / "mine.json").write_text(json.dumps(config.to_dict()))
    data = summary_json(str(tmp_path / "mine.json"), "--depth", "56")  # 9n+2 with bottlenecks
    expected = scalenet.profile(config.replace(depths=(6, 6, 6)))
    assert (data["params"], data["macs"], data["input_size"]) == (
        expected.params,
        expected.macs,
        40,
    )
    output = usage_error(["summary", str(tmp_path / "mine.json"), "--depth", "50"])
    assert "9n+2 for a CIFAR ResNet with bottleneck blocks" in output
    assert "nearest valid depths: 47 or 56" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("summary resnet20_cifar --depth 21", "6n+2 for a CIFAR ResNet with basic blocks"),
        ("summary resnet20_cifar --depth 21", "nearest valid depths: 20 or 26"),
        ("check resnet20_cifar --depth 0 --input-size 32", "nearest valid depths: 8"),
        ("scale resnet20_cifar --depth 1000", "nearest valid depths: 998 or 1004"),
        ("summary resnet18 --depth 20", "nearest valid depths: 18 or 26"),
        ("check resnet50 --depth 51 --input-size 224", "nearest valid depths: 50 or 101"),
        ("summary simple_cnn_cifar --depth 20", "simple_cnn_cifar is not a ResNet"),
        ("check simple_cnn_cifar --depth 20 --input-size 32", "--depth is for ResNets"),
    ],
)
def test_a_depth_that_fits_no_rule_is_a_usage_error(args: str, message: str) -> None:
    output = usage_error(args.split())
    assert "Invalid value for '--depth'" in output
    assert message in output


# --- the ResNet variants: ResNeXt, wide, ResNet-D -------------------------------------------


def _reference_params(build: str) -> int:
    """Parameters of torchvision's ``tv:NAME`` or timm's ``timm:NAME``, built on meta."""
    library, name = build.split(":")
    with torch.device("meta"):
        tv = library == "tv"
        model = getattr(torchvision.models, name)() if tv else timm.create_model(name)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "reference", "cxd"),
    [
        ("resnext50_32x4d", "tv:resnext50_32x4d", ("32x4d", "32x5d")),  # 80 x 4 / 64 = 5
        ("wide_resnet50_2", "tv:wide_resnet50_2", ("1x128d", "1x160d")),  # 80 x 128 / 64
        ("resnet50d", "timm:resnet50d", None),
    ],
)
def test_summary_check_and_scale_work_on_every_variant(
    name: str, reference: str, cxd: tuple[str, str] | None
) -> None:
    assert summary_json(name)["params"] == _reference_params(reference)
    # 225 is odd: the stem's stride-2 conv (conv1, or conv1.0 of the deep stem) cannot take it.
    bad = invoke(["check", name, "--input-size", "225"])
    assert bad.exit_code == 1, bad.output
    assert "the nearest valid sizes are 224 or 256" in bad.stderr
    good = invoke(["check", name, "--input-size", "256"])
    assert good.exit_code == 0, good.output
    assert good.stdout.startswith(f"{name}: input size 256 fits (output stride 32;")
    scale = invoke(["scale", name, "--phi", "0", "--phi", "2"])
    assert scale.exit_code == 0, scale.output
    header, *rows = scale.stdout.splitlines()
    assert ("Cxd" in header.split()) == (cxd is not None)
    base = scalenet.get_config(name)
    for phi, row in zip((0, 2), rows, strict=True):
        cfg = scalenet.compound_scale(base, phi)
        p = scalenet.profile(cfg)
        depths = ("(3, 4, 6, 3)", "(5, 6, 9, 5)")[phi // 2]  # ceil((3, 4, 6, 3) x 1.2**2)
        width, size = ("64", "224") if phi == 0 else ("80", "288")  # 77.44 -> 80; 296 -> 288
        assert (row[:16].rstrip(), row[16:34].rstrip()) == (f"phi={phi}", depths)
        cells = f"{width} {cxd[phi // 2] if cxd else ''} {size} {human(p.params)} {human(p.macs)}"
        ratio = [] if phi == 0 else [f"{p.macs / scalenet.profile(base).macs:.2f}"]
        assert row[34:].split() == cells.split() + ratio


@pytest.mark.parametrize(
    ("name", "depth", "reference"),
    [
        ("resnext50_32x4d", "101", "timm:resnext101_32x4d"),
        ("wide_resnet50_2", "101", "tv:wide_resnet101_2"),
        ("resnet50d", "101", "timm:resnet101d"),
    ],
)
def test_depth_keeps_a_variants_grouping_and_stem(name: str, depth: str, reference: str) -> None:
    assert summary_json(name, "--depth", depth)["params"] == _reference_params(reference)


def test_depth_with_basic_blocks_is_a_usage_error_for_a_grouped_bottleneck() -> None:
    output = usage_error(["summary", "resnext50_32x4d", "--depth", "18"])
    assert "groups=32 is not allowed: 1 with block='basic'" in output

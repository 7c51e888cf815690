"""The real `scalenet` console script, run in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import scalenet
from scalenet.cli import main

SCRIPT = shutil.which("scalenet") or str(Path(sys.executable).with_name("scalenet"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120, check=False)


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
    assert [line.split()[0] for line in lines[1:]] == scalenet.list_models("resnet*_cifar")
    assert "269.72 K" in lines[1]
    assert "40.55 M" in lines[1]
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


def test_usage_error_from_the_script_exits_2() -> None:
    result = run("summary", "resnet18", "--format", "yaml")
    assert result.returncode == 2
    assert "Error" in result.stderr


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
    fitted = scalenet.fit_budget(scalenet.get_config("resnet18"), 4_000_000_000)
    assert lines[-1].startswith("<= 4.00 G")
    assert f"{fitted.depths}" in lines[-1]
    assert f" {fitted.width} " in lines[-1]
    assert CliRunner().invoke(main, ["scale", "simple_cnn_cifar"]).exit_code == 2


def test_docs_zoo_table_is_the_registry() -> None:
    page = (Path(__file__).parents[1] / "docs" / "zoo.md").read_text()
    table = page.split("<!-- zoo-table:start -->\n")[1].split("\n<!-- zoo-table:end -->")[0]
    assert table == scalenet.zoo.zoo_markdown()
    assert CliRunner().invoke(main, ["list", "--format", "markdown"]).output.strip() == table


def usage_error(args: list[str]) -> str:
    """Run ARGS in-process; assert a clean usage error (exit 2, no traceback); the output."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.output.startswith("Usage: "), result.output  # nothing printed before it
    return result.output


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
        ("scale resnet20_cifar --phi 50", "'--phi'", "phi=50 is too large: depths="),
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

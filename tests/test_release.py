"""Release bookkeeping: one version, and a changelog in Keep a Changelog form that names it."""

from __future__ import annotations

import datetime
import importlib.metadata
import re
from pathlib import Path

import scalenet

CHANGELOG = Path(__file__).resolve().parents[1] / "CHANGELOG.md"
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_installed_metadata_has_the_package_version() -> None:
    assert importlib.metadata.version("scalenet") == scalenet.__version__


def test_changelog_has_unreleased_and_an_entry_for_this_version() -> None:
    text = CHANGELOG.read_text()
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert releases[0] == ("Unreleased", "")
    versions = [v for v, _ in releases[1:]]
    for _, date in releases[1:]:
        datetime.date.fromisoformat(date)  # every release is dated
    if ".dev" not in scalenet.__version__:
        assert versions[0] == scalenet.__version__  # the newest entry is this version
    for version, _ in releases:
        assert re.search(rf"^\[{re.escape(version)}\]: https://", text, re.M), version
    assert set(re.findall(r"^### (.+)$", text, re.M)) <= SECTIONS


def test_torch_floor_excludes_the_unsafe_weights_only_loader() -> None:
    # CVE-2025-32434: torch.load(weights_only=True) could run code before torch 2.6.0.
    from packaging.requirements import Requirement

    requires = importlib.metadata.requires("scalenet") or []
    torch_req = next(Requirement(r) for r in requires if Requirement(r).name == "torch")
    assert not torch_req.specifier.contains("2.5.1")
    assert torch_req.specifier.contains("2.6.0")

"""The docs are tests: every Python block in README.md, docs/*.md and examples/README.md runs.

Sybil (https://sybil.readthedocs.io) collects the Markdown files that pyproject's
``testpaths`` name. Each ```` ```python ```` block runs the way a reader pastes it: alone, in a
fresh namespace and an empty working directory of its own. A block that starts with ``>>>``
is a doctest transcript, and its output is checked (ELLIPSIS, NORMALIZE_WHITESPACE).

Pages about the Hub (docs/hub.md, docs/timm.md) run against the session's local Hub server
(olah on 127.0.0.1, tests/hub_servers.py), which serves the repositories they name; docs/hub.md
pushes too, to a local Hub write API in front of it, and reads the URL weights it converts from
a local mirror (``docs_weights``). Every other page runs with ``HF_HUB_OFFLINE=1``. The only
exemption is a block that needs the real internet (pushing to huggingface.co), marked in the
Markdown source, where readers see it, with ``<!-- skip: next "needs the real internet: ..." -->``.

This file also holds the fixtures that the tests and the docs share: the session's Hub servers.
"""

from __future__ import annotations

import atexit
import doctest
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.sybil import SybilCollection

from hub_servers import (
    HubServer,
    PushServer,
    hf_hub_environment,
    publish_torchvision_resnet50,
)
from stand_in_weights import StandIn, publish_akamaster, serving

# tests/hub_servers.py's fixtures (hub_server, hf_env, push_server) for tests and docs alike:
# one olah, and one push endpoint, for the whole session.
pytest_plugins = ["hub_servers"]

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: The pages whose blocks read from the Hub, and the repositories they name.
HUB_PAGES = ["docs/hub.md", "docs/timm.md"]
DOCS_REPO = "my-org/resnet20-cifar10"
#: The published weights docs/hub.md converts (a URL file: served by a local mirror).
DOCS_WEIGHTS = "resnet20_cifar.akamaster_cifar10"

_workdirs: dict[int, Path] = {}  # id(document) -> the working directory of its current block


@functools.cache
def _scratch() -> Path:
    """One folder for the session's block folders, removed when the session ends."""
    base = Path(tempfile.mkdtemp(prefix="scalenet-docs-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    return base


class PastedBlockParser(PythonCodeBlockParser):
    """Python blocks, each run as if pasted alone into a new interpreter in an empty folder.

    Where a block starts, the namespace is emptied and a new working directory is made; the
    examples of a ``>>>`` transcript share both, as a session does.
    """

    def __call__(self, document: Document) -> Iterable[Region]:
        starts = sorted(block.start for block in self.codeblock_parser(document))
        for region in sorted(super().__call__(document), key=lambda r: r.start):
            first = bool(starts) and region.start >= starts[0]
            while starts and region.start >= starts[0]:
                starts.pop(0)
            region.evaluator = _pasted(region.evaluator, first)
            yield region


def _pasted(evaluator: Callable[[Example], Any], first: bool) -> Callable[[Example], Any]:
    def evaluate(example: Example) -> Any:
        key = id(example.document)
        if first:
            example.namespace.clear()
            example.namespace["__name__"] = "__main__"
            _workdirs[key] = Path(tempfile.mkdtemp(dir=_scratch()))
        previous = Path.cwd()
        os.chdir(_workdirs[key])
        try:
            return evaluator(example)
        finally:
            os.chdir(previous)

    return evaluate


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty Hugging Face home and no network."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def docs_repos(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The repositories the docs name, on the local Hub: timm's ResNet-50 ImageNet weights
    (torchvision's, as tests/hub/test_pretrained.py publishes them) and a saved ResNet-20."""
    import scalenet

    publish_torchvision_resnet50(hub_server, tmp_path_factory.mktemp("tv_in1k"))
    if not hub_server.mirrors.exists(DOCS_REPO):
        folder = tmp_path_factory.mktemp("resnet20")
        scalenet.create("resnet20_cifar").save_pretrained(folder)
        hub_server.create_repo(DOCS_REPO, {p.name: p.read_bytes() for p in folder.iterdir()})


@pytest.fixture
def online(hub_server: HubServer, docs_repos: None, tmp_path: Path) -> Iterator[None]:
    """huggingface_hub (and so scalenet and timm) reading from the local Hub."""
    with hf_hub_environment(hub_server.endpoint, tmp_path / "hf-home"):
        yield


@pytest.fixture(scope="session")
def docs_weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StandIn]:
    """A stand-in for DOCS_WEIGHTS' file: a seeded random resnet20 in the source's format.

    The machine running the docs has no internet, so the page's conversion reads this file
    from a local mirror, with the catalogue's hash replaced by the stand-in's for the block
    (tests/stand_in_weights.py). The page says, rightly, that the accuracy in the card is the
    source's: the card describes the source's weights, which the stand-in only takes the
    place of here.
    """
    root = tmp_path_factory.mktemp("weights-mirror")
    return root, publish_akamaster(root, DOCS_WEIGHTS, seed=0)


@pytest.fixture
def online_push(
    hub_server: HubServer,
    docs_repos: None,
    docs_weights: tuple[Path, StandIn],
    push_server: PushServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """As ``online``, with the local Hub write API as the endpoint (it reads like the Hub,
    forwarding to olah) and DOCS_WEIGHTS served by a local mirror."""
    root, stand_in = docs_weights
    with (
        hf_hub_environment(push_server.endpoint, tmp_path / "hf-home"),
        serving(root, [stand_in], monkeypatch),
    ):
        yield


def _sybil(fixture: str, **paths: Any) -> Sybil:
    return Sybil(
        parsers=[PastedBlockParser(doctest_optionflags=OPTIONFLAGS), SkipParser()],
        fixtures=[fixture],
        **paths,
    )


pytest_collect_file = SybilCollection(
    [
        _sybil("offline", patterns=["*.md"], excludes=HUB_PAGES),
        _sybil("online_push", patterns=["docs/hub.md"]),
        _sybil("online", patterns=[p for p in HUB_PAGES if p != "docs/hub.md"]),
    ]
).pytest()

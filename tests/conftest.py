from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch
from hypothesis import settings

# The session's local Hub servers (olah on 127.0.0.1, and a push endpoint in front of it) are
# fixtures of the repository's root conftest.py, which the docs' tests share.


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# CI runs the property tests derandomised, so a run is repeatable; locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread for the test (modules opt in with ``pytestmark =
    pytest.mark.usefixtures("one_thread")``): one summation order everywhere, and no time lost
    to thread contention on a busy machine (on two busy cores, two threads made
    resnet1202_cifar's forward 10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

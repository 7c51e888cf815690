from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch
from hypothesis import settings

# The session's local Hub servers (olah on 127.0.0.1, and a push endpoint in front of it) are
# fixtures of the repository's root conftest.py, which the docs' tests share.


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n``), each worker takes its share of the cores for torch's
    intra-op threads: two workers of two threads each on two cores would fight over them."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


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

from __future__ import annotations

import os

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

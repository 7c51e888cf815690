from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

# Local Hub servers (olah on 127.0.0.1, and a push endpoint in front of it), one per session.
from hub_servers import hf_env, hub_server, push_server  # noqa: F401


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# CI runs the property tests derandomised, so a run is repeatable; locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

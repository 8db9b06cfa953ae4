"""Fixtures shared by every test folder."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """One embedded local Ray (2 CPUs, no dashboard) for the whole session; code under test that
    calls ``ray.init`` guards with ``ray.is_initialized()`` and reuses it."""
    import ray

    os.environ.pop("RAY_ADDRESS", None)  # never join a cluster someone else started
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()

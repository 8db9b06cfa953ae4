"""Fixtures and marker rules shared by every test folder (docs/testing.md#markers)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

#: Fixtures that start or join a Ray instance: the session's embedded Ray, and the `ray start --head`
#: cluster of tests/runner/test_cluster.py. Tests that use Ray without them (a child
#: ``python -m paysim_runner`` on the Ray executor) carry ``pytest.mark.ray`` themselves.
RAY_FIXTURES = frozenset({"ray_session", "ray_head"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a Ray fixture, directly or through another fixture, gets the ``ray``
    marker, so ``-m "not ray"`` (``make test-fast``) leaves out exactly the tests that need Ray."""
    for item in items:
        if RAY_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.ray)


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

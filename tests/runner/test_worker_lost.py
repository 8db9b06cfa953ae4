"""The Ray executor under faults and load: a batch whose worker dies more often than its retries
allow stops the sweep with one line (issue 12), not Ray's multi-line traceback; and the tasks in
flight stay bounded."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from paysim_runner.ray_backend import MAX_RETRIES, RayBackend, WorkerLost, _result
from paysim_runner.run import BatchContext
from paysim_runner.sweep.plan import build_plan
from tests.helpers.runner import small_sweep


def test_a_task_whose_worker_died_is_one_line_naming_its_batch(ray_session: Any) -> None:
    import ray

    @ray.remote(num_cpus=1, max_retries=0)
    def dies() -> None:
        os._exit(1)  # the worker process ends, as it does when killed or out of memory

    with pytest.raises(WorkerLost) as caught:
        _result(dies.remote(), 7)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"batch 7: its worker died {MAX_RETRIES + 1} times (WorkerCrashedError")


def test_at_most_twice_the_cpus_of_batches_are_in_flight(ray_session: Any, tmp_path: Path) -> None:
    """Results are fetched and handed over as they finish, never all submitted at once: a slow writer
    keeps the object store and the driver bounded (issue 12)."""
    plan = build_plan(small_sweep(tmp_path, "seeds=8", "batch_size=1"))  # 2 cells x 8 seeds: 16 batches
    backend = RayBackend(None, 2)  # reuses the session's Ray of 2 CPUs
    seen, in_flight = [], []
    for result in backend.run_batches(BatchContext.from_plan(plan), plan.batches()):
        seen.append(result.summary["batch"])
        in_flight.append(backend.in_flight)
        time.sleep(0.2)  # a slow writer: the finished tasks wait, the unstarted ones are not submitted
    assert sorted(seen) == list(range(16))
    assert backend.max_in_flight() == 4
    assert max(in_flight) <= 4, in_flight
    assert in_flight[-1] == 1

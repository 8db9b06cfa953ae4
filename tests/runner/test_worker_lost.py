"""A batch whose worker dies more often than its retries allow stops the sweep with one line
(issue 12), not Ray's multi-line traceback."""

from __future__ import annotations

import os
from typing import Any

import pytest

from paysim_runner.ray_backend import MAX_RETRIES, WorkerLost, _result


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

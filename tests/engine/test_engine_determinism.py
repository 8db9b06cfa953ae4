"""Determinism (docs/semantics.md#random-numbers): the same config and seed give the same results, logs and
bytes, also in another process; another seed gives other results. From the design notes' FFI suite."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO
from tests.helpers.design_notes import seeded_config
from tests.helpers.engine import Orchestrator, bank, build, comparable_metrics, logs_equal, run_ticks, scenario


def test_same_seed_same_results() -> None:
    orch1, orch2 = Orchestrator.new(seeded_config()), Orchestrator.new(seeded_config())
    assert run_ticks(orch1, 50) == run_ticks(orch2, 50)
    assert logs_equal(orch1.transaction_log(), orch2.transaction_log())
    assert logs_equal(orch1.tick_log(), orch2.tick_log())


def test_same_seed_same_logs_for_a_full_t2_run() -> None:
    agents = [
        bank(f"B{i}", 5_000, 2_000, arrivals={
            "rate_per_tick": 0.8, "distribution": {"type": "LogNormal", "mean_log": 7.0, "std_dev_log": 1.0},
            "deadline_offset": 10, "divisible": True})
        for i in range(5)
    ]
    agents[2]["policy"] = {"type": "Splitting", "max_parts": 3, "min_part": 100}
    cfg = scenario(agents, ticks=50, days=2, lsm="t2")
    runs = []
    for _ in range(2):
        orch = build(cfg)
        orch.run()
        runs.append(orch)
    assert logs_equal(runs[0].transaction_log(), runs[1].transaction_log())
    assert logs_equal(runs[0].tick_log(), runs[1].tick_log())
    assert comparable_metrics(runs[0]) == comparable_metrics(runs[1])


def test_different_seed_different_results() -> None:
    orch1, orch2 = Orchestrator.new(seeded_config(12345)), Orchestrator.new(seeded_config(54321))
    assert run_ticks(orch1, 50) != run_ticks(orch2, 50)
    assert not logs_equal(orch1.transaction_log(), orch2.transaction_log())


LOG_DIGEST = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
from tests.helpers.design_notes import seeded_config
from paysim_runner._core import Orchestrator
orch = Orchestrator.new(seeded_config())
orch.run()
digest = hashlib.sha256()
for log in (orch.transaction_log(), orch.tick_log()):
    for name in sorted(log):
        digest.update(name.encode() + log[name].dtype.str.encode() + log[name].tobytes())
print(digest.hexdigest())
"""


def test_same_seed_same_log_bytes_in_another_process() -> None:
    """Nothing per-process (hash seeds, addresses, thread timing) may leak into the results."""
    digests = {
        subprocess.run([sys.executable, "-c", LOG_DIGEST, str(REPO)], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(digests) == 1
    assert len(digests.pop().strip()) == 64



"""run() (docs/semantics.md#python-api-of-the-extension): all remaining ticks inside Rust with the GIL released,
Ctrl-C honoured."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

from tests.helpers import REPO
from tests.helpers.engine import bank, build, scenario
from tests.helpers.invariants import assert_invariants


def long_config(days: int) -> dict[str, Any]:
    """bench_10-like: ten banks, 100 ticks a day, Poisson 0.5 per bank per tick, t2 LSM."""
    agents = [
        bank(f"B{i}", 200_000, 50_000, arrivals={
            "rate_per_tick": 0.5, "distribution": {"type": "LogNormal", "mean_log": 9.0, "std_dev_log": 1.0}})
        for i in range(10)
    ]
    return scenario(agents, ticks=100, days=days, lsm="t2")


def test_run_releases_the_gil() -> None:
    """While run() works in a thread, the main thread keeps running Python with no long stalls."""
    orch = build(long_config(days=400))
    worker = threading.Thread(target=orch.run)
    gaps = []
    started = time.perf_counter()
    worker.start()
    last = time.perf_counter()
    while worker.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    worker.join()
    elapsed = time.perf_counter() - started
    assert orch.is_finished()
    assert elapsed > 0.1, "the run must last long enough for the check to mean something"
    assert len(gaps) > 20, "the main thread must have run all along"
    assert max(gaps) < 0.25, f"main thread stalled {max(gaps):.3f}s of {elapsed:.3f}s"


CTRL_C = textwrap.dedent(
    """
    import os, signal, sys, threading
    sys.path.insert(0, sys.argv[1])
    from tests.engine.test_engine_run import long_config
    from tests.helpers.engine import build
    from tests.helpers.invariants import assert_invariants
    cfg = long_config(days=5000)
    orch = build(cfg)
    threading.Timer(0.4, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    try:
        orch.run()
        print("finished")
    except KeyboardInterrupt:
        stopped = orch.current_tick()
        assert 0 < stopped < orch.total_ticks(), stopped
        assert_invariants(orch, cfg)
        for _ in range(10):
            orch.tick()  # the engine is consistent and carries on
        assert orch.current_tick() == stopped + 10
        assert_invariants(orch, cfg)
        print("interrupted", stopped)
    """
)


def test_ctrl_c_interrupts_run_between_ticks() -> None:
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CTRL_C, str(REPO)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.startswith("interrupted"), child.stdout
    assert time.perf_counter() - started < 30, "Ctrl-C must stop the run promptly"


def test_run_after_ticks_finishes_the_rest() -> None:
    cfg = long_config(days=2)
    orch = build(cfg)
    for _ in range(37):
        orch.tick()
    orch.run()
    assert orch.current_tick() == orch.total_ticks() == 200
    assert_invariants(orch, cfg)

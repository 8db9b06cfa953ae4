"""tick_n(n) (docs/semantics.md#python-api-of-the-extension): n ticks in one call with the GIL
released, leaving the engine exactly as n tick() calls would and returning the last tick's dict."""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paysim_runner import _core
from paysim_runner.config import load_config
from tests.helpers import REPO
from tests.helpers.engine import comparable_metrics, logs_equal

#: Shipped scenarios: bench_10 (its budgets are tick() and tick_n() throughput) and the gridlocked
#: ring, whose payments wait in Queue 2 and settle through the LSM.
SCENARIOS = ("bench_10", "gridlock_ring")


def scenario(name: str, **engine: Any) -> dict[str, Any]:
    """The engine dict of conf/scenario/<name>.yaml, with `engine` keys overridden."""
    return {**load_config(REPO / "conf" / "scenario" / f"{name}.yaml").to_rust_dict(), **engine}


def footprint(orch: _core.Orchestrator) -> tuple[bytes, dict[str, Any]]:
    """What a run leaves: its state bytes and its metrics (without the wall-clock figure)."""
    return orch.save_state(), comparable_metrics(orch)


@cache
def tick_by_tick(name: str) -> tuple[list[dict[str, int | float]], _core.Orchestrator]:
    """The reference: the whole run as a loop of tick() calls, every dict kept."""
    orch = _core.Orchestrator.new(scenario(name))
    results = [orch.tick() for _ in range(orch.total_ticks())]
    return results, orch


def assert_same_run(orch: _core.Orchestrator, reference: _core.Orchestrator) -> None:
    assert footprint(orch) == footprint(reference)
    for log in ("tick_log", "transaction_log", "event_log"):
        assert logs_equal(getattr(orch, log)(), getattr(reference, log)()), log


@pytest.mark.parametrize("name", SCENARIOS)
def test_one_call_for_the_whole_run_is_a_tick_loop(name: str) -> None:
    results, reference = tick_by_tick(name)
    orch = _core.Orchestrator.new(scenario(name))
    last = orch.tick_n(orch.total_ticks())
    assert last == results[-1]
    assert list(last) == [field for field, _ in _core.SCHEMAS["tick_result"]], "tick()'s keys, in its order"
    assert orch.is_finished()
    assert_same_run(orch, reference)
    transactions = orch.transaction_log()
    assert transactions["tx_id"].size > 0
    assert all(np.asarray(transactions[k]).tobytes() == np.asarray(reference.transaction_log()[k]).tobytes()
               for k in transactions)


@pytest.mark.parametrize("name", SCENARIOS)
@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 60), min_size=1, max_size=10))
def test_any_split_of_the_run_into_tick_n_calls_is_a_tick_loop(name: str, sizes: list[int]) -> None:
    results, reference = tick_by_tick(name)
    orch = _core.Orchestrator.new(scenario(name))
    for n in sizes:
        if orch.is_finished():
            break
        before = orch.current_tick()
        last = orch.tick_n(n)
        ran = orch.current_tick() - before
        assert ran == min(n, len(results) - before)
        assert last == (results[before + ran - 1] if ran else None)
    if not orch.is_finished():
        assert orch.tick_n(len(results)) == results[-1], "the rest of the run, stopping at its end"
    assert_same_run(orch, reference)


def test_past_the_end_it_raises_as_tick_does() -> None:
    orch = _core.Orchestrator.new(scenario("gridlock_ring"))
    assert orch.tick_n(0) is None
    assert orch.current_tick() == 0
    last = orch.tick_n(10_000)
    assert last is not None
    assert last["tick"] == orch.total_ticks() - 1 == 49
    with pytest.raises(_core.RunFinished) as by_tick_n:
        orch.tick_n(1)
    with pytest.raises(_core.RunFinished) as by_tick:
        orch.tick()
    assert str(by_tick_n.value) == str(by_tick.value) == "the run is finished: all 50 ticks have run"
    assert orch.tick_n(0) is None, "no tick asked, none missing"


def test_an_error_stops_it_at_the_failing_tick_raised_as_tick_raises_it() -> None:
    """A queue summing past 64 bits arrives at tick 2: that tick fails with a located ConfigError."""
    payments = [{"sender": "A", "receiver": "BC"[i % 2], "amount": 10**15, "arrival_tick": 2} for i in range(9_224)]
    cfg = {"ticks_per_day": 10, "rng_seed": 1, "lsm": {"mode": "multilateral"}, "scheduled_payments": payments,
           "agent_configs": [{"id": b, "opening_balance": 0, "policy": {"type": "Fifo"}} for b in ("A", "B", "C")]}
    by_tick = _core.Orchestrator.new(cfg)
    by_tick.tick()
    by_tick.tick()
    with pytest.raises(_core.ConfigError) as expected:
        by_tick.tick()
    orch = _core.Orchestrator.new(cfg)
    with pytest.raises(_core.ConfigError) as got:
        orch.tick_n(10)
    assert (got.value.loc, got.value.problem) == (expected.value.loc, expected.value.problem)
    assert got.value.loc == ("agent_configs", 0)
    assert got.value.problem.startswith("tick 2: bank 'A' queue2_value")
    assert orch.current_tick() == by_tick.current_tick() == 2
    assert logs_equal(orch.tick_log(), by_tick.tick_log())
    with pytest.raises(_core.ConfigError):
        orch.tick_n(1)  # stopped for good, as tick() is


def test_it_releases_the_gil() -> None:
    """A Python thread keeps counting in the middle of one long tick_n call: the call cannot hold
    the GIL. (Before and after the call a switch interval of 5 ms could let it run anyway, so only
    the middle fifth of the call counts.)"""
    orch = _core.Orchestrator.new(scenario("bench_10", num_days=500))
    stamps: list[float] = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            stamps.append(time.perf_counter())

    counter = threading.Thread(target=count)
    counter.start()
    try:
        started = time.perf_counter()
        last = orch.tick_n(orch.total_ticks())
        ended = time.perf_counter()
    finally:
        stop.set()
        counter.join()
    assert last is not None
    assert orch.is_finished()
    took = ended - started
    assert took > 0.05, "the call must last long enough for the check to mean something"
    middle = [s for s in stamps if started + 0.4 * took < s < started + 0.6 * took]
    assert len(middle) > 10, f"{len(middle)} counts in the middle of a {took:.3f} s call"


@pytest.mark.parametrize("bad", [-1, 1.0, 2.5, True, False, "3", None, 2**64])
def test_a_bad_n_is_a_config_error_naming_n(bad: Any) -> None:
    orch = _core.Orchestrator.new(scenario("gridlock_ring"))
    with pytest.raises(_core.ConfigError) as info:
        orch.tick_n(bad)
    assert info.value.loc == ("n",)
    assert str(info.value) == f"n: expected a non-negative integer below 2**64, got {bad!r}"
    assert orch.current_tick() == 0


def test_an_int_like_n_is_accepted() -> None:
    orch = _core.Orchestrator.new(scenario("gridlock_ring"))
    last = orch.tick_n(np.int64(7))
    assert last is not None
    assert last["tick"] == 6
    assert orch.current_tick() == 7
    assert orch.tick_n(n=2**64 - 1) is not None
    assert orch.is_finished()

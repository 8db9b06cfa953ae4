"""Run-level metrics (docs/semantics.md#metrics) and the per-tick log, on streams small enough to compute by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.engine import bank, build, pay, row_of, scenario
from tests.helpers.invariants import assert_invariants

# One payment per tick, so "if every payment settled on arrival" has a single meaning.
STREAM = [
    pay("A", "B", 100, 0), pay("C", "A", 5, 1), pay("B", "A", 30, 2),
    pay("A", "B", 50, 3), pay("B", "A", 200, 4), pay("B", "C", 10, 5),
]
# Cumulative net debit if all settle on arrival:
#   A: 100, 95, 65, 115, -85, -85  -> peak 115, day net -85 -> lower 0
#   B: -100, -100, -70, -120, 80, 90 -> peak 90, day net 90 -> lower 90
#   C: 0, 5, 5, 5, 5, -5          -> peak 5,  day net -5 -> lower 0
LOWER, UPPER = 90, 115 + 90 + 5


def stream_run(a_credit: int = 1000, lsm: str = "none", **top: Any) -> Any:
    cfg = scenario([bank("A", 0, credit=a_credit), bank("B", 1000), bank("C", 1000)], STREAM, ticks=8, lsm=lsm, **top)
    orch = build(cfg)
    orch.run()
    assert_invariants(orch, cfg)
    return orch


def test_liquidity_bounds_of_a_hand_computed_stream() -> None:
    m = stream_run().metrics()
    assert (m["liquidity_lower_bound"], m["liquidity_upper_bound"]) == (LOWER, UPPER)


def test_liquidity_used_equals_the_upper_bound_when_all_settle_on_arrival() -> None:
    """A uses 115 of credit; B's lowest is 910 (90 below opening); C's lowest 995 (5 below)."""
    m = stream_run().metrics()
    assert m["n_settled_rtgs"] == 6
    assert m["settlement_rate"] == 1.0
    assert m["liquidity_used"] == UPPER
    assert m["peak_credit_used"] == 115
    assert (m["mean_delay_ticks"], m["delay_indicator"]) == (0.0, 0.0)


@pytest.mark.parametrize("change", [{"a_credit": 0}, {"lsm": "t2"}, {"rtgs": {"queue": "strict_fifo"}}])
def test_liquidity_bounds_depend_on_the_stream_only(change: dict[str, Any]) -> None:
    m = stream_run(**change).metrics()
    assert (m["liquidity_lower_bound"], m["liquidity_upper_bound"]) == (LOWER, UPPER)


def delay_case() -> Any:
    """One 10-tick day (close at 9). A has nothing.
    A->B 200 arrives at 2 and waits until C pays A 200 at 6: delay 4 of a possible 7.
    C->A 200 settles on arrival at 6: delay 0 of 3. A->B 50 arrives at 7 and never settles: 2 of 2."""
    cfg = scenario(
        [bank("A", 0), bank("B", 0), bank("C", 200)],
        [pay("A", "B", 200, 2), pay("C", "A", 200, 6), pay("A", "B", 50, 7)],
        ticks=10,
    )
    orch = build(cfg)
    orch.run()
    assert_invariants(orch, cfg)
    return orch


def test_delay_indicator_of_a_hand_computed_case() -> None:
    m = delay_case().metrics()
    # (200*4 + 200*0 + 50*2) / (200*7 + 200*3 + 50*2) = 900 / 2100
    assert m["delay_indicator"] == pytest.approx(900 / 2100)
    # settled delays 4 and 0; the unsettled one, at its maximum 2, does not move the mean either way
    assert m["mean_delay_ticks"] == pytest.approx(2.0)
    assert (m["n_settled"], m["n_settled_queue"], m["value_settled_queue"], m["n_dropped"]) == (2, 1, 200, 1)
    assert m["value_settlement_rate"] == pytest.approx(400 / 450)


def test_tick_log_rows_of_a_hand_computed_case() -> None:
    """Tick 0: A queues 100 and 30. Tick 1: D pays A 50 gross, A's 30 passes its 100 in Queue 2."""
    cfg = scenario(
        [bank("A", 0), bank("B", 0), bank("C", 0), bank("D", 50)],
        [pay("A", "B", 100, 0), pay("A", "C", 30, 0), pay("D", "A", 50, 1)],
        ticks=3,
    )
    orch = build(cfg)
    orch.run()
    a0, a1, d1, c1 = row_of(orch, 0, "A"), row_of(orch, 1, "A"), row_of(orch, 1, "D"), row_of(orch, 1, "C")
    assert (a0["queue2_count"], a0["queue2_value"], a0["queue1_count"], a0["balance"]) == (2, 130, 0, 0)
    assert (a1["queue2_count"], a1["queue2_value"], a1["balance"]) == (1, 100, 20)
    assert (a1["value_sent"], a1["value_received"], a1["settled_queue"], a1["settled_rtgs"]) == (30, 50, 1, 0)
    assert (d1["value_sent"], d1["settled_rtgs"], d1["balance"], d1["credit_used"]) == (50, 1, 0, 0)
    assert (c1["value_received"], c1["balance"]) == (30, 30)
    assert_invariants(orch, cfg)


def test_gridlock_ticks_count_ticks_with_a_queue_and_no_settlement() -> None:
    """A and B owe each other 100 with nothing, no LSM: Queue 2 stuck for all 4 ticks of the day."""
    cfg = scenario([bank("A", 0), bank("B", 0)], [pay("A", "B", 100, 0, deadline=9), pay("B", "A", 101, 0, deadline=9)],
                   ticks=4, end_of_day={"unsettled": "carry"})
    orch = build(cfg)
    orch.run()
    assert orch.metrics()["gridlock_ticks"] == 4


def test_metrics_are_consistent_mid_run() -> None:
    cfg = scenario(
        [bank(f"B{i}", 3000, 500, arrivals={"rate_per_tick": 0.6,
                                              "distribution": {"type": "Exponential", "mean": 900}})
         for i in range(4)],
        ticks=40, lsm="t2",
    )
    orch = build(cfg)
    for _ in range(17):
        orch.tick()
    assert_invariants(orch, cfg)
    m = orch.metrics()
    assert m["ticks_run"] == 17
    assert m["n_unsettled"] == orch.get_queue2_size() + sum(
        orch.get_queue1_size(b) for b in orch.get_agent_ids())
    orch.run()
    assert_invariants(orch, cfg)
    m = orch.metrics()
    assert m["ticks_run"] == 40
    assert isinstance(m["engine_seconds"], float)
    assert m["engine_seconds"] > 0

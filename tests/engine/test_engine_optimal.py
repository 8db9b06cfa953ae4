"""``lsm.mode: optimal`` and ``lsm.measure_optimum`` through the extension
(docs/semantics.md#the-optimal-lsm): the 3-ring behind a stuck payment settles, the solver's counts
and the share of the optimum reach ``metrics()``, the scenario schema accepts the new keys, and a bad
solver budget is a ConfigError located at its field."""

from __future__ import annotations

from typing import Any

import pytest

from paysim_runner import _core
from paysim_runner.scenario import SimulationConfig
from tests.helpers.engine import bank, build, by_amount, pay, transactions


def ring_behind_stuck(lsm: dict[str, Any]) -> dict[str, Any]:
    """A's uncovered 500 to E queued before the feasible ring A→B 100, B→C 101, C→A 102."""
    return {
        "ticks_per_day": 2,
        "rng_seed": 1,
        "agent_configs": [bank("A", 0), bank("B", 1), bank("C", 2), bank("E", 0)],
        "scheduled_payments": [pay("A", "E", 500), pay("A", "B", 100), pay("B", "C", 101), pay("C", "A", 102)],
        "lsm": lsm,
    }


def test_optimal_settles_the_ring_and_counts_its_solves() -> None:
    orch = build(ring_behind_stuck({"mode": "optimal", "measure_optimum": True}))
    orch.tick()
    rows = by_amount(transactions(orch))
    assert [rows[a]["status"] for a in (100, 101, 102)] == ["settled"] * 3
    assert rows[500]["status"] == "queue2"
    metrics = orch.metrics()
    assert metrics["lsm_optimal_solved"] == 1
    assert metrics["lsm_optimum_share"] == 1.0


def test_t2_classic_reaches_none_of_the_optimum_here() -> None:
    orch = build(ring_behind_stuck({"mode": "t2_classic", "measure_optimum": True}))
    orch.run()
    assert orch.metrics()["lsm_optimum_share"] == 0.0


def test_the_new_t2_reaches_all_of_the_optimum_here() -> None:
    """Its cycle search finds the ring algorithm 2 took apart (docs/semantics.md#the-t2-mode)."""
    orch = build(ring_behind_stuck({"mode": "t2", "measure_optimum": True}))
    orch.run()
    assert orch.metrics()["lsm_optimum_share"] == 1.0


def test_the_share_is_none_unless_measured() -> None:
    orch = build(ring_behind_stuck({"mode": "t2"}))
    orch.run()
    assert orch.metrics()["lsm_optimum_share"] is None


def test_a_bad_time_limit_names_its_field() -> None:
    with pytest.raises(_core.ConfigError) as caught:
        build(ring_behind_stuck({"mode": "optimal", "optimal": {"time_limit_ms": 0}}))
    assert caught.value.loc == ("lsm", "optimal", "time_limit_ms")


def test_the_scenario_schema_passes_the_solver_budget_to_the_engine() -> None:
    scenario = SimulationConfig.model_validate({
        "simulation": {"ticks_per_day": 2, "seed": 1},
        "agents": [{"id": "A", "balance": 0, "policy": {"type": "Fifo"}},
                   {"id": "B", "balance": 0, "policy": {"type": "Fifo"}}],
        "lsm": {"mode": "optimal", "optimal": {"time_limit_ms": 250}, "measure_optimum": True},
    })
    assert scenario.to_rust_dict()["lsm"] == {
        "mode": "optimal", "optimal": {"time_limit_ms": 250}, "measure_optimum": True,
    }

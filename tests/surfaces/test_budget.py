"""The manager's steps against the real engine: chunked steps sum exactly as one, pages are slices of
the whole log, budgets read from the environment (docs/api-cli.md#concurrency-and-bounds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from paysim_runner import budget
from paysim_runner._core import Orchestrator
from paysim_runner.budget import Budgets, MemoryBudgetExceeded, parse_bytes
from paysim_runner.config import SimulationConfig
from paysim_runner.manager import SimulationManager, _decode_rows, run_ticks

Scenario = Callable[..., dict[str, Any]]


@pytest.fixture
def config(two_banks: Scenario) -> SimulationConfig:
    scenario = two_banks(ticks_per_day=50, num_days=4, balance=5_000, arrivals=True)
    scenario["costs"] = {"deadline_penalty": 1234.567}  # not a whole number: float sums are exercised
    return SimulationConfig.model_validate(scenario)


@pytest.mark.parametrize("chunk_seconds", [0.0, 1e9], ids=["one-tick-chunks", "growing-chunks"])
def test_a_step_reports_exactly_what_single_ticks_do_however_it_is_chunked(
    config: SimulationConfig, chunk_seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Float costs included, bit for bit: chunks continue one another's sums in tick order."""
    monkeypatch.setattr(budget, "CHUNK_SECONDS", chunk_seconds)
    manager = SimulationManager()
    sim_id = manager.create(config)
    reference = Orchestrator.new(config.to_rust_dict())
    for n in (1, 37, 162):
        got, expected = manager.tick(sim_id, n), run_ticks(reference, n)
        assert {key: got[key] for key in expected} == expected
        assert (got["truncated"], got["stop_reason"], got["ticks_requested"]) == (False, None, n)
    assert expected["total_cost"] % 1 != 0


def test_a_page_is_the_slice_of_the_whole_log(config: SimulationConfig) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config)
    manager.tick(sim_id, 120)
    engine = Orchestrator.new(config.to_rust_dict())
    engine.tick_n(120)
    log = engine.transaction_log()
    total = len(log["tx_id"])
    assert total > 40
    for offset, limit in [(0, 1), (7, 13), (total - 5, 100), (total, 10), (total + 10**12, 1000)]:
        page = manager.transactions(sim_id, offset, limit)
        rows = {name: column[offset : offset + limit] for name, column in log.items()}
        whole = _decode_rows(rows, ("BANK_A", "BANK_B"))
        assert (page["total"], page["items"]) == (total, whole), (offset, limit)


def test_the_budget_counts_the_logs_bytes(config: SimulationConfig) -> None:
    manager = SimulationManager(budgets=Budgets(max_simulation_memory=2_000))
    sim_id = manager.create(config)
    step = manager.tick(sim_id, 200)
    assert step["stop_reason"] == "memory_budget"
    used = manager.memory_used()
    assert used >= 2_000
    assert used == sum(manager._get(sim_id).engine.log_bytes().values())
    with pytest.raises(MemoryBudgetExceeded, match=r"memory budget of 1.953 KiB \(PAYSIM_MAX_SIMULATION_MEMORY\)"):
        manager.tick(sim_id)


def test_budgets_from_the_environment() -> None:
    assert Budgets.from_env({}) == Budgets()
    env = {"PAYSIM_MAX_SIMULATION_MEMORY": "512M", "PAYSIM_MAX_MEMORY": "1.5G", "PAYSIM_TICK_TIME_BUDGET": "2.5"}
    assert Budgets.from_env(env) == Budgets(512 << 20, 3 << 29, 2.5)
    assert parse_bytes("4096", "X") == parse_bytes("4k", "X") == parse_bytes("4KiB", "X") == 4096
    with pytest.raises(ValueError, match="PAYSIM_MAX_MEMORY: expected bytes"):
        Budgets.from_env({"PAYSIM_MAX_MEMORY": "lots"})
    with pytest.raises(ValueError, match="tick_time_budget: must be positive"):
        Budgets.from_env({"PAYSIM_TICK_TIME_BUDGET": "0"})

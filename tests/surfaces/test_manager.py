"""SimulationManager against the real engine: independence, the per-simulation lock, the bounds."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paysim_runner.config import SimulationConfig
from paysim_runner.manager import (
    FLOW_KEYS,
    InvalidPayment,
    InvalidScenario,
    RequestTooLarge,
    RunFinished,
    SimulationLimitReached,
    SimulationManager,
    SimulationNotFound,
)

Scenario = Callable[..., dict[str, Any]]


@pytest.fixture
def config(two_banks: Scenario) -> Callable[..., SimulationConfig]:
    return lambda **kw: SimulationConfig.model_validate(two_banks(**kw))


def test_tick_counters_and_state(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config(arrivals=True))
    first = manager.tick(sim_id)
    assert (first["tick"], first["first_tick"], first["current_tick"], first["ticks_run"]) == (0, 0, 1, 1)
    ten = manager.tick(sim_id, 10)
    assert (ten["tick"], ten["first_tick"], ten["current_tick"], ten["ticks_run"]) == (10, 1, 11, 10)
    state = manager.get_state(sim_id)
    assert state["tick"] == 11
    assert state["day"] == 0
    assert not state["is_finished"]
    assert [a["id"] for a in state["agents"]] == ["BANK_A", "BANK_B"]
    assert sum(a["balance"] for a in state["agents"]) == 2_000_000  # money is conserved


def test_multi_tick_flows_are_sums_of_single_ticks(config: Callable[..., SimulationConfig]) -> None:
    """tick(n) reports flows summed over n ticks and positions after the last, exactly as n tick(1)s."""
    manager = SimulationManager()
    whole, steps = manager.create(config(arrivals=True)), manager.create(config(arrivals=True))
    at_once = manager.tick(whole, 25)
    singles = [manager.tick(steps, 1) for _ in range(25)]
    assert at_once["num_arrivals"] > 0
    for key in FLOW_KEYS:
        assert at_once[key] == pytest.approx(sum(s[key] for s in singles)), key
    for key in ("tick", "day", "queue1_size", "queue2_size", "queue1_value", "queue2_value"):
        assert at_once[key] == singles[-1][key], key
    assert manager.get_state(whole)["agents"] == manager.get_state(steps)["agents"]


def test_simulations_are_independent(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    one, two = manager.create(config()), manager.create(config())
    manager.tick(one, 2)
    manager.tick(two, 1)
    assert manager.get_state(one)["tick"] == 2
    assert manager.get_state(two)["tick"] == 1
    manager.submit_transaction(one, {"sender": "BANK_A", "receiver": "BANK_B", "amount": 400_000})
    manager.tick(one)
    balances = {a["id"]: a["balance"] for a in manager.get_state(one)["agents"]}
    untouched = {a["id"]: a["balance"] for a in manager.get_state(two)["agents"]}
    assert balances == {"BANK_A": 600_000, "BANK_B": 1_400_000}
    assert untouched == {"BANK_A": 1_000_000, "BANK_B": 1_000_000}
    assert [s["simulation_id"] for s in manager.list()] == [one, two]


def test_concurrent_ticks_are_serialized(config: Callable[..., SimulationConfig]) -> None:
    """Threads ticking one simulation never overlap: their tick ranges tile [0, total) exactly."""
    manager = SimulationManager()
    sim_id = manager.create(config(ticks_per_day=1_000, arrivals=True))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: manager.tick(sim_id, 7), range(40)))
    assert manager.get_state(sim_id)["tick"] == 280
    ranges = sorted((r["first_tick"], r["current_tick"]) for r in results)
    assert ranges == [(7 * i, 7 * i + 7) for i in range(40)]


def test_listing_does_not_wait_for_a_running_tick(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config())
    sim_lock = manager._get(sim_id).lock
    with sim_lock:  # as if a long tick were running on it
        listed: list[list[dict[str, Any]]] = []
        reader = threading.Thread(target=lambda: listed.append(manager.list()))
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "list() blocked on a simulation's lock"
        ticker = threading.Thread(target=manager.tick, args=(sim_id,))
        ticker.start()
        ticker.join(timeout=0.2)
        assert ticker.is_alive(), "tick() ran without taking the simulation's lock"
    ticker.join(timeout=5)
    assert listed[0][0]["simulation_id"] == sim_id
    assert manager.get_state(sim_id)["tick"] == 1


def test_bound_on_live_simulations(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager(max_simulations=3)
    ids = [manager.create(config()) for _ in range(3)]
    with pytest.raises(SimulationLimitReached, match="limit of 3 live simulations"):
        manager.create(config())
    manager.delete(ids[0])
    ids.append(manager.create(config()))  # a freed slot can be used again
    assert len(manager) == 3


def test_bound_holds_under_concurrent_creation(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager(max_simulations=5)

    def attempt(_: int) -> bool:
        try:
            manager.create(config())
        except SimulationLimitReached:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert sum(outcomes) == 5
    assert len(manager) == 5


def test_unknown_and_deleted_ids(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config())
    manager.delete(sim_id)
    assert sim_id not in [item["simulation_id"] for item in manager.list()]
    assert len(manager) == 0
    for call in (manager.get_state, manager.tick, manager.metrics, manager.delete, manager.transactions):
        with pytest.raises(SimulationNotFound) as caught:
            call(sim_id)
        assert isinstance(caught.value, KeyError)
        assert sim_id in str(caught.value)


def test_payment_errors_name_the_field(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config())
    with pytest.raises(InvalidPayment) as caught:
        manager.submit_transaction(sim_id, {"sender": "BANK_A", "receiver": "BANK_Z", "amount": 5})
    assert caught.value.field == "receiver"
    assert "BANK_Z" in str(caught.value)
    with pytest.raises(InvalidPayment) as caught:
        manager.submit_transaction(sim_id, {"sender": "BANK_A", "receiver": "BANK_A", "amount": 5})
    assert caught.value.field == "receiver"
    assert manager.transactions(sim_id)["total"] == 0  # nothing half-entered


def test_ticking_past_the_end(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config(ticks_per_day=10))
    manager.tick(sim_id, 8)
    with pytest.raises(RunFinished, match="only 2 of the run's 10 ticks remain"):
        manager.tick(sim_id, 3)
    assert manager.get_state(sim_id)["tick"] == 8  # all or nothing
    assert manager.tick(sim_id, 2)["is_finished"]
    with pytest.raises(RunFinished):
        manager.submit_transaction(sim_id, {"sender": "BANK_A", "receiver": "BANK_B", "amount": 5})


def test_work_bound(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager(max_work_per_call=1_000)
    sim_id = manager.create(config(ticks_per_day=10_000, arrivals=True))  # 2 banks + 1 arrival a tick
    with pytest.raises(RequestTooLarge, match="use n <= 333"):
        manager.tick(sim_id, 334)
    assert manager.tick(sim_id, 333)["ticks_run"] == 333
    with pytest.raises(ValueError, match="n: must be between 1 and"):
        manager.tick(sim_id, 0)


def test_engine_rejection_is_invalid_scenario(config: Callable[..., SimulationConfig]) -> None:
    """A config changed after validation (models are mutable) is still judged by the engine."""
    scenario = config()
    scenario.agents[1].balance = 10**16  # above the engine's 10^15 bound on money
    manager = SimulationManager()
    with pytest.raises(InvalidScenario, match=r"agent_configs\[1\]\.opening_balance"):
        manager.create(scenario)
    assert len(manager) == 0


def test_transaction_pages_decode_the_log(config: Callable[..., SimulationConfig]) -> None:
    manager = SimulationManager()
    sim_id = manager.create(config(ticks_per_day=20, arrivals=True))
    manager.tick(sim_id, 20)
    everything = manager.transactions(sim_id, 0, 1_000)
    total = everything["total"]
    assert total == len(everything["items"]) > 0
    pages = [manager.transactions(sim_id, offset, 7)["items"] for offset in range(0, total, 7)]
    assert [row for page in pages for row in page] == everything["items"]
    for row in everything["items"]:
        assert {row["sender"], row["receiver"]} == {"BANK_A", "BANK_B"}
        assert row["status"] in ("settled", "dropped", "queue1", "queue2")
        assert (row["settle_tick"] is not None) == (row["status"] == "settled") == (row["settled_via"] is not None)
        assert (row["drop_reason"] is not None) == (row["status"] == "dropped")
    assert manager.transactions(sim_id, total, 10)["items"] == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=5))
def test_any_split_of_ticks_ends_in_the_same_state(config: Callable[..., SimulationConfig], cuts: list[int]) -> None:
    """Stepping in chunks of any sizes reaches the same positions and figures as one big step."""
    manager = SimulationManager(max_simulations=2)
    chunked, whole = manager.create(config(arrivals=True)), manager.create(config(arrivals=True))
    for n in cuts:
        manager.tick(chunked, n)
    manager.tick(whole, sum(cuts))
    assert manager.get_state(chunked)["agents"] == manager.get_state(whole)["agents"]
    strip = lambda m: {k: v for k, v in m.items() if k != "engine_seconds"}  # noqa: E731
    assert strip(manager.metrics(chunked)) == strip(manager.metrics(whole))


def test_transaction_rows_read_like_the_parquet_table(sweep_dir: Path, two_banks: Scenario) -> None:
    """A run replayed by hand pages out exactly the rows the runner wrote to Parquet for it."""
    manifest = json.loads((sweep_dir / "manifest.json").read_text())
    run = next(r for r in manifest["runs"] if manifest["cells"][r["cell_id"]]["params"]["lsm_mode"] == "t2")
    written = pq.read_table(sweep_dir / "transactions", filters=[("run_id", "=", run["run_id"])])
    expected = written.drop_columns(["run_id", "cell_id", "rep", "batch"]).to_pylist()

    scenario = {**two_banks(ticks_per_day=40, balance=30_000, arrivals=True), "lsm": {"mode": "t2"}}
    scenario["simulation"]["seed"] = run["seed"]
    manager = SimulationManager()
    sim_id = manager.create(SimulationConfig.model_validate(scenario))
    manager.tick(sim_id, 40)
    replayed = manager.transactions(sim_id, 0, 1_000)
    assert replayed["total"] == len(expected) > 0
    assert any(row["status"] != "settled" or row["settled_via"] != "rtgs" for row in expected)  # not all alike
    assert replayed["items"] == expected

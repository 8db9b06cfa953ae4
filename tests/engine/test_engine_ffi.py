"""The FFI suite of the design notes (creation, ticks, state queries, submission, logs), corrected per
docs/testing.md#errors-in-the-design-notes and tightened to docs/semantics.md. Invalid configs are in
test_engine_config_errors.py, determinism in test_engine_determinism.py."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from paysim_runner import _core
from tests.helpers.design_notes import seeded_config, two_agent_config
from tests.helpers.engine import (
    Orchestrator,
    balances,
    bank,
    build,
    comparable_metrics,
    logs_equal,
    pay,
    run_ticks,
    scenario,
    transactions,
)
from tests.helpers.invariants import assert_invariants, assert_matches_schema

# ---------------------------------------------------------------- creation


def test_create_minimal_orchestrator() -> None:
    orch = Orchestrator.new(two_agent_config())
    assert orch.get_agent_ids() == ["BANK_A", "BANK_B"]
    assert orch.current_tick() == 0
    assert orch.current_day() == 0
    assert orch.total_ticks() == 100
    assert orch.ticks_per_day() == 100
    assert not orch.is_finished()


def test_single_bank_without_arrivals_is_valid() -> None:
    orch = Orchestrator.new(
        {"ticks_per_day": 100, "num_days": 1, "rng_seed": 12345,
         "agent_configs": [{"id": "BANK_A", "opening_balance": 1_000_000, "credit_limit": 0,
                            "policy": {"type": "Fifo"}}]}
    )
    results = run_ticks(orch, 10)
    assert [r["tick"] for r in results] == list(range(10))
    assert orch.get_agent_balance("BANK_A") == 1_000_000


def test_type_conversion_liquidity_aware_policy() -> None:
    cfg = two_agent_config()
    cfg["agent_configs"][0]["policy"] = {"type": "LiquidityAware", "target_buffer": 200_000, "urgency_threshold": 5}
    orch = Orchestrator.new(cfg)
    assert orch.get_agent_balance("BANK_A") == 1_000_000  # Python int -> i64 and back


def test_num_days_defaults_to_one() -> None:
    cfg = two_agent_config()
    del cfg["num_days"]
    assert Orchestrator.new(cfg).total_ticks() == 100


def test_every_policy_and_distribution_is_accepted() -> None:
    distributions = [
        {"type": "Normal", "mean": 1000, "std_dev": 100},
        {"type": "LogNormal", "mean_log": 7.0, "std_dev_log": 0.5},
        {"type": "Uniform", "min": 10, "max": 20},
        {"type": "Exponential", "mean": 500},
    ]
    policies = [
        {"type": "Fifo"},
        {"type": "Deadline", "urgency_threshold": 3},
        {"type": "LiquidityAware", "target_buffer": 100, "urgency_threshold": 2},
        {"type": "Splitting", "max_parts": 4, "min_part": 50},
    ]
    agents = [
        bank(f"B{i}", 10_000, 1_000, policies[i], {"rate_per_tick": 0.4, "distribution": distributions[i]})
        for i in range(4)
    ]
    for mode in ("none", "bilateral", "cycles", "multilateral", "t2", "t2_classic"):
        cfg = scenario(agents, ticks=20, lsm=mode)
        orch = build(cfg)
        orch.run()
        assert orch.is_finished()
        assert_invariants(orch, cfg)


# ---------------------------------------------------------------- tick execution


def test_tick_returns_the_declared_tick_result() -> None:
    orch = Orchestrator.new(seeded_config())
    result = orch.tick()
    assert_matches_schema("tick_result", result)
    assert result["tick"] == 0
    assert orch.current_tick() == 1


def test_every_tick_result_field_is_a_flow_or_a_position() -> None:
    """The API sums flows over several ticks and keeps the last positions: both must be real fields."""
    fields = [name for name, _ in _core.SCHEMAS["tick_result"]]
    assert set(_core.TICK_POSITIONS) < set(fields)
    assert {"tick", "queue2_size"} <= set(_core.TICK_POSITIONS)
    assert "num_settlements" not in _core.TICK_POSITIONS


def test_multiple_ticks_count_up_and_days_roll() -> None:
    cfg = seeded_config()
    cfg["ticks_per_day"], cfg["num_days"] = 5, 3
    orch = Orchestrator.new(cfg)
    results = run_ticks(orch, 15)
    assert [r["tick"] for r in results] == list(range(15))
    assert [r["day"] for r in results] == [t // 5 for t in range(15)]
    assert orch.is_finished()
    with pytest.raises(RuntimeError):
        orch.tick()


def test_current_day_follows_tick() -> None:
    cfg = seeded_config()
    cfg["ticks_per_day"], cfg["num_days"] = 4, 2
    orch = Orchestrator.new(cfg)
    for tick in range(7):
        assert orch.current_tick() == tick
        assert orch.current_day() == tick // 4
        orch.tick()


def test_tick_counters_on_hand_built_day() -> None:
    """Tick 0: two arrivals, one settles gross, one queues. Tick 1: the queued one expires."""
    cfg = scenario(
        [bank("A", 1000), bank("B", 0)],
        [pay("A", "B", 300, 0), pay("A", "B", 5000, 0, deadline=1)],
        ticks=5,
    )
    orch = build(cfg)
    t0, t1, t2 = run_ticks(orch, 3)
    assert (t0["num_arrivals"], t0["num_settlements"], t0["num_drops"]) == (2, 1, 0)
    assert (t0["queue1_size"], t0["queue2_size"]) == (0, 1)
    assert t0["value_arrived"] == 5300
    assert t0["value_settled"] == 300
    assert t0["queue2_value"] == 5000
    assert (t1["num_arrivals"], t1["num_settlements"], t1["num_drops"]) == (0, 0, 1)
    assert t1["value_dropped"] == 5000
    assert t1["queue2_size"] == 0
    assert (t2["num_arrivals"], t2["num_settlements"], t2["num_drops"]) == (0, 0, 0)
    assert (t0["lsm_bilateral_releases"], t0["lsm_cycle_releases"]) == (0, 0)
    assert balances(orch) == {"A": 700, "B": 300}


def test_two_bank_payment_exchange_conserves_balance() -> None:
    cfg = seeded_config()
    cfg["agent_configs"][0]["arrival_config"]["rate_per_tick"] = 0.2
    cfg["agent_configs"][1]["arrival_config"] = {
        "rate_per_tick": 0.2,
        "distribution": {"type": "Normal", "mean": 100_000, "std_dev": 20_000},
        "counterparty_weights": {"BANK_A": 1.0},
    }
    orch = Orchestrator.new(cfg)
    results = run_ticks(orch, 100)
    arrivals = sum(r["num_arrivals"] for r in results)
    settlements = sum(r["num_settlements"] for r in results)
    assert arrivals > 0
    assert 0 < settlements <= arrivals
    assert orch.get_agent_balance("BANK_A") + orch.get_agent_balance("BANK_B") == 3_000_000
    assert orch.metrics()["n_payments"] == arrivals
    assert orch.metrics()["n_settled"] == settlements
    assert_invariants(orch, cfg)


def test_per_tick_costs_add_up_to_run_costs() -> None:
    cfg = seeded_config()
    cfg["cost_rates"] = {"liquidity_cost_per_unit_per_tick": 0.001, "delay_cost_per_tick": 0.0,
                         "collateral_cost_per_unit_per_tick": 0.0, "split_friction_cost": 0.0,
                         "deadline_penalty": 0.0, "eod_penalty": 0.0}
    cfg["agent_configs"][0]["arrival_config"]["rate_per_tick"] = 2.0
    orch = Orchestrator.new(cfg)
    results = run_ticks(orch, 100)
    m = orch.metrics()
    assert m["cost_liquidity"] > 0
    assert sum(r["total_liquidity_cost"] for r in results) == pytest.approx(m["cost_liquidity"])
    assert sum(r["total_delay_cost"] for r in results) == pytest.approx(m["cost_delay"])
    assert sum(r["total_cost"] for r in results) == pytest.approx(m["cost_total"])


def test_run_equals_tick_loop() -> None:
    cfg = seeded_config()
    looped = Orchestrator.new(cfg)
    run_ticks(looped, looped.total_ticks())
    ran = Orchestrator.new(cfg)
    ran.run()
    assert ran.is_finished()
    assert ran.current_tick() == 100
    assert logs_equal(ran.tick_log(), looped.tick_log())
    assert logs_equal(ran.transaction_log(), looped.transaction_log())
    assert comparable_metrics(ran) == comparable_metrics(looped)
    ran.run()  # nothing left to run: a no-op, not an error
    assert ran.current_tick() == 100


# ---------------------------------------------------------------- state queries


def test_get_agent_balance() -> None:
    orch = Orchestrator.new(two_agent_config())
    assert orch.get_agent_balance("BANK_A") == 1_000_000
    assert orch.get_agent_balance("BANK_B") == 2_000_000


def test_get_queue_sizes_start_empty() -> None:
    orch = Orchestrator.new(two_agent_config())
    assert orch.get_queue1_size("BANK_A") == 0
    assert orch.get_queue2_size() == 0


def test_get_agent_ids_in_config_order() -> None:
    cfg = two_agent_config()
    cfg["agent_configs"].reverse()
    assert Orchestrator.new(cfg).get_agent_ids() == ["BANK_B", "BANK_A"]


def test_unknown_bank_queries_raise_key_error() -> None:
    orch = Orchestrator.new(two_agent_config())
    with pytest.raises(KeyError):
        orch.get_agent_balance("BANK_Z")
    with pytest.raises(KeyError):
        orch.get_queue1_size("BANK_Z")


def test_agent_states_report_balances_and_queues() -> None:
    cfg = scenario([bank("A", 100, 50), bank("B", 0)], [pay("A", "B", 400, 0)], ticks=3)
    orch = build(cfg)
    orch.tick()
    states = {s["id"]: s for s in orch.agent_states()}
    assert states["A"]["balance"] == 100
    assert states["A"]["opening_balance"] == 100
    assert states["A"]["credit_limit"] == 50
    assert states["A"]["credit_used"] == 0
    assert states["A"]["queue2_size"] == 1
    assert states["A"]["queue2_value"] == 400
    assert states["B"]["queue2_size"] == 0
    assert states["A"]["queue1_size"] == 0
    assert orch.get_queue2_size() == 1


# ---------------------------------------------------------------- submit_transaction


def test_submit_transaction_enters_queue1_now() -> None:
    orch = Orchestrator.new(two_agent_config())
    tx_id = orch.submit_transaction(
        {"sender": "BANK_A", "receiver": "BANK_B", "amount": 100_000, "deadline_offset": 50, "priority": 5}
    )
    assert isinstance(tx_id, str)
    assert tx_id
    assert orch.get_queue1_size("BANK_A") == 1
    orch.tick()
    assert orch.get_queue1_size("BANK_A") == 0
    assert orch.get_agent_balance("BANK_B") == 2_100_000
    [row] = transactions(orch)
    assert str(row["tx_id"]) == tx_id
    assert row["arrival_tick"] == 0
    assert row["deadline_tick"] == 50
    assert row["priority"] == 5
    assert row["status"] == "settled"
    assert row["settled_via"] == "rtgs"
    assert row["settle_tick"] == 0


def test_submit_transaction_ids_are_deterministic_and_ordered() -> None:
    def submit_three() -> list[str]:
        orch = Orchestrator.new(two_agent_config())
        orch.tick()
        return [orch.submit_transaction({"sender": "BANK_A", "receiver": "BANK_B", "amount": a})
                for a in (1, 2, 3)]

    first, second = submit_three(), submit_three()
    assert first == second
    assert len(set(first)) == 3


def test_submit_transaction_defaults() -> None:
    orch = Orchestrator.new(two_agent_config())
    run_ticks(orch, 3)
    orch.submit_transaction({"sender": "BANK_B", "receiver": "BANK_A", "amount": 7})
    [row] = transactions(orch)
    assert row["arrival_tick"] == 3
    assert row["deadline_tick"] == 53
    assert row["priority"] == 5
    assert row["divisible"] in (0, False)


@pytest.mark.parametrize(
    ("tx", "error", "field"),
    [
        ({"sender": "BANK_Z", "receiver": "BANK_B", "amount": 10}, _core.UnknownBankError, "sender"),
        ({"sender": "BANK_A", "receiver": "BANK_Z", "amount": 10}, _core.UnknownBankError, "receiver"),
        ({"sender": "BANK_A", "receiver": "BANK_A", "amount": 10}, _core.InvalidPaymentError, "receiver"),
        ({"sender": "BANK_A", "receiver": "BANK_B", "amount": 0}, _core.InvalidPaymentError, "amount"),
        ({"sender": "BANK_A", "receiver": "BANK_B", "amount": -5}, _core.InvalidPaymentError, "amount"),
        ({"sender": "BANK_A", "receiver": "BANK_B", "amount": 10, "priority": 11}, _core.InvalidPaymentError,
         "priority"),
        ({"sender": "BANK_A", "receiver": "BANK_B", "amount": 10, "deadline_offset": -1}, _core.InvalidPaymentError,
         "deadline_offset"),
        ({"sender": "BANK_A", "receiver": "BANK_B", "amount": 10, "memo": "x"}, _core.InvalidPaymentError, "memo"),
        ({"sender": "BANK_A", "receiver": "BANK_B", "amount": "ten"}, _core.InvalidPaymentError, "amount"),
    ],
)
def test_submit_transaction_rejects_bad_input(tx: dict[str, Any], error: type[Exception], field: str) -> None:
    """Each refusal names its payment field as data (``.loc``), not only in the message."""
    orch = Orchestrator.new(two_agent_config())
    with pytest.raises(error) as caught:
        orch.submit_transaction(tx)
    assert caught.value.loc == (field,)  # type: ignore[attr-defined]
    assert str(caught.value).startswith(f"{field}: ")
    assert orch.get_queue1_size("BANK_A") == 0  # nothing half-entered


def test_errors_share_one_base_and_keep_their_builtin_bases() -> None:
    """``except PaysimError`` catches every engine error; ``except KeyError`` still catches an unknown bank."""
    orch = Orchestrator.new(two_agent_config())
    with pytest.raises(_core.UnknownBankError) as caught:
        orch.get_agent_balance("BANK_Z")
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, _core.PaysimError)
    assert caught.value.loc == ("agent_id",)
    assert caught.value.bank_id == "BANK_Z"
    assert str(caught.value) == "agent_id: unknown bank 'BANK_Z'"  # one line, not KeyError's quoted repr
    run_ticks(orch, orch.total_ticks())
    with pytest.raises(_core.RunFinished) as finished:
        orch.tick()
    assert isinstance(finished.value, RuntimeError)
    with pytest.raises(_core.StateError):
        Orchestrator.load_state(b"not a state")


def test_submit_transaction_missing_field_names_it() -> None:
    orch = Orchestrator.new(two_agent_config())
    with pytest.raises((ValueError, KeyError), match="amount"):
        orch.submit_transaction({"sender": "BANK_A", "receiver": "BANK_B"})


# ---------------------------------------------------------------- logs


def test_fresh_engine_has_empty_logs_and_zero_metrics() -> None:
    orch = Orchestrator.new(two_agent_config())
    assert all(len(col) == 0 for col in orch.tick_log().values())
    assert all(len(col) == 0 for col in orch.transaction_log().values())
    m = orch.metrics()
    assert (m["n_payments"], m["n_settled"], m["ticks_run"], m["cost_total"]) == (0, 0, 0, 0.0)
    assert_invariants(orch, two_agent_config())


def test_logs_go_straight_into_pyarrow() -> None:
    """docs/semantics.md#python-api-of-the-extension: logs are dicts of 1-D numpy columns, ready for
    pyarrow.table, one row per tick and bank."""
    orch = Orchestrator.new(seeded_config())
    orch.run()
    ticks, txs = pa.table(orch.tick_log()), pa.table(orch.transaction_log())
    assert ticks.num_rows == 100 * 2
    assert txs.num_rows == orch.metrics()["n_payments"]
    assert all(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
               for t in ticks.schema.types + txs.schema.types)

"""The six cost components (docs/semantics.md#costs), expiry (step 7), end of day (step 8) and multi-day runs,
each on a case small enough to work out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from paysim_runner import _core
from paysim_runner.config import ConfigError, config_from_mapping
from tests.helpers.engine import (
    COST_COLUMNS,
    balances,
    bank,
    build,
    by_amount,
    pay,
    row_of,
    run_ticks,
    scenario,
    tick_rows,
    transactions,
)
from tests.helpers.invariants import assert_invariants


def cost_by_bank(orch: Any, column: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for row in tick_rows(orch):
        totals[row["bank"]] = totals.get(row["bank"], 0.0) + row[column]
    return totals


def test_liquidity_cost_is_rate_times_overdraft_each_tick() -> None:
    """A overdraws 400 on credit at tick 0 and stays there for 5 ticks: 5 x 0.001 x 400."""
    cfg = scenario([bank("A", 0, credit=1000), bank("B", 0)], [pay("A", "B", 400, 0)], ticks=5,
                   costs={"liquidity_cost_per_unit_per_tick": 0.001})
    orch = build(cfg)
    results = run_ticks(orch, 5)
    assert [r["total_liquidity_cost"] for r in results] == pytest.approx([0.4] * 5)
    assert orch.metrics()["cost_liquidity"] == pytest.approx(2.0)
    assert cost_by_bank(orch, "cost_liquidity") == pytest.approx({"A": 2.0, "B": 0.0})
    assert orch.metrics()["cost_total"] == pytest.approx(2.0)
    assert_invariants(orch, cfg)


def test_collateral_cost_is_rate_times_credit_limit_each_tick_used_or_not() -> None:
    cfg = scenario([bank("A", 0, credit=1000), bank("B", 500, credit=200)], [pay("A", "B", 400, 0)], ticks=5,
                   costs={"collateral_cost_per_unit_per_tick": 0.0001})
    orch = build(cfg)
    orch.run()
    assert cost_by_bank(orch, "cost_collateral") == pytest.approx({"A": 0.5, "B": 0.1})
    assert orch.metrics()["cost_collateral"] == pytest.approx(0.6)
    assert row_of(orch, 3, "A")["cost_collateral"] == pytest.approx(0.1)


def test_delay_cost_charges_queue1_holds_but_not_queue2_waits() -> None:
    """A's Deadline policy holds its 100 for ticks 0-6 (released at 7 = 10 - 3): 7 x 0.01 x 100.
    C's 50 waits in Queue 2 for want of money: not C's choice, no delay cost."""
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Deadline", "urgency_threshold": 3}), bank("B", 0), bank("C", 0)],
        [pay("A", "B", 100, 0, deadline=10), pay("C", "B", 50, 0, deadline=10)],
        ticks=12, costs={"delay_cost_per_tick": 0.01},
    )
    orch = build(cfg)
    results = run_ticks(orch, 12)
    assert cost_by_bank(orch, "cost_delay") == pytest.approx({"A": 7.0, "B": 0.0, "C": 0.0})
    assert [r["total_delay_cost"] for r in results] == pytest.approx([1.0] * 7 + [0.0] * 5)
    assert orch.metrics()["cost_delay"] == pytest.approx(7.0)


def test_split_friction_is_charged_per_extra_part_when_splitting() -> None:
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Splitting", "max_parts": 3, "min_part": 1000}), bank("B", 0)],
        [pay("A", "B", 3000, 0, divisible=True)],
        ticks=5, costs={"split_friction_cost": 4.0},
    )
    orch = build(cfg)
    orch.run()
    assert row_of(orch, 0, "A")["cost_split"] == pytest.approx(8.0)
    assert orch.metrics()["cost_split"] == pytest.approx(8.0)


PENALTIES = {"deadline_penalty": 7.0, "eod_penalty": 3.0}


def expiry_case(drop_expired: bool | None, liquidity_at: int | None) -> dict[str, Any]:
    """A (no money) owes B 100 with deadline tick 2; C may pay A 100 later."""
    payments = [pay("A", "B", 100, 0, deadline=2)]
    if liquidity_at is not None:
        payments.append(pay("C", "A", 101, liquidity_at))
    top = {} if drop_expired is None else {"drop_expired": drop_expired}
    return scenario([bank("A", 0), bank("B", 0), bank("C", 101)], payments, ticks=10, costs=PENALTIES, **top)


@pytest.mark.parametrize("drop_expired", [None, True])
def test_expired_payment_is_charged_and_dropped_at_its_deadline(drop_expired: bool | None) -> None:
    orch = build(expiry_case(drop_expired, liquidity_at=5))
    results = run_ticks(orch, 10)
    rows = by_amount(transactions(orch))
    late = rows[100]
    assert (late["status"], late["drop_reason"], late["drop_tick"]) == ("dropped", "deadline", 2)
    assert [r["num_drops"] for r in results] == [0, 0, 1] + [0] * 7
    assert row_of(orch, 2, "A")["cost_deadline"] == pytest.approx(7.0)
    m = orch.metrics()
    assert (m["cost_deadline"], m["cost_eod"]) == pytest.approx((7.0, 0.0))
    assert m["n_dropped_deadline"] == 1
    assert balances(orch) == {"A": 101, "B": 0, "C": 0}


def test_expired_payment_stays_queued_as_late_when_not_dropping() -> None:
    orch = build(expiry_case(False, liquidity_at=5))
    orch.run()
    late = by_amount(transactions(orch))[100]
    assert (late["status"], late["settled_via"], late["settle_tick"]) == ("settled", "queue", 5)
    assert late["settle_tick"] > late["deadline_tick"]
    m = orch.metrics()
    assert (m["cost_deadline"], m["cost_eod"]) == pytest.approx((7.0, 0.0))  # penalty once, not per tick
    assert balances(orch) == {"A": 1, "B": 100, "C": 0}


def test_late_payment_never_paid_is_dropped_at_end_of_day() -> None:
    orch = build(expiry_case(False, liquidity_at=None))
    orch.run()
    [late] = transactions(orch)
    assert (late["status"], late["drop_reason"], late["drop_tick"]) == ("dropped", "eod", 9)
    m = orch.metrics()
    assert (m["cost_deadline"], m["cost_eod"]) == pytest.approx((7.0, 3.0))
    assert row_of(orch, 9, "A")["cost_eod"] == pytest.approx(3.0)


def eod_case(unsettled: str | None) -> dict[str, Any]:
    """Two 5-tick days. At the first close A's 100 waits in Queue 2 (no money) and E's 10 waits in
    Queue 1 (E's Deadline policy holds it until tick 7). C pays A 100 at tick 6."""
    top = {} if unsettled is None else {"end_of_day": {"unsettled": unsettled}}
    return scenario(
        [
            bank("A", 0), bank("B", 0), bank("C", 100),
            bank("E", 50, policy={"type": "Deadline", "urgency_threshold": 1}),
        ],
        [pay("A", "B", 100, 1, deadline=8), pay("E", "B", 10, 1, deadline=8), pay("C", "A", 100, 6)],
        ticks=5, days=2, costs=PENALTIES, **top,
    )


@pytest.mark.parametrize("unsettled", [None, "drop"])
def test_end_of_day_drops_everything_unsettled(unsettled: str | None) -> None:
    orch = build(eod_case(unsettled))
    orch.run()
    rows = transactions(orch)
    first_day = [r for r in rows if r["arrival_tick"] == 1]
    assert {(r["status"], r["drop_reason"], r["drop_tick"]) for r in first_day} == {("dropped", "eod", 4)}
    assert row_of(orch, 4, "A")["cost_eod"] == pytest.approx(3.0)
    assert row_of(orch, 4, "E")["cost_eod"] == pytest.approx(3.0)
    m = orch.metrics()
    assert (m["cost_eod"], m["cost_deadline"], m["n_dropped_eod"]) == pytest.approx((6.0, 0.0, 2))
    assert balances(orch) == {"A": 100, "B": 0, "C": 0, "E": 50}


def test_end_of_day_carry_keeps_payments_queued_into_the_next_day() -> None:
    orch = build(eod_case("carry"))
    orch.run()
    rows = {r["sender"]: r for r in transactions(orch)}
    assert (rows["A"]["status"], rows["A"]["settle_tick"], rows["A"]["settled_via"]) == ("settled", 6, "queue")
    assert (rows["E"]["status"], rows["E"]["release_tick"], rows["E"]["settled_via"]) == ("settled", 7, "rtgs")
    m = orch.metrics()
    assert (m["cost_eod"], m["cost_deadline"]) == pytest.approx((6.0, 0.0))  # penalty at the close they spanned
    assert balances(orch) == {"A": 0, "B": 110, "C": 0, "E": 40}


def test_carried_payment_is_charged_at_every_close() -> None:
    cfg = scenario([bank("A", 0), bank("B", 0)], [pay("A", "B", 5, 0, deadline=100)], ticks=2, days=3,
                   costs=PENALTIES, end_of_day={"unsettled": "carry"})
    orch = build(cfg)
    orch.run()
    [row] = transactions(orch)
    assert row["status"] == "queue2"
    m = orch.metrics()
    assert m["cost_eod"] == pytest.approx(9.0)
    assert m["n_unsettled"] == 1
    assert [r["cost_eod"] for r in tick_rows(orch) if r["bank"] == "A"] == pytest.approx([0, 3, 0, 3, 0, 3])


def test_balances_carry_over_from_one_day_to_the_next() -> None:
    """B ends day 0 with 160 and pays 150 gross on day 1; a reset to its opening 60 would queue it."""
    cfg = scenario([bank("A", 100), bank("B", 60)], [pay("A", "B", 100, 1), pay("B", "A", 150, 4)], ticks=3, days=2)
    orch = build(cfg)
    run_ticks(orch, 3)
    assert orch.current_day() == 1
    assert balances(orch) == {"A": 0, "B": 160}
    orch.run()
    assert balances(orch) == {"A": 150, "B": 10}
    assert by_amount(transactions(orch))[150]["settled_via"] == "rtgs"
    assert row_of(orch, 3, "B")["balance"] == 160


def test_scheduled_payment_deadline_defaults_to_its_days_close() -> None:
    cfg = scenario([bank("A", 0), bank("B", 0)], [pay("A", "B", 5, 1), pay("A", "B", 6, 7)], ticks=5, days=2)
    orch = build(cfg)
    orch.run()
    assert {r["amount"]: r["deadline_tick"] for r in transactions(orch)} == {5: 4, 6: 9}


def test_all_six_components_on_one_day() -> None:
    """Every rate at once, each figure reproduced by hand, and the total is their sum."""
    cfg = scenario(
        [
            bank("A", 0, credit=1000),
            bank("B", 1000, policy={"type": "Deadline", "urgency_threshold": 1}),
            bank("C", 1000, policy={"type": "Splitting", "max_parts": 2, "min_part": 1000}),
            bank("D", 0),
            bank("E", 0),
        ],
        [
            pay("A", "B", 400, 0),                              # A overdrawn 400 from tick 0: liquidity
            pay("B", "D", 10, 0, deadline=3),                   # held ticks 0-1, released at 2: delay
            pay("C", "D", 2000, 0, deadline=10, divisible=True),  # 2 parts: friction; part 2 unpaid at close
            pay("E", "A", 50, 0, deadline=1),                   # E never has money: deadline penalty at 1
        ],
        ticks=4,
        costs={
            "liquidity_cost_per_unit_per_tick": 0.01,
            "delay_cost_per_tick": 0.1,
            "collateral_cost_per_unit_per_tick": 0.001,
            "split_friction_cost": 5.0,
            "deadline_penalty": 20.0,
            "eod_penalty": 30.0,
        },
    )
    orch = build(cfg)
    orch.run()
    m = orch.metrics()
    want = {
        "cost_liquidity": 4 * 0.01 * 400,   # A at -400 for 4 ticks
        "cost_delay": 2 * 0.1 * 10,         # B's 10 in Queue 1 at ticks 0 and 1
        "cost_collateral": 4 * 0.001 * 1000,
        "cost_split": 5.0 * (2 - 1),
        "cost_deadline": 20.0,              # E's 50, dropped at tick 1
        "cost_eod": 30.0,                   # C's second part, still queued at the close (tick 3)
        "cost_eod_borrowing": 0.0,          # the close drops; it lends nothing
    }
    assert {k: m[k] for k in COST_COLUMNS} == pytest.approx(want)
    assert m["cost_total"] == pytest.approx(sum(want.values()))
    by_bank = {c: cost_by_bank(orch, c) for c in COST_COLUMNS}
    assert by_bank["cost_liquidity"]["A"] == pytest.approx(16.0)
    assert by_bank["cost_delay"]["B"] == pytest.approx(2.0)
    assert by_bank["cost_split"]["C"] == pytest.approx(5.0)
    assert by_bank["cost_eod"]["C"] == pytest.approx(30.0)
    assert by_bank["cost_deadline"]["E"] == pytest.approx(20.0)
    assert_invariants(orch, cfg)


def unpayable_split(policy: dict[str, Any], deadline: int, unsettled: str) -> dict[str, Any]:
    """A (balance 10) owes B a divisible 100 it can never pay, in one 5-tick day, default penalties."""
    return scenario(
        [bank("A", 10, policy=policy), bank("B", 0)],
        [pay("A", "B", 100, 0, deadline=deadline, divisible=True)],
        ticks=5, costs={"deadline_penalty": 100_000.0, "eod_penalty": 500_000.0},
        end_of_day={"unsettled": unsettled},
    )


SPLIT_IN_FOUR = {"type": "Splitting", "max_parts": 4, "min_part": 1}


@pytest.mark.parametrize("policy", [{"type": "Fifo"}, SPLIT_IN_FOUR])
def test_a_payment_past_its_deadline_pays_one_penalty_however_it_was_split(policy: dict[str, Any]) -> None:
    orch = build(unpayable_split(policy, deadline=1, unsettled="drop"))
    orch.run()
    assert orch.metrics()["cost_deadline"] == pytest.approx(100_000.0)


@pytest.mark.parametrize("policy", [{"type": "Fifo"}, SPLIT_IN_FOUR])
def test_a_payment_open_at_the_close_pays_one_eod_penalty_however_it_was_split(policy: dict[str, Any]) -> None:
    orch = build(unpayable_split(policy, deadline=5, unsettled="carry"))
    orch.run()
    assert orch.metrics()["cost_eod"] == pytest.approx(500_000.0)


def test_the_split_payment_of_the_penalty_cases_is_cut_in_four() -> None:
    orch = build(unpayable_split(SPLIT_IN_FOUR, deadline=1, unsettled="drop"))
    orch.run()
    assert orch.metrics()["n_split_parts"] == 4


@pytest.mark.parametrize("rate", ["delay_cost_per_tick", "liquidity_cost_per_unit_per_tick", "eod_penalty"])
def test_a_cost_rate_that_could_make_costs_infinite_is_refused_naming_it(rate: str) -> None:
    cfg = scenario([bank("A", 0), bank("B", 0)], costs={rate: 1e308})
    with pytest.raises(_core.ConfigError) as info:
        build(cfg)
    assert info.value.loc == ("cost_rates", rate)


def test_the_cost_rate_bound_is_stated_in_the_error() -> None:
    with pytest.raises(_core.ConfigError) as info:
        build(scenario([bank("A", 0), bank("B", 0)], costs={"delay_cost_per_tick": 1e308}))
    assert str(info.value) == "cost_rates.delay_cost_per_tick: must be ≤ 1e15, got 1e308"


def test_a_scenario_cost_rate_past_the_bound_is_refused_at_its_scenario_path() -> None:
    agents = [{"id": bank_id, "balance": 0, "policy": {"type": "Fifo"}} for bank_id in ("A", "B")]
    scenario_mapping = {"simulation": {"ticks_per_day": 4, "seed": 1}, "agents": agents,
                        "costs": {"delay_cost_per_tick": 1e308}}
    with pytest.raises(ConfigError) as info:
        config_from_mapping(scenario_mapping)
    assert info.value.path == "costs.delay_cost_per_tick"


def test_the_largest_cost_rate_keeps_every_cost_finite() -> None:
    """A's 10^15 held in Queue 1 (Deadline policy) at the largest rate: 10^30 a tick, finite."""
    cfg = scenario([bank("A", 10**15, policy={"type": "Deadline", "urgency_threshold": 0}), bank("B", 0)],
                   [pay("A", "B", 10**15, 0, deadline=9)], ticks=10, costs={"delay_cost_per_tick": 1e15})
    orch = build(cfg)
    orch.run()
    assert orch.metrics()["cost_delay"] == pytest.approx(9 * 1e30)

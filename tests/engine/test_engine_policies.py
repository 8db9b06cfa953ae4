"""Cash-manager policies (docs/semantics.md#policies): what each releases, holds or splits, and when."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.engine import Orchestrator, balances, bank, build, by_amount, pay, run_ticks, scenario, transactions


def test_fifo_releases_everything_on_arrival() -> None:
    cfg = scenario([bank("A", 0), bank("B", 0)], [pay("A", "B", 10, 0), pay("A", "B", 20, 3)], ticks=5)
    orch = build(cfg)
    orch.run()
    assert [row["release_tick"] for row in transactions(orch)] == [0, 3]
    assert all(row["status"] == "dropped" for row in transactions(orch))  # no money: queued until EOD


@pytest.mark.parametrize(("threshold", "release"), [(3, 7), (0, 10), (10, 0), (25, 0)])
def test_deadline_policy_releases_once_deadline_minus_now_is_within_threshold(threshold: int, release: int) -> None:
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Deadline", "urgency_threshold": threshold}), bank("B", 0)],
        [pay("A", "B", 100, 0, deadline=10)],
        ticks=20,
    )
    orch = build(cfg)
    queue1 = []
    for _ in range(12):
        orch.tick()
        queue1.append(orch.get_queue1_size("A"))
    assert queue1 == [1] * release + [0] * (12 - release)
    [row] = transactions(orch)
    assert (row["release_tick"], row["settle_tick"], row["settled_via"]) == (release, release, "rtgs")
    assert balances(orch) == {"A": 900, "B": 100}


def test_liquidity_aware_keeps_its_buffer_until_the_payment_is_urgent() -> None:
    """Buffer 600 from 1000: the 300 goes (700 left), the 200 would leave 500 so it waits until
    its deadline (5) is within 2 ticks, i.e. tick 3."""
    policy = {"type": "LiquidityAware", "target_buffer": 600, "urgency_threshold": 2}
    cfg = scenario(
        [bank("A", 1000, policy=policy), bank("B", 0)],
        [pay("A", "B", 300, 0, deadline=20), pay("A", "B", 200, 0, deadline=5)],
        ticks=10,
    )
    orch = build(cfg)
    run_ticks(orch, 6)
    rows = by_amount(transactions(orch))
    assert rows[300]["release_tick"] == 0
    assert rows[200]["release_tick"] == 3
    assert balances(orch) == {"A": 500, "B": 500}


def test_liquidity_aware_releases_when_incoming_liquidity_restores_the_buffer() -> None:
    """B pays A 250 at tick 1 (settled in step 3, after A's policy ran in step 2), so A's policy sees
    950 at tick 2: 950 - 200 = 750 >= 600, release at tick 2, before urgency would (tick 3)."""
    policy = {"type": "LiquidityAware", "target_buffer": 600, "urgency_threshold": 2}
    cfg = scenario(
        [bank("A", 1000, policy=policy), bank("B", 0)],
        [pay("A", "B", 300, 0, deadline=20), pay("A", "B", 200, 0, deadline=5), pay("B", "A", 250, 1)],
        ticks=10,
    )
    orch = build(cfg)
    run_ticks(orch, 4)
    rows = by_amount(transactions(orch))
    assert rows[200]["release_tick"] == 2


def test_splitting_divides_a_divisible_payment_that_does_not_fit() -> None:
    """3000 against a balance of 1000, at most 3 parts of at least 1000: three parts of 1000.
    The first settles gross; the other two wait in Queue 2."""
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Splitting", "max_parts": 3, "min_part": 1000}), bank("B", 0)],
        [pay("A", "B", 3000, 0, divisible=True)],
        ticks=5, costs={"split_friction_cost": 7.5},
    )
    orch = build(cfg)
    orch.tick()
    rows = transactions(orch)
    [parent] = [r for r in rows if r["parent_id"] == -1]
    parts = [r for r in rows if r["parent_id"] != -1]
    assert parent["status"] == "split"
    assert parent["amount"] == 3000
    assert [p["amount"] for p in parts] == [1000, 1000, 1000]
    assert all(p["parent_id"] == parent["tx_id"] for p in parts)
    assert all(p["tx_id"] > parent["tx_id"] for p in parts)
    assert sorted(p["status"] for p in parts) == ["queue2", "queue2", "settled"]
    assert all(p["release_tick"] == 0 for p in parts)
    assert balances(orch) == {"A": 0, "B": 1000}
    m = orch.metrics()
    # counted once, as the original payment; not settled until every part is
    assert m["n_split"] == 1
    assert m["n_payments"] == 1
    assert m["n_settled"] == 0
    assert m["value_payments"] == 3000
    assert m["value_settled"] == 1000
    assert m["cost_split"] == pytest.approx(7.5 * 2)


def assert_held_whole(orch: Orchestrator, row: dict[str, Any]) -> None:
    """A payment Splitting neither splits nor covers stays whole in Queue 1 (docs/semantics.md#policies):
    not split, not released, not settled, not dropped, and no money moved."""
    assert row["status"] == "queue1"
    assert row["parent_id"] == -1
    assert row["release_tick"] == -1
    assert orch.get_queue1_size("A") == 1
    assert orch.metrics()["n_split"] == 0
    assert balances(orch) == {"A": 1000, "B": 0}


def test_splitting_caps_the_number_of_parts_by_min_part() -> None:
    """1500 cannot make two parts of at least 1000: it is held, not split."""
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Splitting", "max_parts": 4, "min_part": 1000}), bank("B", 0)],
        [pay("A", "B", 1500, 0, divisible=True)],
        ticks=5,
    )
    orch = build(cfg)
    orch.tick()
    [row] = transactions(orch)
    assert_held_whole(orch, row)


def test_splitting_never_splits_an_indivisible_payment() -> None:
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Splitting", "max_parts": 3, "min_part": 100}), bank("B", 0)],
        [pay("A", "B", 3000, 0, divisible=False)],
        ticks=5,
    )
    orch = build(cfg)
    orch.tick()
    [row] = transactions(orch)
    assert_held_whole(orch, row)


def test_splitting_releases_a_payment_that_fits_whole() -> None:
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Splitting", "max_parts": 3, "min_part": 100}), bank("B", 0)],
        [pay("A", "B", 600, 0, divisible=True)],
        ticks=5,
    )
    orch = build(cfg)
    orch.tick()
    [row] = transactions(orch)
    assert (row["status"], row["settled_via"], row["parent_id"]) == ("settled", "rtgs", -1)
    assert balances(orch) == {"A": 400, "B": 600}


def test_split_parts_are_equal_and_add_up_to_the_parent() -> None:
    """4000 against 1000, at most 4 parts of at least 1000 -> four parts of 1000; one is paid at once,
    the other three when B's 3000 arrives at tick 1."""
    cfg = scenario(
        [bank("A", 1000, policy={"type": "Splitting", "max_parts": 4, "min_part": 1000}), bank("B", 3000)],
        [pay("A", "B", 4000, 0, divisible=True), pay("B", "A", 3000, 1)],
        ticks=5,
    )
    orch = build(cfg)
    run_ticks(orch, 2)
    parts = [r for r in transactions(orch) if r["parent_id"] != -1]
    assert [p["amount"] for p in parts] == [1000] * 4
    assert all(p["status"] == "settled" for p in parts)
    assert balances(orch) == {"A": 0, "B": 4000}

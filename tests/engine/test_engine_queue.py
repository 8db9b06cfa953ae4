"""Queue 2 (docs/semantics.md#gross-settlement-and-queue-2): the two disciplines and urgent-before-normal ordering.

Payments queue at tick 0 for want of liquidity; liquidity arrives by a gross payment later, so
the outcome depends only on how step 4 walks Queue 2.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.engine import balances, bank, build, by_amount, pay, run_ticks, scenario, transactions


def blocked_head(queue: str | None) -> dict[str, Any]:
    """A queues 100 then 30 with nothing; at tick 1 D pays A 50: enough for the 30, not the 100."""
    top: dict[str, Any] = {} if queue is None else {"rtgs": {"queue": queue}}
    return scenario(
        [bank("A", 0), bank("B", 0), bank("C", 0), bank("D", 50)],
        [pay("A", "B", 100, 0), pay("A", "C", 30, 0), pay("D", "A", 50, 1)],
        ticks=5, **top,
    )


def test_fifo_bypass_lets_a_smaller_payment_pass_a_blocked_one() -> None:
    orch = build(blocked_head("fifo_bypass"))
    run_ticks(orch, 2)
    assert balances(orch) == {"A": 20, "B": 0, "C": 30, "D": 0}
    rows = by_amount(transactions(orch))
    assert (rows[30]["status"], rows[30]["settled_via"], rows[30]["settle_tick"]) == ("settled", "queue", 1)
    assert rows[100]["status"] == "queue2"
    assert orch.get_queue2_size() == 1


def test_strict_fifo_holds_the_later_payment_behind_the_blocked_one() -> None:
    orch = build(blocked_head("strict_fifo"))
    run_ticks(orch, 2)
    assert balances(orch) == {"A": 50, "B": 0, "C": 0, "D": 0}
    assert {row["amount"]: row["status"] for row in transactions(orch)} == {100: "queue2", 30: "queue2", 50: "settled"}
    assert orch.get_queue2_size() == 2


def test_default_discipline_is_fifo_bypass() -> None:
    default, bypass = build(blocked_head(None)), build(blocked_head("fifo_bypass"))
    run_ticks(default, 2)
    run_ticks(bypass, 2)
    assert balances(default) == balances(bypass)


def test_strict_fifo_does_not_block_other_senders() -> None:
    """E's 30 joined Queue 2 after A's blocked 100; strict FIFO is per sender, so E's payment settles."""
    cfg = scenario(
        [bank("A", 0), bank("B", 0), bank("E", 0), bank("D", 30)],
        [pay("A", "B", 100, 0), pay("E", "B", 30, 0), pay("D", "E", 30, 1)],
        ticks=5, rtgs={"queue": "strict_fifo"},
    )
    orch = build(cfg)
    run_ticks(orch, 2)
    assert balances(orch) == {"A": 0, "B": 30, "E": 0, "D": 0}


def test_strict_fifo_is_per_class_so_urgent_is_not_blocked_by_normal() -> None:
    """A's normal 100 queues at tick 0, its urgent 30 at tick 1; liquidity 50 at tick 2 pays the urgent."""
    cfg = scenario(
        [bank("A", 0), bank("B", 0), bank("C", 0), bank("D", 50)],
        [pay("A", "B", 100, 0), pay("A", "C", 30, 1, priority=9), pay("D", "A", 50, 2)],
        ticks=5, rtgs={"queue": "strict_fifo"},
    )
    orch = build(cfg)
    run_ticks(orch, 3)
    assert balances(orch) == {"A": 20, "B": 0, "C": 30, "D": 0}


def urgent_after_normal(priority: int, queue: str) -> dict[str, Any]:
    """A's normal 40 to B queues at tick 0, a 41 to C of the given priority at tick 1; D brings 42 at tick 2.
    Only one of them can be paid."""
    return scenario(
        [bank("A", 0), bank("B", 0), bank("C", 0), bank("D", 42)],
        [pay("A", "B", 40, 0), pay("A", "C", 41, 1, priority=priority), pay("D", "A", 42, 2)],
        ticks=5, rtgs={"queue": queue},
    )


@pytest.mark.parametrize("queue", ["fifo_bypass", "strict_fifo"])
@pytest.mark.parametrize("priority", [8, 10])
def test_urgent_payment_is_served_before_an_earlier_normal_one(priority: int, queue: str) -> None:
    orch = build(urgent_after_normal(priority, queue))
    run_ticks(orch, 3)
    assert balances(orch) == {"A": 1, "B": 0, "C": 41, "D": 0}
    rows = by_amount(transactions(orch))
    assert rows[41]["settled_via"] == "queue"
    assert rows[40]["status"] == "queue2"


@pytest.mark.parametrize("queue", ["fifo_bypass", "strict_fifo"])
def test_priority_seven_is_normal_so_join_order_wins(queue: str) -> None:
    orch = build(urgent_after_normal(7, queue))
    run_ticks(orch, 3)
    assert balances(orch) == {"A": 2, "B": 40, "C": 0, "D": 0}


def test_urgent_payment_is_released_first_within_a_tick() -> None:
    """Queue 1 order is priority first: A's urgent 60 (created second) takes A's only 60."""
    cfg = scenario(
        [bank("A", 60), bank("B", 0), bank("C", 0)],
        [pay("A", "B", 50, 0), pay("A", "C", 60, 0, priority=9)],
        ticks=3,
    )
    orch = build(cfg)
    orch.tick()
    assert balances(orch) == {"A": 0, "B": 0, "C": 60}
    rows = by_amount(transactions(orch))
    assert rows[60]["settled_via"] == "rtgs"
    assert rows[50]["status"] == "queue2"


def test_fifo_bypass_repeats_passes_until_nothing_settles() -> None:
    """Step 3: A->B 30 fails (A has 10), B->A 20 fails (B has 0), C->B 21 settles gross. Step 4, pass 1:
    A->B still fails, B->A now fits; pass 2: A->B fits. A single pass would leave A->B queued."""
    cfg = scenario(
        [bank("A", 10), bank("B", 0), bank("C", 21)],
        [pay("A", "B", 30, 0), pay("B", "A", 20, 0), pay("C", "B", 21, 0)],
        ticks=3,
    )
    orch = build(cfg)
    orch.tick()
    assert balances(orch) == {"A": 0, "B": 31, "C": 0}
    rows = by_amount(transactions(orch))
    assert [rows[a]["settled_via"] for a in (30, 20, 21)] == ["queue", "queue", "rtgs"]

"""Builders and readers for the engine tests, written from docs/semantics.md (not from the engine's code).

Scenarios are hand-made engine dicts so every expected balance can be worked out on paper.
The oracle every property and fuzz test leans on is in ``tests.helpers.invariants``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paysim_runner import _core

Orchestrator = _core.Orchestrator

COST_KEYS = (
    "liquidity_cost_per_unit_per_tick",
    "delay_cost_per_tick",
    "collateral_cost_per_unit_per_tick",
    "split_friction_cost",
    "deadline_penalty",
    "eod_penalty",
)
ZERO_COSTS: dict[str, float] = {key: 0.0 for key in COST_KEYS}
COST_COLUMNS = tuple(f"cost_{name}" for name in _core.COST_NAMES)
MEANS = tuple(name for name in _core.SETTLED_VIA_NAMES if name)


def bank(
    bank_id: str,
    balance: int = 0,
    credit: int = 0,
    policy: dict[str, Any] | None = None,
    arrivals: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One agent_configs entry; Fifo unless told otherwise."""
    agent: dict[str, Any] = {
        "id": bank_id,
        "opening_balance": balance,
        "credit_limit": credit,
        "policy": policy or {"type": "Fifo"},
    }
    if arrivals is not None:
        agent["arrival_config"] = arrivals
    return agent


def pay(
    sender: str,
    receiver: str,
    amount: int,
    tick: int = 0,
    *,
    deadline: int | None = None,
    priority: int | None = None,
    divisible: bool | None = None,
) -> dict[str, Any]:
    """One scheduled_payments entry; optional fields are left out so engine defaults apply."""
    payment: dict[str, Any] = {"sender": sender, "receiver": receiver, "amount": amount, "arrival_tick": tick}
    if deadline is not None:
        payment["deadline_tick"] = deadline
    if priority is not None:
        payment["priority"] = priority
    if divisible is not None:
        payment["divisible"] = divisible
    return payment


def scenario(
    banks: list[dict[str, Any]],
    payments: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    *,
    ticks: int = 10,
    days: int = 1,
    seed: int = 7,
    lsm: str | None = "none",
    costs: dict[str, float] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """An engine dict with costs zeroed (unless given) so only the figure under test moves."""
    cfg: dict[str, Any] = {
        "ticks_per_day": ticks,
        "num_days": days,
        "rng_seed": seed,
        "agent_configs": banks,
        "cost_rates": {**ZERO_COSTS, **(costs or {})},
    }
    if lsm is not None:
        cfg["lsm"] = {"mode": lsm}
    if payments:
        cfg["scheduled_payments"] = list(payments)
    cfg.update(top)
    return cfg


def build(cfg: dict[str, Any]) -> _core.Orchestrator:
    return Orchestrator.new(cfg)


def balances(orch: _core.Orchestrator) -> dict[str, int]:
    return {bank_id: orch.get_agent_balance(bank_id) for bank_id in orch.get_agent_ids()}


def transactions(orch: _core.Orchestrator) -> list[dict[str, Any]]:
    """transaction_log() as one dict per payment, codes decoded to names and bank ids."""
    log = orch.transaction_log()
    ids = orch.get_agent_ids()
    rows = []
    for i in range(len(log["tx_id"])):
        row = {name: col[i].item() for name, col in log.items()}
        row["sender"] = ids[row["sender"]]
        row["receiver"] = ids[row["receiver"]]
        row["status"] = _core.STATUS_NAMES[row["status"]]
        row["settled_via"] = _core.SETTLED_VIA_NAMES[row["settled_via"]]
        row["drop_reason"] = _core.DROP_REASON_NAMES[row["drop_reason"]]
        rows.append(row)
    return rows


def tick_rows(orch: _core.Orchestrator) -> list[dict[str, Any]]:
    """tick_log() as one dict per (tick, bank), bank as its id."""
    log = orch.tick_log()
    ids = orch.get_agent_ids()
    rows = []
    for i in range(len(log["tick"])):
        row = {name: col[i].item() for name, col in log.items()}
        row["bank"] = ids[row["bank"]]
        rows.append(row)
    return rows


def row_of(orch: _core.Orchestrator, tick: int, bank_id: str) -> dict[str, Any]:
    matches = [r for r in tick_rows(orch) if r["tick"] == tick and r["bank"] == bank_id]
    assert len(matches) == 1, f"expected one tick_log row for tick {tick} bank {bank_id}"
    return matches[0]


def by_amount(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Index payments by amount (scenarios give each payment a distinct amount)."""
    index = {row["amount"]: row for row in rows}
    assert len(index) == len(rows), "scenario amounts must be distinct"
    return index


def run_ticks(orch: _core.Orchestrator, n: int) -> list[dict[str, Any]]:
    return [orch.tick() for _ in range(n)]


def logs_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Bit-for-bit equality of two log dicts: same columns, dtypes and values."""
    if a.keys() != b.keys():
        return False
    return all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def comparable_metrics(orch: _core.Orchestrator) -> dict[str, Any]:
    """metrics() without the wall-clock figure, which legitimately differs between runs."""
    return {k: v for k, v in orch.metrics().items() if k != "engine_seconds"}

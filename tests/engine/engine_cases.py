"""Builders and checks for the engine tests, written from docs/semantics.md (not from the engine's code).

Scenarios are hand-made engine dicts so every expected balance can be worked out on paper.
The invariant checker is the one oracle every property test and fuzz test leans on.
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
#: What a value of each engine field type is in Python, and as a numpy log column.
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int64": (int,), "float64": (float,), "float64|null": (float, type(None)), "str": (str,), "bool": (bool,),
}
_DTYPES = {"int64": "int64", "int64|null": "int64", "int32": "int32", "uint8": "uint8", "bool": "bool",
           "float64": "float64"}


def assert_matches_schema(record: str, value: dict[str, Any]) -> None:
    """``value`` has exactly the fields of ``_core.SCHEMAS[record]``, in order, of their types."""
    schema = _core.SCHEMAS[record]
    assert list(value) == [name for name, _ in schema], record
    for name, kind in schema:
        if isinstance(value[name], np.ndarray):
            assert value[name].dtype == np.dtype(_DTYPES[kind]), (record, name)
        else:
            wanted = _PY_TYPES[kind]
            assert isinstance(value[name], wanted), (record, name, value[name])
            assert bool in wanted or not isinstance(value[name], bool), (record, name, value[name])


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
    payments: list[dict[str, Any]] | tuple = (),
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


def assert_invariants(orch: _core.Orchestrator, cfg: dict[str, Any], *, costs_nonnegative: bool = True) -> None:
    """The invariants of docs/semantics.md#invariants plus the accounting identities tying logs to metrics.

    ``costs_nonnegative`` is dropped only when a fuzzed config carries negative cost rates.
    """
    ids = orch.get_agent_ids()
    states = orch.agent_states()
    for state in states:
        assert_matches_schema("agent_state", state)
    assert [a["id"] for a in states] == ids == [a["id"] for a in cfg["agent_configs"]]
    for state, agent in zip(states, cfg["agent_configs"], strict=True):
        assert state["opening_balance"] == agent["opening_balance"]
        assert state["credit_limit"] == (agent.get("credit_limit") or 0)  # absent or null: 0
    opening = np.array([a["opening_balance"] for a in states], dtype=np.int64)
    credit = np.array([a["credit_limit"] for a in states], dtype=np.int64)

    tl = orch.tick_log()
    assert_matches_schema("tick_log", tl)
    n_banks = len(ids)
    ticks_run = orch.current_tick()
    assert len(tl["tick"]) == ticks_run * n_banks
    if ticks_run:
        order = np.lexsort((tl["bank"], tl["tick"]))
        tick_col = tl["tick"][order].reshape(ticks_run, n_banks)
        bank_col = tl["bank"][order].reshape(ticks_run, n_banks)
        assert (tick_col == np.arange(ticks_run)[:, None]).all(), "one row per tick and bank"
        assert (bank_col == np.arange(n_banks)[None, :]).all(), "one row per tick and bank"
        bal = tl["balance"][order].astype(np.int64).reshape(ticks_run, n_banks)
        assert (bal.sum(axis=1) == opening.sum()).all(), "sum of balances must be constant"
        assert (bal >= -credit[None, :]).all(), "a balance went below -credit_limit"
        assert (tl["credit_used"][order].reshape(ticks_run, n_banks) == np.maximum(0, -bal)).all()
        sent = tl["value_sent"].astype(np.int64).sum()
        received = tl["value_received"].astype(np.int64).sum()
        assert sent == received
    assert sum(a["queue2_size"] for a in states) == orch.get_queue2_size()
    assert all(a["queue1_size"] == orch.get_queue1_size(a["id"]) for a in states)
    final = np.array([orch.get_agent_balance(i) for i in ids], dtype=np.int64)
    assert final.tolist() == [a["balance"] for a in states]
    assert final.sum() == opening.sum()
    assert (final >= -credit).all()

    tx = orch.transaction_log()
    assert_matches_schema("transaction_log", tx)
    status = np.array(_core.STATUS_NAMES)[tx["status"]]
    amount = tx["amount"].astype(np.int64)
    assert (amount > 0).all()
    assert (tx["sender"] != tx["receiver"]).all()
    assert np.array_equal(tx["tx_id"], np.sort(tx["tx_id"])) and len(set(tx["tx_id"].tolist())) == len(amount)
    settled = status == "settled"
    dropped = status == "dropped"
    queued = np.isin(status, ["queue1", "queue2"])
    split = status == "split"
    live = ~split
    assert (settled | dropped | queued | split).all()
    assert (status == "queue1").sum() == sum(a["queue1_size"] for a in states)
    assert (status == "queue2").sum() == orch.get_queue2_size()
    assert (tx["settle_tick"][settled] >= tx["arrival_tick"][settled]).all()
    assert (tx["settle_tick"][~settled] == -1).all()
    assert (tx["settled_via"][settled] > 0).all() and (tx["settled_via"][~settled] == 0).all()
    assert (tx["drop_reason"][dropped] > 0).all() and (tx["drop_reason"][~dropped] == 0).all()
    assert (tx["drop_tick"][dropped] >= tx["arrival_tick"][dropped]).all()
    assert (tx["deadline_tick"] >= tx["arrival_tick"]).all()
    assert ((tx["priority"] >= 0) & (tx["priority"] <= 10)).all()
    # split parents are replaced by parts whose amounts add up to the parent
    parents = tx["tx_id"][split]
    for parent, parent_amount in zip(parents.tolist(), amount[split].tolist()):
        parts = tx["parent_id"] == parent
        assert parts.sum() >= 2 and amount[parts].sum() == parent_amount
    # each payment settled at most once: final balances are opening plus settled flows
    flows = np.zeros(n_banks, dtype=np.int64)
    np.add.at(flows, tx["receiver"][settled], amount[settled])
    np.subtract.at(flows, tx["sender"][settled], amount[settled])
    assert np.array_equal(final, opening + flows), "final balances disagree with settled payments"
    if ticks_run:
        assert sent == amount[settled].sum()

    m = orch.metrics()
    assert_matches_schema("metrics", m)
    # Counts are per original payment: a split one is settled when all its parts are, dropped if
    # any part was dropped.
    original = tx["parent_id"] == -1
    o_settled, o_dropped, o_reason = settled.copy(), dropped.copy(), tx["drop_reason"].copy()
    for parent in tx["tx_id"][split].tolist():
        parts = tx["parent_id"] == parent
        o_dropped[parent] = dropped[parts].any()
        o_reason[parent] = tx["drop_reason"][parts][dropped[parts]][0] if o_dropped[parent] else 0
        o_settled[parent] = settled[parts].all()
    o_unsettled = original & ~o_settled & ~o_dropped
    assert m["n_payments"] == original.sum()
    assert m["value_payments"] == amount[original].sum() == amount[live].sum()
    assert m["n_settled"] == (original & o_settled).sum() and m["value_settled"] == amount[settled].sum()
    assert m["n_dropped"] == (original & o_dropped).sum()
    assert m["n_unsettled"] == o_unsettled.sum()
    assert m["n_payments"] == m["n_settled"] + m["n_dropped"] + m["n_unsettled"]
    assert m["n_split"] == split.sum()
    assert m["n_dropped"] == m["n_dropped_deadline"] + m["n_dropped_eod"] + m["n_dropped_policy"]
    via = np.array(_core.SETTLED_VIA_NAMES)[tx["settled_via"]]
    for means in MEANS:
        assert m[f"n_settled_{means}"] == (via == means).sum(), means
        assert m[f"value_settled_{means}"] == amount[via == means].sum(), means
    reason = np.array(_core.DROP_REASON_NAMES)[o_reason]
    for why in ("deadline", "eod", "policy"):
        assert m[f"n_dropped_{why}"] == (original & o_dropped & (reason == why)).sum(), why
    if m["n_payments"]:
        assert np.isclose(m["settlement_rate"], m["n_settled"] / m["n_payments"])
        assert np.isclose(m["value_settlement_rate"], m["value_settled"] / m["value_payments"])
    # undefined (None) when no value could have been delayed, e.g. no payments at all
    assert m["delay_indicator"] is None or 0.0 <= m["delay_indicator"] <= 1.0 + 1e-12
    assert m["delay_indicator"] is not None or m["n_payments"] == 0 or (tx["arrival_tick"][live] % max(1, orch.ticks_per_day()) == orch.ticks_per_day() - 1).all()
    assert m["liquidity_lower_bound"] <= m["liquidity_upper_bound"]
    assert m["ticks_run"] == ticks_run
    assert m["engine_version"] == _core.ENGINE_VERSION and m["schema_version"] == _core.SCHEMA_VERSION
    costs = [m[c] for c in COST_COLUMNS]
    assert np.isclose(m["cost_total"], sum(costs), rtol=1e-9, atol=1e-9)
    for column in COST_COLUMNS:
        assert np.isclose(tl[column].sum(), m[column], rtol=1e-9, atol=1e-9), column
        assert not costs_nonnegative or (tl[column] >= 0).all(), column
    for means in MEANS:
        assert tl[f"settled_{means}"].astype(np.int64).sum() == m[f"n_settled_{means}"], means

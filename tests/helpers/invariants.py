"""The one oracle every engine property and fuzz test uses: the invariants of docs/semantics.md#invariants
plus the accounting identities tying the logs to the metrics, written from the rules (not from the engine's code).

``assert_invariants`` checks, in order: agent states against the config; the tick log (one row per tick and
bank, constant sum of balances, no balance below -credit_limit); the transaction log (statuses, ticks, codes,
split parts adding up to their parent); final balances = opening + settled flows (so each payment settles
once); every metric recomputed from the logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from paysim_runner import _core
from tests.helpers.engine import COST_COLUMNS, MEANS

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
            if bool not in wanted:  # bool is an int in Python: an int field must not hold one
                assert not isinstance(value[name], bool), (record, name, value[name])


@dataclass(frozen=True)
class Outcomes:
    """The transaction log decoded into one boolean mask per final status."""

    status: np.ndarray
    amount: np.ndarray
    settled: np.ndarray
    dropped: np.ndarray
    queued: np.ndarray
    split: np.ndarray

    @classmethod
    def of(cls, tx: dict[str, np.ndarray]) -> Outcomes:
        status = np.array(_core.STATUS_NAMES)[tx["status"]]
        return cls(
            status=status,
            amount=tx["amount"].astype(np.int64),
            settled=status == "settled",
            dropped=status == "dropped",
            queued=np.isin(status, ["queue1", "queue2"]),
            split=status == "split",
        )

    @property
    def live(self) -> np.ndarray:
        """Payments still to be paid: split parents are replaced by their parts."""
        return ~self.split


def assert_invariants(orch: _core.Orchestrator, cfg: dict[str, Any], *, costs_nonnegative: bool = True) -> None:
    """Every invariant and accounting identity listed in the module docstring, after any number of ticks.

    ``costs_nonnegative`` is dropped only when a fuzzed config carries negative cost rates.
    """
    states = _assert_agents_match_config(orch, cfg)
    opening = np.array([a["opening_balance"] for a in states], dtype=np.int64)
    credit = np.array([a["credit_limit"] for a in states], dtype=np.int64)
    tl = orch.tick_log()
    _assert_tick_log(orch, tl, opening, credit)
    final = _assert_final_balances(orch, states, opening, credit)

    tx = orch.transaction_log()
    outcomes = Outcomes.of(tx)
    _assert_transaction_log(orch, tx, outcomes, states)
    _assert_split_parts_add_up(tx, outcomes)
    _assert_settled_once(tx, outcomes, opening, final)
    if orch.current_tick():
        sent = tl["value_sent"].astype(np.int64).sum()
        assert sent == outcomes.amount[outcomes.settled].sum(), "value_sent disagrees with settled payments"

    m = orch.metrics()
    assert_matches_schema("metrics", m)
    _assert_counts(m, tx, outcomes)
    _assert_rates_and_bounds(orch, m, tx, outcomes)
    _assert_costs(m, tl, costs_nonnegative=costs_nonnegative)


def _assert_agents_match_config(orch: _core.Orchestrator, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    states = orch.agent_states()
    for state in states:
        assert_matches_schema("agent_state", state)
    ids = orch.get_agent_ids()
    assert [a["id"] for a in states] == ids
    assert ids == [a["id"] for a in cfg["agent_configs"]]
    for state, agent in zip(states, cfg["agent_configs"], strict=True):
        assert state["opening_balance"] == agent["opening_balance"]
        assert state["credit_limit"] == (agent.get("credit_limit") or 0)  # absent or null: 0
    assert sum(a["queue2_size"] for a in states) == orch.get_queue2_size()
    for state in states:
        assert state["queue1_size"] == orch.get_queue1_size(state["id"]), state["id"]
    return states


def _assert_tick_log(
    orch: _core.Orchestrator, tl: dict[str, np.ndarray], opening: np.ndarray, credit: np.ndarray
) -> None:
    assert_matches_schema("tick_log", tl)
    n_banks = len(opening)
    ticks_run = orch.current_tick()
    assert len(tl["tick"]) == ticks_run * n_banks
    if not ticks_run:
        return
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


def _assert_final_balances(
    orch: _core.Orchestrator, states: list[dict[str, Any]], opening: np.ndarray, credit: np.ndarray
) -> np.ndarray:
    final = np.array([orch.get_agent_balance(i) for i in orch.get_agent_ids()], dtype=np.int64)
    assert final.tolist() == [a["balance"] for a in states]
    assert final.sum() == opening.sum()
    assert (final >= -credit).all()
    return final


def _assert_transaction_log(
    orch: _core.Orchestrator, tx: dict[str, np.ndarray], o: Outcomes, states: list[dict[str, Any]]
) -> None:
    assert_matches_schema("transaction_log", tx)
    assert (o.amount > 0).all()
    assert (tx["sender"] != tx["receiver"]).all()
    assert np.array_equal(tx["tx_id"], np.sort(tx["tx_id"])), "tx_id in order"
    assert len(set(tx["tx_id"].tolist())) == len(o.amount), "tx_id unique"
    assert (o.settled | o.dropped | o.queued | o.split).all()
    assert (o.status == "queue1").sum() == sum(a["queue1_size"] for a in states)
    assert (o.status == "queue2").sum() == orch.get_queue2_size()
    assert (tx["settle_tick"][o.settled] >= tx["arrival_tick"][o.settled]).all()
    assert (tx["settle_tick"][~o.settled] == -1).all()
    assert (tx["settled_via"][o.settled] > 0).all()
    assert (tx["settled_via"][~o.settled] == 0).all()
    assert (tx["drop_reason"][o.dropped] > 0).all()
    assert (tx["drop_reason"][~o.dropped] == 0).all()
    assert (tx["drop_tick"][o.dropped] >= tx["arrival_tick"][o.dropped]).all()
    assert (tx["deadline_tick"] >= tx["arrival_tick"]).all()
    assert (tx["priority"] >= 0).all()
    assert (tx["priority"] <= 10).all()


def _assert_split_parts_add_up(tx: dict[str, np.ndarray], o: Outcomes) -> None:
    """Split parents are replaced by at least two parts whose amounts add up to the parent."""
    for parent, parent_amount in zip(tx["tx_id"][o.split].tolist(), o.amount[o.split].tolist(), strict=True):
        parts = tx["parent_id"] == parent
        assert parts.sum() >= 2, parent
        assert o.amount[parts].sum() == parent_amount, parent


def _assert_settled_once(tx: dict[str, np.ndarray], o: Outcomes, opening: np.ndarray, final: np.ndarray) -> None:
    """Each payment settled at most once: final balances are opening plus settled flows."""
    flows = np.zeros(len(opening), dtype=np.int64)
    np.add.at(flows, tx["receiver"][o.settled], o.amount[o.settled])
    np.subtract.at(flows, tx["sender"][o.settled], o.amount[o.settled])
    assert np.array_equal(final, opening + flows), "final balances disagree with settled payments"


def _assert_counts(m: dict[str, Any], tx: dict[str, np.ndarray], o: Outcomes) -> None:
    """Counts are per original payment: a split one is settled when all its parts are, dropped if any
    part was dropped (docs/semantics.md#invariants)."""
    original = tx["parent_id"] == -1
    o_settled, o_dropped, o_reason = o.settled.copy(), o.dropped.copy(), tx["drop_reason"].copy()
    for parent in tx["tx_id"][o.split].tolist():
        parts = tx["parent_id"] == parent
        o_dropped[parent] = o.dropped[parts].any()
        o_reason[parent] = tx["drop_reason"][parts][o.dropped[parts]][0] if o_dropped[parent] else 0
        o_settled[parent] = o.settled[parts].all()
    assert m["n_payments"] == original.sum()
    assert m["value_payments"] == o.amount[original].sum()
    assert m["value_payments"] == o.amount[o.live].sum()
    assert m["n_settled"] == (original & o_settled).sum()
    assert m["value_settled"] == o.amount[o.settled].sum()
    assert m["n_dropped"] == (original & o_dropped).sum()
    assert m["n_unsettled"] == (original & ~o_settled & ~o_dropped).sum()
    assert m["n_payments"] == m["n_settled"] + m["n_dropped"] + m["n_unsettled"]
    assert m["n_split"] == o.split.sum()
    assert m["n_dropped"] == m["n_dropped_deadline"] + m["n_dropped_eod"] + m["n_dropped_policy"]
    via = np.array(_core.SETTLED_VIA_NAMES)[tx["settled_via"]]
    for means in MEANS:
        assert m[f"n_settled_{means}"] == (via == means).sum(), means
        assert m[f"value_settled_{means}"] == o.amount[via == means].sum(), means
    reason = np.array(_core.DROP_REASON_NAMES)[o_reason]
    for why in ("deadline", "eod", "policy"):
        assert m[f"n_dropped_{why}"] == (original & o_dropped & (reason == why)).sum(), why


def _assert_rates_and_bounds(
    orch: _core.Orchestrator, m: dict[str, Any], tx: dict[str, np.ndarray], o: Outcomes
) -> None:
    if m["n_payments"]:
        assert np.isclose(m["settlement_rate"], m["n_settled"] / m["n_payments"])
        assert np.isclose(m["value_settlement_rate"], m["value_settled"] / m["value_payments"])
    if m["delay_indicator"] is not None:
        assert 0.0 <= m["delay_indicator"] <= 1.0 + 1e-12
    elif m["n_payments"]:
        # undefined (None) only when no value could have been delayed: every live payment arrived in
        # the last tick of its day
        per_day = orch.ticks_per_day()
        assert (tx["arrival_tick"][o.live] % max(1, per_day) == per_day - 1).all(), "delay_indicator is None"
    assert m["liquidity_lower_bound"] <= m["liquidity_upper_bound"]
    assert m["ticks_run"] == orch.current_tick()
    assert m["engine_version"] == _core.ENGINE_VERSION
    assert m["schema_version"] == _core.SCHEMA_VERSION


def _assert_costs(m: dict[str, Any], tl: dict[str, np.ndarray], *, costs_nonnegative: bool) -> None:
    """Cost components add up to the total and are the sums of their tick_log columns."""
    assert np.isclose(m["cost_total"], sum(m[c] for c in COST_COLUMNS), rtol=1e-9, atol=1e-9)
    for column in COST_COLUMNS:
        assert np.isclose(tl[column].sum(), m[column], rtol=1e-9, atol=1e-9), column
        if costs_nonnegative:
            assert (tl[column] >= 0).all(), column
    for means in MEANS:
        assert tl[f"settled_{means}"].astype(np.int64).sum() == m[f"n_settled_{means}"], means

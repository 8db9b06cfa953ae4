"""The one oracle every engine property and fuzz test uses: the invariants of docs/semantics.md#invariants
plus the accounting identities tying the logs to the metrics, written from the rules (not from the engine's code).

``assert_invariants`` checks, in order: the event log against the config's ``events`` (what each did, and
central-bank loans only at a close under ``end_of_day.unsettled: borrow``); agent states against the config
and the credit lines events set; the tick log (one row per tick and bank, sum of balances = opening +
injections so far, no payment taking a balance below -(the credit line then in force) beyond what the
central bank lent); the transaction log (statuses, ticks, codes, split parts adding up to their parent,
nothing leaving an out bank's Queue 1 but at a close with borrowing); final balances = opening + settled
flows + transfers (so each payment settles once); every metric recomputed from the logs.
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


_EVENT_TYPES = list(_core.CODES["event_type"])


@dataclass(frozen=True)
class EventEffects:
    """What scenario events and central-bank loans did, from the event log, per tick run (rows) and bank."""

    moved: np.ndarray  # money transfers and injections moved into (+) or out of (-) each bank at step 0
    injected: np.ndarray  # (ticks,) central-bank injections: new money
    credit: np.ndarray  # the credit line in force during the tick (config, then credit_limit events)
    lent: np.ndarray  # central-bank loans at the tick's close
    credit_now: np.ndarray  # (banks,) the line in force for the next tick

    @classmethod
    def of(cls, log: dict[str, np.ndarray], config_credit: np.ndarray, ticks: int) -> EventEffects:
        banks = len(config_credit)
        moved, lent = np.zeros((ticks, banks), np.int64), np.zeros((ticks, banks), np.int64)
        injected = np.zeros(ticks, np.int64)
        changes = np.full((ticks, banks), -1, np.int64)  # a new line from this tick on; -1: none
        for tick, kind, bank, payer, amount in zip(log["tick"].tolist(), log["event_type"].tolist(),
                                                   log["bank"].tolist(), log["counterparty"].tolist(),
                                                   log["amount"].tolist(), strict=True):
            name = _EVENT_TYPES[kind]
            if name in ("transfer", "injection"):
                moved[tick, bank] += amount
                if name == "transfer":
                    moved[tick, payer] -= amount
                else:
                    injected[tick] += amount
            elif name == "credit_limit":
                changes[tick, bank] = amount
            elif name == "eod_borrowing":
                lent[tick, bank] += amount
        credit, line = np.zeros((ticks, banks), np.int64), config_credit.astype(np.int64)
        for tick in range(ticks):
            line = np.where(changes[tick] >= 0, changes[tick], line)
            credit[tick] = line
        return cls(moved=moved, injected=injected, credit=credit, lent=lent, credit_now=line)


def assert_invariants(orch: _core.Orchestrator, cfg: dict[str, Any], *, costs_nonnegative: bool = True) -> None:
    """Every invariant and accounting identity listed in the module docstring, after any number of ticks.

    ``costs_nonnegative`` is dropped only when a fuzzed config carries negative cost rates.
    """
    config_credit = np.array([a.get("credit_limit") or 0 for a in cfg["agent_configs"]], dtype=np.int64)
    log = orch.event_log()
    _assert_event_log(orch, cfg, log)
    effects = EventEffects.of(log, config_credit, orch.current_tick())
    states = _assert_agents_match_config(orch, cfg, effects)
    opening = np.array([a["opening_balance"] for a in states], dtype=np.int64)
    tl = orch.tick_log()
    last = _assert_tick_log(orch, tl, opening, effects)
    final = _assert_final_balances(orch, states, opening if last is None else last, effects)

    tx = orch.transaction_log()
    outcomes = Outcomes.of(tx)
    _assert_transaction_log(orch, tx, outcomes, states)
    _assert_outages_hold_queue1(orch, cfg, tx)
    _assert_split_parts_add_up(tx, outcomes)
    _assert_settled_once(tx, outcomes, opening + effects.moved.sum(axis=0), final)
    if orch.current_tick():
        sent = tl["value_sent"].astype(np.int64).sum()
        assert sent == outcomes.amount[outcomes.settled].sum(), "value_sent disagrees with settled payments"

    m = orch.metrics()
    assert_matches_schema("metrics", m)
    _assert_counts(m, tx, outcomes)
    _assert_rates_and_bounds(orch, m, tx, outcomes)
    _assert_costs(m, tl, costs_nonnegative=costs_nonnegative)


def _expected_event_rows(orch: _core.Orchestrator, cfg: dict[str, Any]) -> list[tuple[int, ...]]:
    """(tick, event, type code, bank, counterparty, amount) of every config event's rows in the ticks
    run, in the order they happen: by tick, then config order (docs/semantics.md#scenario-events)."""
    ids, code = orch.get_agent_ids(), _EVENT_TYPES.index
    index = {bank_id: i for i, bank_id in enumerate(ids)}
    rows = []
    for i, event in enumerate(cfg.get("events") or []):
        kind = event["type"]
        if kind in ("outage", "arrival_surge"):
            bank = index[event["bank"]] if event.get("bank") is not None else -1
            prefix = "outage" if kind == "outage" else "surge"
            rows += [(event["start_tick"], i, code(f"{prefix}_start"), bank, -1, -1),
                     (event["end_tick"] + 1, i, code(f"{prefix}_end"), bank, -1, -1)]
        elif kind == "credit_limit":
            rows.append((event["tick"], i, code("credit_limit"), index[event["bank"]], -1, event["credit_limit"]))
        elif event.get("from") is None:
            rows.append((event["tick"], i, code("injection"), index[event["to"]], -1, event["amount"]))
        else:
            rows.append((event["tick"], i, code("transfer"), index[event["to"]], index[event["from"]], event["amount"]))
    return sorted((r for r in rows if r[0] < orch.current_tick()), key=lambda r: (r[0], r[1]))


def _assert_event_log(orch: _core.Orchestrator, cfg: dict[str, Any], log: dict[str, np.ndarray]) -> None:
    """The log holds exactly the config events' rows, and loans (``event`` null) only at a close with
    ``end_of_day.unsettled: borrow``, each for a positive amount."""
    assert_matches_schema("event_log", log)
    rows = list(zip(*(log[name].tolist() for name, _ in _core.SCHEMAS["event_log"]), strict=True))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows), "event log out of tick order"
    assert [r for r in rows if r[1] != -1] == _expected_event_rows(orch, cfg)
    loans = [r for r in rows if r[1] == -1]
    borrow = (cfg.get("end_of_day") or {}).get("unsettled") == "borrow"
    assert not loans or borrow, "a central-bank loan without end_of_day.unsettled: borrow"
    per_day = orch.ticks_per_day()
    for tick, _, kind, bank, payer, amount in loans:
        assert (_EVENT_TYPES[kind], payer) == ("eod_borrowing", -1), (tick, bank)
        assert tick % per_day == per_day - 1, f"a loan at tick {tick}, not at a close"
        assert amount > 0, (tick, bank)


def _assert_agents_match_config(
    orch: _core.Orchestrator, cfg: dict[str, Any], effects: EventEffects
) -> list[dict[str, Any]]:
    states = orch.agent_states()
    for state in states:
        assert_matches_schema("agent_state", state)
    ids = orch.get_agent_ids()
    assert [a["id"] for a in states] == ids
    assert ids == [a["id"] for a in cfg["agent_configs"]]
    for state, agent, line in zip(states, cfg["agent_configs"], effects.credit_now.tolist(), strict=True):
        assert state["opening_balance"] == agent["opening_balance"]
        assert state["credit_limit"] == line  # the config's (absent or null: 0), or the last credit_limit event
    assert sum(a["queue2_size"] for a in states) == orch.get_queue2_size()
    for state in states:
        assert state["queue1_size"] == orch.get_queue1_size(state["id"]), state["id"]
    return states


def _assert_tick_log(
    orch: _core.Orchestrator, tl: dict[str, np.ndarray], opening: np.ndarray, effects: EventEffects
) -> np.ndarray | None:
    """The checks of the tick log; returns the balances it logged last (None before the first tick)."""
    assert_matches_schema("tick_log", tl)
    n_banks = len(opening)
    ticks_run = orch.current_tick()
    assert len(tl["tick"]) == ticks_run * n_banks
    if not ticks_run:
        return None
    order = np.lexsort((tl["bank"], tl["tick"]))
    tick_col = tl["tick"][order].reshape(ticks_run, n_banks)
    bank_col = tl["bank"][order].reshape(ticks_run, n_banks)
    assert (tick_col == np.arange(ticks_run)[:, None]).all(), "one row per tick and bank"
    assert (bank_col == np.arange(n_banks)[None, :]).all(), "one row per tick and bank"
    bal = tl["balance"][order].astype(np.int64).reshape(ticks_run, n_banks)
    money = opening.sum() + np.cumsum(effects.injected)
    assert (bal.sum(axis=1) == money).all(), "sum of balances must be opening + injections so far"
    # After step 0 (events) a balance may already lie below the line (a squeeze, a transfer out); a
    # payment out never takes it lower than the line or than that, but at a close by what is lent.
    after_events = np.vstack([opening[None, :], bal[:-1]]) + effects.moved
    floor = np.minimum(-effects.credit, after_events) - effects.lent
    below = np.argwhere(bal < floor)
    assert not len(below), f"(tick, bank) {below[0].tolist()} paid below -(its credit line then in force)"
    assert (tl["credit_used"][order].reshape(ticks_run, n_banks) == np.maximum(0, -bal)).all()
    sent = tl["value_sent"].astype(np.int64).sum()
    received = tl["value_received"].astype(np.int64).sum()
    assert sent == received
    last: np.ndarray = bal[-1]
    return last


def _assert_final_balances(
    orch: _core.Orchestrator, states: list[dict[str, Any]], last_logged: np.ndarray, effects: EventEffects
) -> np.ndarray:
    """Balances now are those the tick log logged last (the opening ones before the first tick), whose
    floor and sum it checked."""
    final = np.array([orch.get_agent_balance(i) for i in orch.get_agent_ids()], dtype=np.int64)
    assert final.tolist() == [a["balance"] for a in states]
    assert final.tolist() == last_logged.tolist()
    assert final.sum() == sum(a["opening_balance"] for a in states) + effects.injected.sum()
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


def _assert_outages_hold_queue1(orch: _core.Orchestrator, cfg: dict[str, Any], tx: dict[str, np.ndarray]) -> None:
    """In [start_tick, end_tick] nothing leaves an out bank's Queue 1 but what the central bank
    settles at a close with borrowing (docs/semantics.md#scenario-events)."""
    index = {bank_id: i for i, bank_id in enumerate(orch.get_agent_ids())}
    at_close = tx["settled_via"] == _core.SETTLED_VIA_NAMES.index("eod_borrowing")
    for i, event in enumerate(cfg.get("events") or []):
        if event["type"] != "outage":
            continue
        sender = tx["sender"] == index[event["bank"]]
        released = (tx["release_tick"] >= event["start_tick"]) & (tx["release_tick"] <= event["end_tick"])
        assert not (sender & released & ~at_close).any(), f"events[{i}]: the out bank released a payment"


def _assert_split_parts_add_up(tx: dict[str, np.ndarray], o: Outcomes) -> None:
    """Split parents are replaced by at least two parts whose amounts add up to the parent."""
    for parent, parent_amount in zip(tx["tx_id"][o.split].tolist(), o.amount[o.split].tolist(), strict=True):
        parts = tx["parent_id"] == parent
        assert parts.sum() >= 2, parent
        assert o.amount[parts].sum() == parent_amount, parent


def _assert_settled_once(tx: dict[str, np.ndarray], o: Outcomes, opening: np.ndarray, final: np.ndarray) -> None:
    """Each payment settled at most once: final balances are ``opening`` (with what events moved)
    plus settled flows."""
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

"""hypothesis: random valid scenarios keep every invariant; random (mostly invalid) configs and
submissions end in a clean ValueError/KeyError/TypeError or a valid run, never a crash.

Valid scenarios switch the T2 rules, deferred crediting, the close with borrowing and scenario events
on at random (docs/semantics.md#t2-settlement-rules, #scenario-events), so the oracle's accounting of
injections, transfers, credit lines set by events and central-bank loans is exercised on every kind.
The engine's own proptests (native/engine/tests/events_properties.rs, t2_properties.rs) check its
internal state; these check what it reports through the extension."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.engine import COST_KEYS, Orchestrator, comparable_metrics, logs_equal
from tests.helpers.invariants import assert_invariants
from tests.helpers.outcomes import attempt

CLEAN_ERRORS = (ValueError, KeyError, TypeError)
def fast(examples: int) -> settings:
    """Small example counts keep the whole engine folder well under its ~90 s budget."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# The engine rejects all-whitespace ids (docs/semantics.md#banks-and-payments: ids are non-blank).
bank_ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6).filter(str.strip)

distributions = st.one_of(
    st.builds(lambda m, s: {"type": "Normal", "mean": m, "std_dev": s},
              st.integers(-1000, 50_000), st.integers(0, 20_000)),
    st.builds(lambda m, s: {"type": "LogNormal", "mean_log": m, "std_dev_log": s},
              st.floats(0, 11), st.floats(0, 2)),
    st.builds(lambda lo, w: {"type": "Uniform", "min": lo, "max": lo + w},
              st.integers(1, 10_000), st.integers(0, 10_000)),
    st.builds(lambda m: {"type": "Exponential", "mean": m}, st.floats(1, 20_000)),
)

policies = st.one_of(
    st.just({"type": "Fifo"}),
    st.builds(lambda k: {"type": "Deadline", "urgency_threshold": k}, st.integers(0, 30)),
    st.builds(lambda b, k: {"type": "LiquidityAware", "target_buffer": b, "urgency_threshold": k},
              st.integers(0, 50_000), st.integers(0, 30)),
    st.builds(lambda n, m: {"type": "Splitting", "max_parts": n, "min_part": m},
              st.integers(2, 6), st.integers(1, 5_000)),
)


RTGS_CLASSES = ["highly_urgent", "urgent", "normal"]


@st.composite
def scenario_events(draw: st.DrawFn, ids: list[str], total: int) -> list[dict[str, Any]]:
    """Up to five events of every type, on the scenario's banks and within its ticks."""
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 5))):
        bank, other = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
        start = draw(st.integers(0, total - 1))
        end = draw(st.integers(start, total - 1))
        kind = draw(st.sampled_from(["outage", "credit_limit", "transfer", "injection", "arrival_surge"]))
        if kind in ("transfer", "injection"):
            event: dict[str, Any] = {"type": "transfer", "to": bank, "amount": draw(st.sampled_from([1, 700, 30_000])),
                                     "tick": start}
            if kind == "transfer":
                event["from"] = other
        elif kind == "credit_limit":
            event = {"type": kind, "bank": bank, "tick": start, "credit_limit": draw(st.sampled_from([0, 500, 50_000]))}
        else:
            event = {"type": kind, "bank": bank, "start_tick": start, "end_tick": end}
            if kind == "arrival_surge":
                event["factor"] = draw(st.floats(0, 3))
                if draw(st.booleans()):
                    del event["bank"]  # every bank
        events.append(event)
    return events


@st.composite
def t2_rules(draw: st.DrawFn, bank_id: str, ids: list[str]) -> dict[str, Any]:
    """A bank's sender limits and reservations, each present or not."""
    rules: dict[str, Any] = {}
    amounts = st.sampled_from([0, 2_000, 40_000])
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from([o for o in ids if o != bank_id]), max_size=2, unique=True))
        rules["limits"] = {"bilateral": {o: draw(amounts) for o in chosen}}
        if draw(st.booleans()):
            rules["limits"]["multilateral"] = draw(amounts)
    if draw(st.booleans()):
        rules["reservations"] = {"highly_urgent": draw(amounts), "urgent": draw(amounts)}
    return rules


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(bank_ids, min_size=2, max_size=5, unique=True))
    ticks_per_day = draw(st.integers(1, 25))
    num_days = draw(st.integers(1, 3))
    total = ticks_per_day * num_days
    agents = []
    for bank_id in ids:
        agent: dict[str, Any] = {
            "id": bank_id,
            "opening_balance": draw(st.sampled_from([0, 100, 5_000, 40_000, 1_000_000])),
            "credit_limit": draw(st.sampled_from([0, 0, 1_000, 20_000])),
            "policy": draw(policies),
            **draw(t2_rules(bank_id, ids)),
        }
        if draw(st.booleans()):
            others = [o for o in ids if o != bank_id]
            arrivals: dict[str, Any] = {
                "rate_per_tick": draw(st.floats(0, 1.5)),
                "distribution": draw(distributions),
                "deadline_offset": draw(st.integers(0, 20)),
                "priority": draw(st.integers(0, 10)),
                "divisible": draw(st.booleans()),
            }
            if draw(st.booleans()):
                arrivals["rtgs_class"] = draw(st.sampled_from(RTGS_CLASSES))
            if draw(st.booleans()):
                chosen = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
                arrivals["counterparty_weights"] = {o: draw(st.floats(0.1, 5)) for o in chosen}
            agent["arrival_config"] = arrivals
        agents.append(agent)
    scheduled = []
    for _ in range(draw(st.integers(0, 8))):
        sender, receiver = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
        arrival = draw(st.integers(0, total - 1))
        payment: dict[str, Any] = {"sender": sender, "receiver": receiver,
                                   "amount": draw(st.integers(1, 60_000)), "arrival_tick": arrival}
        if draw(st.booleans()):
            payment["deadline_tick"] = arrival + draw(st.integers(0, 15))
        if draw(st.booleans()):
            payment["priority"] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            payment["divisible"] = draw(st.booleans())
        if draw(st.booleans()):
            payment["rtgs_class"] = draw(st.sampled_from(RTGS_CLASSES))
        scheduled.append(payment)
    cfg: dict[str, Any] = {
        "ticks_per_day": ticks_per_day,
        "num_days": num_days,
        "rng_seed": draw(st.integers(0, 2**64 - 1)),
        "agent_configs": agents,
        "cost_rates": {k: draw(st.sampled_from([0.0, 0.001, 1.0, 50.0])) for k in COST_KEYS},
        "lsm": {"mode": draw(st.sampled_from(["none", "bilateral", "cycles", "multilateral", "t2", "t2_classic"])),
                "max_cycle_length": draw(st.integers(2, 6)), "include_urgent": draw(st.booleans())},
        "rtgs": {"queue": draw(st.sampled_from(["fifo_bypass", "strict_fifo", "t2"])),
                 "crediting": draw(st.sampled_from(["immediate", "deferred"]))},
        "drop_expired": draw(st.booleans()),
        "end_of_day": {"unsettled": draw(st.sampled_from(["drop", "carry", "borrow"]))},
    }
    if scheduled:
        cfg["scheduled_payments"] = scheduled
    if draw(st.booleans()):
        cfg["events"] = draw(scenario_events(ids, total))
    return cfg


@fast(150)
@given(cfg=valid_configs())
def test_random_valid_scenarios_keep_every_invariant(cfg: dict[str, Any]) -> None:
    orch = Orchestrator.new(cfg)
    orch.run()
    assert orch.is_finished()
    assert_invariants(orch, cfg)


@fast(40)
@given(cfg=valid_configs(), stop=st.integers(0, 80))
def test_random_scenarios_are_deterministic_and_resumable(cfg: dict[str, Any], stop: int) -> None:
    straight = Orchestrator.new(cfg)
    straight.run()
    paused = Orchestrator.new(cfg)
    for _ in range(min(stop, paused.total_ticks())):
        paused.tick()
    resumed = Orchestrator.load_state(paused.save_state())
    resumed.run()
    assert logs_equal(straight.transaction_log(), resumed.transaction_log())
    assert logs_equal(straight.tick_log(), resumed.tick_log())
    assert logs_equal(straight.event_log(), resumed.event_log())
    assert comparable_metrics(straight) == comparable_metrics(resumed)


# ---------------------------------------------------------------- hostile input

WEIRD = st.sampled_from([
    None, -1, 0, 1, 2, 11, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30,
    0.5, -0.5, 1e300, float("nan"), float("inf"), float("-inf"),
    "", "x", "Fifo", "t2", "carry", "\x00", "B0", [], [1], [{}], {}, {"type": "Fifo"}, True, False, b"bytes",
])


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every addressable location of a config: dict keys and list items, nested."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*prefix, i))
    return found


@st.composite
def hostile_configs(draw: st.DrawFn) -> dict[str, Any]:
    cfg = copy.deepcopy(draw(valid_configs()))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(cfg)))
        parent: Any = cfg
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["set", "set", "delete", "extra_key"]))
        if action == "set":
            parent[where[-1]] = draw(WEIRD)
        elif action == "delete":
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "Type", "rate", "balance", "id "]))] = draw(WEIRD)
    return cfg


def exercise(orch: Orchestrator) -> None:
    """Run a constructed engine a bounded amount and read everything back."""
    if orch.total_ticks() <= 200:
        orch.run()
    else:
        for _ in range(50):
            orch.tick()
    orch.metrics()
    orch.tick_log()
    orch.transaction_log()
    orch.agent_states()
    Orchestrator.load_state(orch.save_state())


def rates_nonnegative(cfg: Any) -> bool:
    rates = cfg.get("cost_rates") if isinstance(cfg, dict) else None
    if not isinstance(rates, dict):
        return True
    return all(not isinstance(v, (int, float)) or (not math.isnan(v) and v >= 0) for v in rates.values())


@pytest.mark.slow  # 200 hostile configs, each run when accepted: 2-5 s
@fast(200)
@given(cfg=hostile_configs())
def test_hostile_configs_fail_cleanly_or_run_validly(cfg: dict[str, Any]) -> None:
    orch = attempt(lambda: Orchestrator.new(cfg), CLEAN_ERRORS)
    if isinstance(orch, Exception):
        assert str(orch), "errors must say what is wrong"
        return
    exercise(orch)
    assert_invariants(orch, cfg, costs_nonnegative=rates_nonnegative(cfg))


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


@fast(100)
@given(cfg=st.dictionaries(
    st.sampled_from(["ticks_per_day", "num_days", "rng_seed", "agent_configs", "lsm", "rtgs", "cost_rates",
                     "scheduled_payments", "end_of_day", "drop_expired", "junk"]),
    json_like, max_size=6))
def test_arbitrary_dicts_fail_cleanly(cfg: dict[str, Any]) -> None:
    try:
        orch = Orchestrator.new(cfg)
    except CLEAN_ERRORS:
        return
    exercise(orch)  # an accepted config must be a runnable one


SUBMIT_KEYS = ["sender", "receiver", "amount", "deadline_offset", "priority", "divisible", "memo"]


@fast(200)
@given(
    txs=st.lists(
        st.dictionaries(st.sampled_from(SUBMIT_KEYS),
                        st.one_of(WEIRD, st.sampled_from(["A", "B", "C", "Z"]), st.integers(-5, 5_000)),
                        max_size=7),
        max_size=6,
    ),
    ticks_between=st.integers(0, 3),
)
def test_hostile_submissions_fail_cleanly_or_enter_queue1(txs: list[dict[str, Any]], ticks_between: int) -> None:
    cfg = {
        "ticks_per_day": 10, "num_days": 1, "rng_seed": 3,
        "agent_configs": [
            {"id": b, "opening_balance": 2_000, "credit_limit": 500,
             "policy": {"type": "Splitting", "max_parts": 3, "min_part": 10}} for b in ("A", "B", "C")
        ],
        "lsm": {"mode": "t2"},
    }
    orch = Orchestrator.new(cfg)
    accepted = 0
    for tx in txs:
        try:
            tx_id = orch.submit_transaction(tx)
        except CLEAN_ERRORS:
            continue
        assert isinstance(tx_id, str)
        accepted += 1
        for _ in range(ticks_between):
            if not orch.is_finished():
                orch.tick()
    orch.run()
    assert (orch.transaction_log()["parent_id"] == -1).sum() == accepted
    assert_invariants(orch, cfg)

"""T2 settlement rules through the extension and the scenario schema (docs/semantics.md#t2-settlement-rules):
classes, sender limits and reservations settle as worked out by hand, and bad values are named by their field
path in the engine dict and in the scenario YAML."""

from __future__ import annotations

from typing import Any

import pytest

from paysim_runner import _core
from paysim_runner.config import ConfigError, config_from_mapping
from tests.helpers.engine import bank, build, pay


def three_banks(**rules: dict[str, Any]) -> dict[str, Any]:
    """A holds 100, B and C nothing; ``rules`` are A's limits or reservations."""
    return {
        "ticks_per_day": 5,
        "rng_seed": 1,
        "lsm": {"mode": "none"},
        "agent_configs": [{**bank("A", 100), **rules}, bank("B"), bank("C")],
    }


def statuses(orch: _core.Orchestrator) -> list[str]:
    log = orch.transaction_log()
    return [_core.STATUS_NAMES[code] for code in log["status"]]


def test_a_bilateral_limit_holds_what_would_settle_without_it() -> None:
    free = three_banks()
    limited = three_banks(limits={"bilateral": {"B": 50}})
    for cfg in (free, limited):
        cfg["scheduled_payments"] = [pay("A", "B", 80)]
    settled, held = build(free), build(limited)
    settled.tick()
    held.tick()
    assert statuses(settled) == ["settled"]
    assert statuses(held) == ["queue2"]


def test_a_reservation_holds_a_normal_payment_and_lets_an_urgent_one_through() -> None:
    cfg = three_banks(reservations={"urgent": 60})
    cfg["scheduled_payments"] = [pay("A", "B", 50), {**pay("A", "C", 50), "rtgs_class": "urgent"}]
    orch = build(cfg)
    orch.tick()
    assert statuses(orch) == ["queue2", "settled"]


def test_a_submission_may_name_its_class() -> None:
    orch = build(three_banks(reservations={"highly_urgent": 100}))
    orch.submit_transaction({"sender": "A", "receiver": "B", "amount": 100, "rtgs_class": "highly_urgent"})
    orch.submit_transaction({"sender": "A", "receiver": "C", "amount": 1})
    orch.tick()
    assert statuses(orch) == ["settled", "queue2"]


def test_a_submission_with_an_unknown_class_is_refused_at_the_field() -> None:
    orch = build(three_banks())
    with pytest.raises(_core.InvalidPaymentError) as info:
        orch.submit_transaction({"sender": "A", "receiver": "B", "amount": 1, "rtgs_class": "high"})
    assert tuple(info.value.loc) == ("rtgs_class",)


@pytest.mark.parametrize(
    ("rules", "loc", "problem"),
    [
        ({"limits": {"bilateral": {"X": 5}}}, ("agent_configs", 2, "limits", "bilateral", "X"), "unknown bank 'X'"),
        ({"limits": {"multilateral": -1}}, ("agent_configs", 2, "limits", "multilateral"), "must be between 0"),
        ({"reservations": {"urgent": -3}}, ("agent_configs", 2, "reservations", "urgent"), "must be between 0"),
        ({"reservations": {"normal": 3}}, ("agent_configs", 2, "reservations", "normal"), "unknown key"),
    ],
)
def test_bad_rules_in_the_engine_dict_name_their_field(
    rules: dict[str, Any], loc: tuple[Any, ...], problem: str
) -> None:
    cfg = three_banks()
    cfg["agent_configs"][2].update(rules)
    with pytest.raises(_core.ConfigError) as info:
        _core.validate_config(cfg)
    assert tuple(info.value.loc) == loc
    assert problem in info.value.problem


def scenario(**rules: Any) -> dict[str, Any]:
    return {
        "simulation": {"ticks_per_day": 10, "seed": 3},
        "agents": [{"id": bank_id, "balance": 100, "policy": {"type": "Fifo"}} for bank_id in ("A", "B", "C")],
        **rules,
    }


@pytest.mark.parametrize(
    ("patch", "path", "problem"),
    [
        (lambda d: d["agents"][2].update(limits={"bilateral": {"X": 5}}), "agents[2].limits.bilateral.X",
         "unknown bank 'X'"),
        (lambda d: d["agents"][0].update(reservations={"highly_urgent": -1}), "agents[0].reservations.highly_urgent",
         "must be between 0"),
        (lambda d: d.update(agent_groups=[{"id_prefix": "G", "count": 2, "balance": 5, "policy": {"type": "Fifo"},
                                           "limits": {"multilateral": -2}}]),
         "agent_groups[0].limits.multilateral", "(bank G0)"),
    ],
)
def test_bad_rules_in_a_scenario_name_the_scenario_field(patch: Any, path: str, problem: str) -> None:
    data = scenario()
    patch(data)
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, prefix="scenario")
    assert info.value.path == f"scenario.{path}"
    assert problem in info.value.problem


def test_a_scenario_carries_its_rules_to_the_engine() -> None:
    data = scenario(rtgs={"queue": "t2"}, lsm={"mode": "t2", "include_urgent": True})
    data["agents"][0].update(limits={"bilateral": {"B": 50}, "multilateral": 70}, reservations={"urgent": 10})
    engine = config_from_mapping(data).to_rust_dict()
    assert engine["agent_configs"][0]["limits"] == {"bilateral": {"B": 50}, "multilateral": 70}
    assert engine["agent_configs"][0]["reservations"] == {"urgent": 10}
    assert engine["rtgs"] == {"queue": "t2"}
    assert engine["lsm"]["include_urgent"] is True

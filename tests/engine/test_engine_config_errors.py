"""Invalid engine configs (docs/semantics.md#engine-configuration): each gives a ConfigError (a ValueError)
whose message names the field path first, e.g. ``agent_configs[1].policy.type``; unknown keys are rejected.
The design notes' checks, corrected per docs/testing.md#errors-in-the-design-notes."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from paysim_runner import _core
from tests.helpers.design_notes import two_agent_config
from tests.helpers.engine import Orchestrator, bank, build, pay, transactions
from tests.helpers.invariants import assert_invariants


def base_config() -> dict[str, Any]:
    """A valid config touching every optional section, so each mutation below isolates one fault."""
    return {
        "ticks_per_day": 10,
        "num_days": 2,
        "rng_seed": 1,
        "agent_configs": [
            bank("A", 1000, 100, arrivals={
                "rate_per_tick": 0.5,
                "distribution": {"type": "Normal", "mean": 100, "std_dev": 10},
                "counterparty_weights": {"B": 1.0},
                "deadline_offset": 5,
                "priority": 5,
                "divisible": False,
            }),
            bank("B", 1000, 0, policy={"type": "Deadline", "urgency_threshold": 3}),
        ],
        "scheduled_payments": [pay("A", "B", 50, 1, deadline=3, priority=5, divisible=False)],
        "cost_rates": {
            "liquidity_cost_per_unit_per_tick": 0.001,
            "delay_cost_per_tick": 0.0001,
            "collateral_cost_per_unit_per_tick": 0.00001,
            "split_friction_cost": 10.0,
            "deadline_penalty": 100.0,
            "eod_penalty": 500.0,
        },
        "lsm": {"mode": "t2", "max_cycle_length": 4},
        "rtgs": {"queue": "fifo_bypass"},
        "drop_expired": True,
        "end_of_day": {"unsettled": "drop"},
    }


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def mutate(cfg: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or, for value DELETE, remove) the item at a dotted/indexed path of a copy of cfg."""
    cfg = copy.deepcopy(cfg)
    steps = [int(i) if i else key for key, i in _STEP.findall(path)]
    node: Any = cfg
    for step in steps[:-1]:
        node = node[step]
    if value is DELETE:
        del node[steps[-1]]
    else:
        node[steps[-1]] = value
    return cfg


DELETE = object()

RATE_PER_TICK = r"agent_configs\[0\]\.arrival_config\.rate_per_tick"
# (path to change, new value, regex the error message must contain)
INVALID_VALUES: list[tuple[str, Any, str]] = [
    ("ticks_per_day", 0, r"ticks_per_day"),
    ("ticks_per_day", -5, r"ticks_per_day"),
    ("ticks_per_day", "ten", r"ticks_per_day"),
    ("ticks_per_day", DELETE, r"ticks_per_day"),
    ("num_days", 0, r"num_days"),
    ("rng_seed", -1, r"rng_seed"),
    ("rng_seed", 2**64, r"rng_seed"),
    ("agent_configs", "A,B", r"agent_configs"),
    ("agent_configs[0].id", "", r"agent_configs\[0\]\.id"),
    ("agent_configs[0].id", DELETE, r"agent_configs\[0\]\.id"),
    ("agent_configs[1].id", "A", r"agent_configs\[1\]\.id"),
    ("agent_configs[0].opening_balance", -1, r"agent_configs\[0\]\.opening_balance"),
    ("agent_configs[0].opening_balance", 1.5, r"agent_configs\[0\]\.opening_balance"),
    ("agent_configs[0].opening_balance", 2**63, r"agent_configs\[0\]\.opening_balance"),
    ("agent_configs[0].credit_limit", -1, r"agent_configs\[0\]\.credit_limit"),
    ("agent_configs[0].balance", 5, r"agent_configs\[0\].*balance"),
    ("agent_configs[1].policy.type", "Fifoo", r"agent_configs\[1\]\.policy\.type"),
    ("agent_configs[1].policy.urgency_threshold", DELETE, r"agent_configs\[1\]\.policy\.urgency_threshold"),
    ("agent_configs[1].policy.urgency_threshold", -1, r"agent_configs\[1\]\.policy\.urgency_threshold"),
    ("agent_configs[1].policy.target_buffer", 5, r"agent_configs\[1\]\.policy.*target_buffer"),
    ("agent_configs[0].policy", {"type": "Splitting", "max_parts": 0, "min_part": 10},
     r"agent_configs\[0\]\.policy\.max_parts"),
    ("agent_configs[0].policy", {"type": "Splitting", "max_parts": 3, "min_part": 0},
     r"agent_configs\[0\]\.policy\.min_part"),
    ("agent_configs[0].policy", {"type": "LiquidityAware", "urgency_threshold": 2},
     r"agent_configs\[0\]\.policy\.target_buffer"),
    ("agent_configs[0].arrival_config.rate_per_tick", -0.1, r"agent_configs\[0\]\.arrival_config\.rate_per_tick"),
    ("agent_configs[0].arrival_config.rate_per_tick", float("nan"), RATE_PER_TICK),
    ("agent_configs[0].arrival_config.rate_per_tick", float("inf"), RATE_PER_TICK),
    ("agent_configs[0].arrival_config.rate", 0.5, r"agent_configs\[0\]\.arrival_config.*rate"),
    ("agent_configs[0].arrival_config.distribution.type", "Poisson",
     r"agent_configs\[0\]\.arrival_config\.distribution\.type"),
    ("agent_configs[0].arrival_config.distribution.std_dev", -1,
     r"agent_configs\[0\]\.arrival_config\.distribution\.std_dev"),
    ("agent_configs[0].arrival_config.distribution", {"type": "Uniform", "min": 10, "max": 5},
     r"agent_configs\[0\]\.arrival_config\.distribution"),
    ("agent_configs[0].arrival_config.distribution", {"type": "Exponential", "mean": 0},
     r"agent_configs\[0\]\.arrival_config\.distribution\.mean"),
    ("agent_configs[0].arrival_config.distribution", {"type": "LogNormal", "mean_log": 1.0, "std_dev_log": -1.0},
     r"agent_configs\[0\]\.arrival_config\.distribution\.std_dev_log"),
    ("agent_configs[0].arrival_config.distribution", {"type": "Normal", "mean": 100},
     r"agent_configs\[0\]\.arrival_config\.distribution\.std_dev"),
    ("agent_configs[0].arrival_config.counterparty_weights", {"Z": 1.0},
     r"agent_configs\[0\]\.arrival_config\.counterparty_weights"),
    ("agent_configs[0].arrival_config.counterparty_weights", {"B": -1.0},
     r"agent_configs\[0\]\.arrival_config\.counterparty_weights"),
    ("agent_configs[0].arrival_config.counterparty_weights", {"A": 1.0},
     r"agent_configs\[0\]\.arrival_config\.counterparty_weights"),
    # receivers by size: never with listed weights (base_config lists them), sizes ≥ 0
    ("agent_configs[0].arrival_config.receivers_by_size", True,
     r"agent_configs\[0\]\.arrival_config\.receivers_by_size: cannot be combined with counterparty_weights"),
    ("agent_configs[0].arrival_config.receivers_by_size", "yes",
     r"agent_configs\[0\]\.arrival_config\.receivers_by_size"),
    ("agent_configs[0].size", -1.0, r"agent_configs\[0\]\.size: must be ≥ 0"),
    ("agent_configs[0].size", "big", r"agent_configs\[0\]\.size"),
    ("agent_configs[0].arrival_config.deadline_offset", -1, r"agent_configs\[0\]\.arrival_config\.deadline_offset"),
    ("agent_configs[0].arrival_config.priority", 11, r"agent_configs\[0\]\.arrival_config\.priority"),
    ("agent_configs[0].arrival_config.divisible", "no", r"agent_configs\[0\]\.arrival_config\.divisible"),
    ("scheduled_payments[0].sender", "Z", r"scheduled_payments\[0\]\.sender"),
    ("scheduled_payments[0].receiver", "A", r"scheduled_payments\[0\]"),
    ("scheduled_payments[0].amount", 0, r"scheduled_payments\[0\]\.amount"),
    ("scheduled_payments[0].amount", DELETE, r"scheduled_payments\[0\]\.amount"),
    ("scheduled_payments[0].arrival_tick", -1, r"scheduled_payments\[0\]\.arrival_tick"),
    ("scheduled_payments[0].deadline_tick", 0, r"scheduled_payments\[0\]\.deadline_tick"),
    ("scheduled_payments[0].priority", 11, r"scheduled_payments\[0\]\.priority"),
    ("scheduled_payments[0].memo", "x", r"scheduled_payments\[0\].*memo"),
    ("scheduled_payments_file", "/nonexistent/payments.parquet", r"scheduled_payments_file"),
    ("cost_rates.delay_cost_per_tick", "cheap", r"cost_rates\.delay_cost_per_tick"),
    ("cost_rates.overdraft_fee", 1.0, r"cost_rates.*overdraft_fee"),
    ("lsm.mode", "gross", r"lsm\.mode"),
    ("lsm.max_cycle_length", 0, r"lsm\.max_cycle_length"),
    ("lsm.window", 3, r"lsm.*window"),
    ("rtgs.queue", "lifo", r"rtgs\.queue"),
    ("end_of_day.unsettled", "keep", r"end_of_day\.unsettled"),
    ("drop_expired", "yes", r"drop_expired"),
    ("tick_per_day", 10, r"tick_per_day"),
]


def test_base_config_is_valid() -> None:
    cfg = base_config()
    orch = build(cfg)
    orch.run()
    assert_invariants(orch, cfg)


@pytest.mark.parametrize(
    ("path", "value", "message"), INVALID_VALUES, ids=[f"{p}={v!r}"[:60] for p, v, _ in INVALID_VALUES]
)
def test_invalid_config_value_names_its_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Orchestrator.new(mutate(base_config(), path, value))
    assert isinstance(caught.value, _core.ConfigError)


def test_seed_invalid_config_message_names_ticks_per_day() -> None:
    """The design notes matched 'ticks_per_day must be positive'; errors name the field path first
    (docs/semantics.md#engine-configuration)."""
    cfg = two_agent_config()
    cfg["ticks_per_day"] = 0
    with pytest.raises(ValueError, match=r"^ticks_per_day"):
        Orchestrator.new(cfg)


def test_unknown_policy_message_matches_spec_example() -> None:
    cfg = mutate(base_config(), "agent_configs[1].policy", {"type": "Fifoo"})
    with pytest.raises(ValueError, match=r"^agent_configs\[1\]\.policy\.type: ") as caught:
        Orchestrator.new(cfg)
    message = str(caught.value)
    assert "Fifoo" in message
    for name in ("Fifo", "Deadline", "LiquidityAware", "Splitting"):
        assert name in message


def test_config_that_is_not_a_dict_is_rejected_cleanly() -> None:
    for bad in (None, 5, "config", [1, 2]):
        with pytest.raises((TypeError, ValueError)):
            Orchestrator.new(bad)  # type: ignore[arg-type]




def test_receivers_by_size_need_another_bank_of_positive_size() -> None:
    cfg = base_config()
    arrivals = cfg["agent_configs"][0]["arrival_config"]
    del arrivals["counterparty_weights"]
    arrivals["receivers_by_size"] = True
    for other in cfg["agent_configs"][1:]:
        other["size"] = 0.0
    alone = r"^agent_configs\[0\]\.arrival_config\.receivers_by_size: every other bank has size 0$"
    with pytest.raises(_core.ConfigError, match=alone):
        Orchestrator.new(cfg)
    cfg["agent_configs"][1]["size"] = 0.5
    orch = Orchestrator.new(cfg)
    orch.run()
    assert {row["receiver"] for row in transactions(orch) if row["sender"] == "A"} == {"B"}

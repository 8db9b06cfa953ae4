"""The golden payment stream of native/engine/tests/golden.rs, drawn through the Python extension, and its
settlement goldens per LSM mode.

The extension links other crates than the pure-Rust tests do; equal digests show that feature
unification or the platform's maths library did not change a single draw or settlement.
"""

from __future__ import annotations

from typing import Any

import pytest

from paysim_runner._core import Orchestrator

GOLDEN_COUNT = 7475
GOLDEN_DIGEST = 15602740869360011577

DISTRIBUTIONS = [
    {"type": "Normal", "mean": 5000.0, "std_dev": 2000.0},
    {"type": "LogNormal", "mean_log": 8.0, "std_dev_log": 1.5},
    {"type": "Uniform", "min": 10.0, "max": 900.0},
    {"type": "Exponential", "mean": 3000.0},
]


def golden_config() -> dict[str, Any]:
    agents = [
        {"id": f"G{i}", "opening_balance": 1_000_000, "credit_limit": 0, "policy": {"type": "Fifo"},
         "arrival_config": {"rate_per_tick": 0.5 + i * 12.0, "distribution": d}}
        for i, d in enumerate(DISTRIBUTIONS)
    ]
    return {"ticks_per_day": 50, "num_days": 2, "rng_seed": 20261121, "agent_configs": agents}


def digest(log: dict[str, Any]) -> int:
    """FNV-1a over (sender, receiver, amount, arrival_tick) little-endian i64s, in tx order."""
    h = 0xCBF29CE484222325
    columns = (log["sender"], log["receiver"], log["amount"], log["arrival_tick"])
    for row in zip(*(column.tolist() for column in columns), strict=True):
        for x in row:
            for b in int(x).to_bytes(8, "little", signed=True):
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_golden_stream_matches_the_pure_rust_build() -> None:
    orch = Orchestrator.new(golden_config())
    orch.run()
    log = orch.transaction_log()
    assert len(log["tx_id"]) == GOLDEN_COUNT
    assert digest(log) == GOLDEN_DIGEST


# ---------------------------------------------------------------- settlement golden, per LSM mode

#: native/engine/tests/golden.rs's SETTLEMENT_GOLDEN: bilateral, multilateral and t2_classic as main's
#: engine settled before issue 10 (t2_classic is the old t2), and the new t2.
SETTLEMENT_GOLDEN = {
    "bilateral": (2428973569496551606, 1476583610892533238, 931467014772200232),
    "multilateral": (16924957586113054572, 15673806971220974638, 4783511577291265630),
    "t2_classic": (2428973569496551606, 15673806971220974638, 14908729774947039904),
    "t2": (5393059426526859939, 15673806971220974638, 6020317794158715506),
}

CLASSES = [None, "urgent", None, "highly_urgent", None, "normal"]
#: The status code of a settled payment in the transaction log.
SETTLED = 2


def settlement_config(mode: str, variant: int) -> dict[str, Any]:
    """golden.rs's settlement_config: a gridlock-prone stream; variant 0 fifo_bypass, 1 strict_fifo,
    2 the T2 rules (rtgs.queue t2, classes, limits, reservations, urgent payments offset)."""
    agents: list[dict[str, Any]] = []
    for i in range(6):
        agent: dict[str, Any] = {
            "id": f"S{i}", "opening_balance": 2_000 + 700 * i, "credit_limit": 1_500, "policy": {"type": "Fifo"},
            "arrival_config": {"rate_per_tick": 0.4 + 0.1 * i, "priority": (i * 3) % 10,
                               "distribution": {"type": "Normal", "mean": 5000.0, "std_dev": 2000.0}}}
        if variant == 2:
            agent["arrival_config"]["rtgs_class"] = CLASSES[i]
            agent["limits"] = {"bilateral": {f"S{(i + 1) % 6}": 9_000}, "multilateral": 20_000}
            agent["reservations"] = {"highly_urgent": 300 * (i % 3), "urgent": 500}
        agents.append(agent)
    return {"ticks_per_day": 50, "num_days": 2, "rng_seed": 20261122, "agent_configs": agents,
            "lsm": {"mode": mode, "include_urgent": variant == 2},
            "rtgs": {"queue": ["fifo_bypass", "strict_fifo", "t2"][variant]}, "end_of_day": {"unsettled": "carry"}}


def fnv1a(values: list[int]) -> int:
    h = 0xCBF29CE484222325
    for x in values:
        for b in int(x).to_bytes(8, "little", signed=True):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def settlement_digest(orch: Orchestrator, ids: list[str]) -> int:
    """FNV-1a over (status, settled_via, settle_tick or -1) per payment in tx order, then each final balance."""
    log = orch.transaction_log()
    values: list[int] = []
    for status, via, tick in zip(log["status"].tolist(), log["settled_via"].tolist(), log["settle_tick"].tolist(),
                                 strict=True):
        values += [status, via, tick if status == SETTLED else -1]
    return fnv1a(values + [orch.get_agent_balance(bank_id) for bank_id in ids])


@pytest.mark.parametrize("mode", sorted(SETTLEMENT_GOLDEN))
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_settlement_matches_the_pure_rust_build(mode: str, variant: int) -> None:
    cfg = settlement_config(mode, variant)
    orch = Orchestrator.new(cfg)
    orch.run()
    assert settlement_digest(orch, [a["id"] for a in cfg["agent_configs"]]) == SETTLEMENT_GOLDEN[mode][variant]

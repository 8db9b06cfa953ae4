"""The design notes' own FFI configs (docs/testing.md#errors-in-the-design-notes): two banks, and the same
with random arrivals from BANK_A to BANK_B. Shared by the engine suites and by the child process of the
cross-process determinism test."""

from __future__ import annotations

import copy
from typing import Any

NORMAL_TO_B = {
    "rate_per_tick": 0.5,
    "distribution": {"type": "Normal", "mean": 100_000, "std_dev": 20_000},
    "counterparty_weights": {"BANK_B": 1.0},
}


def two_agent_config() -> dict[str, Any]:
    return {
        "ticks_per_day": 100,
        "num_days": 1,
        "rng_seed": 12345,
        "agent_configs": [
            {"id": "BANK_A", "opening_balance": 1_000_000, "credit_limit": 500_000, "policy": {"type": "Fifo"}},
            {"id": "BANK_B", "opening_balance": 2_000_000, "credit_limit": 0, "policy": {"type": "Fifo"}},
        ],
    }


def seeded_config(seed: int = 12345) -> dict[str, Any]:
    cfg = two_agent_config()
    cfg["rng_seed"] = seed
    cfg["agent_configs"][0]["arrival_config"] = copy.deepcopy(NORMAL_TO_B)
    return cfg

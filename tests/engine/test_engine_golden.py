"""The golden payment stream of native/engine/tests/golden.rs, drawn through the Python extension.

The extension links other crates than the pure-Rust tests do; equal digests show that feature
unification or the platform's maths library did not change a single draw.
"""

from paysim_runner._core import Orchestrator

GOLDEN_COUNT = 7475
GOLDEN_DIGEST = 15602740869360011577

DISTRIBUTIONS = [
    {"type": "Normal", "mean": 5000.0, "std_dev": 2000.0},
    {"type": "LogNormal", "mean_log": 8.0, "std_dev_log": 1.5},
    {"type": "Uniform", "min": 10.0, "max": 900.0},
    {"type": "Exponential", "mean": 3000.0},
]


def golden_config() -> dict:
    agents = [
        {"id": f"G{i}", "opening_balance": 1_000_000, "credit_limit": 0, "policy": {"type": "Fifo"},
         "arrival_config": {"rate_per_tick": 0.5 + i * 12.0, "distribution": d}}
        for i, d in enumerate(DISTRIBUTIONS)
    ]
    return {"ticks_per_day": 50, "num_days": 2, "rng_seed": 20261121, "agent_configs": agents}


def digest(log: dict) -> int:
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

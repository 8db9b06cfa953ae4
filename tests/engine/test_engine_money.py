"""Money figures beyond 64 bits (docs/semantics.md#engine-configuration): they never wrap or
saturate; one too large to report stops the run with a ConfigError carrying its location."""

from __future__ import annotations

from typing import Any

import pytest

from paysim_runner import _core

E15 = 10**15


def queue_of(n: int) -> dict[str, Any]:
    """A (no money) queues n payments of the amount cap to B and C at tick 0; multilateral LSM."""
    fifo = {"type": "Fifo"}
    return {
        "ticks_per_day": 4, "rng_seed": 1, "lsm": {"mode": "multilateral"},
        "agent_configs": [{"id": bank, "opening_balance": 0, "policy": fifo} for bank in ("A", "B", "C")],
        "scheduled_payments": [
            {"sender": "A", "receiver": "BC"[i % 2], "amount": E15, "arrival_tick": 0} for i in range(n)
        ],
    }


def test_a_queue_past_64_bits_stops_the_tick_with_the_bank_located() -> None:
    orch = _core.Orchestrator.new(queue_of(9_224))
    with pytest.raises(_core.ConfigError) as info:
        orch.tick()
    assert info.value.loc == ("agent_configs", 0)


def test_the_stopped_run_names_the_figure_and_its_value() -> None:
    orch = _core.Orchestrator.new(queue_of(9_224))
    with pytest.raises(_core.ConfigError) as info:
        orch.tick()
    assert info.value.problem.startswith("tick 0: bank 'A' queue2_value reached 9224000000000000000,")


def test_nothing_settles_in_the_stopped_tick() -> None:
    orch = _core.Orchestrator.new(queue_of(9_224))
    with pytest.raises(_core.ConfigError):
        orch.tick()
    assert [orch.get_agent_balance(bank) for bank in ("A", "B", "C")] == [0, 0, 0]


def test_one_payment_fewer_runs_to_the_end_with_exact_figures() -> None:
    orch = _core.Orchestrator.new(queue_of(9_223))
    first = orch.tick()
    assert first["queue2_value"] == 9_223 * E15
    orch.run()
    assert orch.metrics()["value_payments"] == 9_223 * E15

"""The event log through the extension: its numpy columns are the ones ``SCHEMAS["event_log"]``
declares, and an injection is recorded and counted (docs/semantics.md#scenario-events)."""

from __future__ import annotations

import numpy as np

from paysim_runner import _core

_NUMPY_KIND = {"int64": np.int64, "int64|null": np.int64, "uint8": np.uint8}


def _engine(events: list[dict[str, object]]) -> _core.Orchestrator:
    return _core.Orchestrator.new({
        "ticks_per_day": 5, "rng_seed": 1,
        "agent_configs": [{"id": "A", "opening_balance": 0, "policy": {"type": "Fifo"}},
                          {"id": "B", "opening_balance": 0, "policy": {"type": "Fifo"}}],
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 70, "arrival_tick": 0}],
        "events": events,
    })


def test_event_log_columns_are_the_declared_schema() -> None:
    orch = _engine([{"type": "outage", "bank": "B", "start_tick": 1, "end_tick": 2}])
    orch.run()
    log = orch.event_log()
    assert [(name, log[name].dtype.type) for name in log] == [
        (name, _NUMPY_KIND[kind]) for name, kind in _core.SCHEMAS["event_log"]
    ]
    assert _core.CODES["event_type"][int(log["event_type"][0])] == "outage_start"


def test_an_injection_is_logged_with_no_counterparty_and_funds_the_waiting_payment() -> None:
    orch = _engine([{"type": "transfer", "to": "A", "amount": 100, "tick": 2}])
    orch.run()
    log = orch.event_log()
    row = {name: int(values[0]) for name, values in log.items()}
    assert row == {"tick": 2, "event": 0, "event_type": _core.CODES["event_type"].index("injection"),
                   "bank": 0, "counterparty": -1, "amount": 100}
    assert [a["balance"] for a in orch.agent_states()] == [30, 70]
    assert int(orch.transaction_log()["settle_tick"][0]) == 2

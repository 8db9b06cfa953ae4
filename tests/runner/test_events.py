"""Scenario events through the runner: a scenario YAML with events is validated (a bad field is
named at ``events[i].field``), and an inline sweep varying ``events.0.start_tick`` writes an
``events/`` table whose rows follow the axis (docs/semantics.md#scenario-events, docs/runner.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from paysim_runner.config import ConfigError, load_config
from paysim_runner.driver import run_sweep
from tests.helpers.runner import read_table, small_sweep

_EVENTS = """
events:
  - {type: outage, bank: BANK_3, start_tick: 10, end_tick: 60}
  - {type: credit_limit, bank: BANK_1, tick: 5, credit_limit: 0}
  - {type: transfer, from: BANK_2, to: BANK_4, amount: 5000, tick: 7}
  - {type: transfer, to: BANK_5, amount: 9000, tick: 8}
  - {type: arrival_surge, start_tick: 20, end_tick: 30, factor: 2.5}
"""


def _scenario(tmp_path: Path, events: str) -> Path:
    base = (Path(__file__).parents[2] / "conf" / "scenario" / "ten_bank.yaml").read_text()
    path = tmp_path / "stress.yaml"
    path.write_text(base + events)
    return path


def test_a_scenario_with_events_validates_and_reaches_the_engine(tmp_path: Path) -> None:
    config = load_config(_scenario(tmp_path, _EVENTS))
    engine = config.to_rust_dict()
    assert engine["events"][2] == {"type": "transfer", "from": "BANK_2", "to": "BANK_4", "amount": 5000, "tick": 7}
    assert engine["events"][3] == {"type": "transfer", "to": "BANK_5", "amount": 9000, "tick": 8}


def test_an_unknown_bank_in_an_event_is_named_at_its_field(tmp_path: Path) -> None:
    bad = _EVENTS.replace("bank: BANK_1", "bank: BANK_77")
    with pytest.raises(ConfigError) as info:
        load_config(_scenario(tmp_path, bad))
    assert str(info.value) == "events[1].bank: unknown bank 'BANK_77'"


def test_a_window_ending_before_it_starts_is_named(tmp_path: Path) -> None:
    bad = _EVENTS.replace("start_tick: 10, end_tick: 60", "start_tick: 10, end_tick: 9")
    with pytest.raises(ConfigError) as info:
        load_config(_scenario(tmp_path, bad))
    assert str(info.value) == "events[0].end_tick: must be ≥ start_tick"


def test_an_inline_sweep_varies_an_event_field_and_writes_the_events_table(tmp_path: Path) -> None:
    config = small_sweep(tmp_path, "seeds=2")
    config["scenario"]["events"] = [{"type": "outage", "bank": "BANK_3", "start_tick": 10, "end_tick": 60}]
    config["sweep"]["axes"] = {"events": {"0": {"start_tick": [10, 40]}}}
    config["sweep"]["compare"] = []
    result = run_sweep(config, executor="inline", console=Console(quiet=True))
    assert result.executed_runs == 4
    events = read_table(result.sweep_dir, "events").to_pylist()
    runs = {r["run_id"]: r for r in read_table(result.sweep_dir, "runs").to_pylist()}
    starts = sorted((runs[e["run_id"]]["events_0_start_tick"], e["tick"]) for e in events if e["event_type"] == "outage_start")
    assert starts == [(10, 10), (10, 10), (40, 40), (40, 40)]
    ends = {e["tick"] for e in events if e["event_type"] == "outage_end"}
    assert ends == {61}
    assert {e["bank"] for e in events} == {"BANK_3"}
    assert {e["counterparty"] for e in events} == {None}


def _two_banks(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(
        "simulation: {ticks_per_day: 2, seed: 1}\n"
        "agents:\n"
        "  - {id: A, balance: 0, policy: {type: Fifo}}\n"
        "  - {id: B, balance: 100, policy: {type: Fifo}}\n"
        "  - {id: C, balance: 0, policy: {type: Fifo}}\n"
        "scheduled_payments:\n"
        "  - {sender: B, receiver: A, amount: 100, arrival_tick: 0}\n"
        "  - {sender: A, receiver: C, amount: 150, arrival_tick: 0, deadline_tick: 1}\n" + extra
    )
    return path


def test_deferred_crediting_and_the_close_with_borrowing_from_a_scenario_file(tmp_path: Path) -> None:
    """A's 150 is funded by B's same-tick 100 only from tick 1, and then still lacks 50: the close
    lends it 50 at 0.1 per unit (docs/semantics.md#crediting, #expiry-and-end-of-day)."""
    from paysim_runner import _core

    extra = "rtgs: {crediting: deferred}\nend_of_day: {unsettled: borrow}\ncosts: {eod_borrowing_rate: 0.1}\n"
    engine = load_config(_two_banks(tmp_path, extra)).to_rust_dict()
    orch = _core.Orchestrator.new(engine)
    orch.run()
    names = _core.SETTLED_VIA_NAMES
    assert [names[int(v)] for v in orch.transaction_log()["settled_via"]] == ["rtgs", "eod_borrowing"]
    log = orch.event_log()
    assert (int(log["bank"][0]), int(log["amount"][0])) == (0, 50)
    assert orch.metrics()["cost_eod_borrowing"] == pytest.approx(5.0)


def test_an_unknown_crediting_is_refused_by_the_schema(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_two_banks(tmp_path, "rtgs: {crediting: later}\n"))
    assert info.value.path == "rtgs.crediting"

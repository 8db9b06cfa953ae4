"""T2 classes and scenario events through the ``paysim`` console script, run as a real subprocess on
a real state file: ``submit --rtgs-class`` and ``events`` (docs/api-cli.md#the-cli)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers.surfaces import assert_one_line_error, ok_json

Run = Callable[..., subprocess.CompletedProcess[str]]
ScenarioFile = Callable[..., Path]
Scenario = Callable[..., dict[str, Any]]


def _reserved(two_banks: Scenario) -> dict[str, Any]:
    """BANK_A holds 600 of its 1,000 back for urgent payments."""
    scenario = two_banks(balance=1_000, ticks_per_day=10)
    scenario["agents"][0]["reservations"] = {"urgent": 600}
    return scenario


def test_submit_with_a_class_overrides_the_priority(
    paysim: Run, scenario_file: ScenarioFile, two_banks: Scenario, tmp_path: Path
) -> None:
    assert paysim("create", "--config", scenario_file(_reserved(two_banks)), "--state", "s").returncode == 0
    pay = ["submit", "--state", "s", "--sender", "BANK_A", "--receiver", "BANK_B"]
    normal = ok_json(paysim(*pay, "--amount", "500", "--priority", "9", "--rtgs-class", "normal", "--json"))
    assert normal["rtgs_class"] == "normal"
    urgent = paysim(*pay, "--amount", "300", "--priority", "2", "--rtgs-class", "urgent")
    assert urgent.returncode == 0, urgent.stderr
    assert "class urgent" in urgent.stdout
    by_priority = ok_json(paysim(*pay, "--amount", "100", "--priority", "9", "--json"))
    assert by_priority["rtgs_class"] is None  # the engine decides from the priority
    assert ok_json(paysim("tick", "1", "--state", "s", "--json"))["value_settled"] == 300 + 100
    agents = {a["id"]: a for a in ok_json(paysim("state", "--state", "s", "--json"))["agents"]}
    assert (agents["BANK_A"]["balance"], agents["BANK_A"]["queue2_value"]) == (600, 500)


def test_an_unknown_class_is_refused_in_one_line(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    assert paysim("create", "--config", scenario_file(), "--state", "s").returncode == 0
    before = (tmp_path / "s").read_bytes()
    refused = paysim("submit", "--state", "s", "--sender", "BANK_A", "--receiver", "BANK_B", "--amount", "5",
                     "--rtgs-class", "express")
    assert_one_line_error(refused, "--rtgs-class", "express")
    assert (tmp_path / "s").read_bytes() == before


def _stress(two_banks: Scenario) -> dict[str, Any]:
    scenario = two_banks(ticks_per_day=10, arrivals=True)
    scenario["events"] = [
        {"type": "outage", "bank": "BANK_A", "start_tick": 2, "end_tick": 4},
        {"type": "transfer", "to": "BANK_B", "amount": 7, "tick": 3},
        {"type": "transfer", "from": "BANK_B", "to": "BANK_A", "amount": 11, "tick": 3},
    ]
    return scenario


def test_events_as_json_and_as_a_table(
    paysim: Run, scenario_file: ScenarioFile, two_banks: Scenario, tmp_path: Path
) -> None:
    assert paysim("create", "--config", scenario_file(_stress(two_banks)), "--state", "s").returncode == 0
    assert ok_json(paysim("events", "--state", "s", "--json")) == []
    assert "no events in the first 0 ticks" in paysim("events", "--state", "s").stdout

    assert paysim("tick", "6", "--state", "s").returncode == 0
    rows = ok_json(paysim("events", "--state", "s", "--json"))
    assert [(r["tick"], r["event"], r["event_type"], r["bank"], r["counterparty"], r["amount"]) for r in rows] == [
        (2, 0, "outage_start", "BANK_A", None, None),
        (3, 1, "injection", "BANK_B", None, 7),
        (3, 2, "transfer", "BANK_A", "BANK_B", 11),
        (5, 0, "outage_end", "BANK_A", None, None),
    ]
    shown = paysim("events", "--state", "s")
    assert shown.returncode == 0, shown.stderr
    assert "event log after 6 ticks" in shown.stdout
    for word in ("outage_start", "injection", "outage_end", "BANK_B"):
        assert word in shown.stdout, word
    assert_one_line_error(paysim("events", "--state", "missing"), "missing", "no such state file")


def test_sql_counts_a_sweeps_events(paysim: Run, outage_sweep_dir: Path) -> None:
    """Every run logs its outage's start (at the tick its cell set) and end; a loan-free, event-free
    sweep has an events view too, with no rows."""
    (total,) = ok_json(paysim("sql", outage_sweep_dir, "select count(*) as n from events", "--json"))
    assert total["n"] == 4 * 2  # 2 cells x 2 seeds, each with outage_start and outage_end
    starts = ok_json(paysim("sql", outage_sweep_dir,
                            "select r.events_0_start_tick as axis, e.tick, e.bank from events e join runs r"
                            " using (run_id) where e.event_type = 'outage_start' order by r.run_id", "--json"))
    assert [(s["axis"], s["tick"], s["bank"]) for s in starts] == [(5, 5, "BANK_A")] * 2 + [(20, 20, "BANK_A")] * 2
    ends = ok_json(paysim("sql", outage_sweep_dir,
                          "select distinct tick from events where event_type = 'outage_end'", "--json"))
    assert ends == [{"tick": 31}]


def test_sql_over_a_sweep_without_events(paysim: Run, sweep_dir: Path, tmp_path: Path) -> None:
    assert ok_json(paysim("sql", sweep_dir, "select count(*) as n from events", "--json")) == [{"n": 0}]
    old = tmp_path / "old_sweep"  # as a sweep written before the runner wrote events/ (and batch records)
    shutil.copytree(sweep_dir, old)
    shutil.rmtree(old / "events")
    shutil.rmtree(old / "batches")
    assert ok_json(paysim("sql", old, "select count(*) as n from runs", "--json")) == [{"n": 6}]
    assert_one_line_error(paysim("sql", old, "select count(*) from events"), "query failed", "events")


def test_the_report_sums_up_the_event_log(paysim: Run, outage_sweep_dir: Path, sweep_dir: Path) -> None:
    built = ok_json(paysim("report", outage_sweep_dir, "--json"))
    assert built["events"] == {"outage_end": 4, "outage_start": 4}
    md = (outage_sweep_dir / "report.md").read_text()
    assert "| event log | `outage_end` × 4, `outage_start` × 4 |" in md
    assert "SELECT event_type, count(*) AS n FROM events" in md  # the query behind it, to re-run
    quiet = ok_json(paysim("report", sweep_dir, "--json"))
    assert quiet["events"] == {}
    assert "event log" not in (sweep_dir / "report.md").read_text()

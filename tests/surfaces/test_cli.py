"""The ``paysim`` console script, run as a real subprocess on a real state file."""

from __future__ import annotations

import fcntl
import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from paysim_runner._core import METRIC_NAMES, Orchestrator
from paysim_runner.config import load_config
from tests.helpers.state import resummed
from tests.helpers.surfaces import assert_one_line_error, ok_json

Run = Callable[..., subprocess.CompletedProcess[str]]
ScenarioFile = Callable[..., Path]
Scenario = Callable[..., dict[str, Any]]


@pytest.mark.slow
def test_round_trip_with_json(paysim: Run, scenario_file: ScenarioFile, two_banks: Scenario, tmp_path: Path) -> None:
    config = scenario_file(two_banks(ticks_per_day=50))
    created = ok_json(paysim("create", "--config", config, "--state", "sim.state", "--json"))
    assert (created["tick"], created["total_ticks"], created["ticks_per_day"]) == (0, 50, 50)
    assert [a["id"] for a in created["agents"]] == ["BANK_A", "BANK_B"]
    fresh = Orchestrator.new(load_config(config).to_rust_dict())
    assert (tmp_path / "sim.state").read_bytes() == fresh.save_state()  # the engine's own bytes, nothing else

    ticked = ok_json(paysim("tick", "5", "--state", "sim.state", "--json"))
    assert (ticked["first_tick"], ticked["tick"], ticked["current_tick"], ticked["ticks_run"]) == (0, 4, 5, 5)

    accepted = ok_json(paysim("submit", "--state", "sim.state", "--sender", "BANK_B", "--receiver", "BANK_A",
                              "--amount", "300000", "--deadline", "10", "--priority", "8", "--json"))
    assert (accepted["arrival_tick"], accepted["deadline_tick"], accepted["priority"]) == (5, 15, 8)
    assert accepted["transaction_id"] == "0"
    assert "tx_id" not in accepted

    settled = ok_json(paysim("tick", "1", "--state", "sim.state", "--json"))
    assert (settled["num_arrivals"], settled["num_settlements"], settled["value_settled"]) == (1, 1, 300_000)

    state = ok_json(paysim("state", "--state", "sim.state", "--json"))
    assert state["tick"] == 6
    assert not state["is_finished"]
    assert {a["id"]: a["balance"] for a in state["agents"]} == {"BANK_A": 1_300_000, "BANK_B": 700_000}

    stats = ok_json(paysim("stats", "--state", "sim.state", "--json"))
    assert set(stats) == set(METRIC_NAMES)
    assert (stats["n_payments"], stats["n_settled"], stats["value_settled"], stats["ticks_run"]) == (1, 1, 300_000, 6)
    assert stats["settlement_rate"] == 1.0
    assert stats["engine_seconds"] is None  # the engine's clock restarts at every load: not measured here


@pytest.mark.slow
def test_tables_for_people(paysim: Run, scenario_file: ScenarioFile) -> None:
    created = paysim("create", "--config", scenario_file(), "--state", "s")
    assert created.returncode == 0, created.stderr
    assert "BANK_A" in created.stdout
    assert "Created" in created.stdout
    ticked = paysim("tick", "3", "--state", "s")
    assert ticked.returncode == 0, ticked.stderr
    assert "num_settlements" in ticked.stdout
    assert "next tick 3" in ticked.stdout
    state = paysim("state", "--state", "s")
    assert state.returncode == 0, state.stderr
    assert "next tick 3" in state.stdout
    assert "BANK_B" in state.stdout
    stats = paysim("stats", "--state", "s")
    assert stats.returncode == 0, stats.stderr
    assert "settlement_rate" in stats.stdout
    assert "create" in paysim("--help").stdout


@pytest.mark.slow
def test_three_ticks_of_ten_equal_one_of_thirty(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    config = scenario_file()
    for name in ("stepped", "whole"):
        assert paysim("create", "--config", config, "--state", name).returncode == 0
    for _ in range(3):
        assert paysim("tick", "10", "--state", "stepped").returncode == 0
    assert paysim("tick", "30", "--state", "whole").returncode == 0
    stepped, whole = (tmp_path / "stepped").read_bytes(), (tmp_path / "whole").read_bytes()
    assert stepped == whole
    assert ok_json(paysim("stats", "--state", "whole", "--json"))["n_payments"] > 0  # the run did something


def test_bad_config(paysim: Run, scenario_file: ScenarioFile, two_banks: Scenario, tmp_path: Path) -> None:
    scenario = two_banks()
    scenario["simulation"]["ticks_per_day"] = 0
    assert_one_line_error(paysim("create", "--config", scenario_file(scenario), "--state", "s"),
                          "simulation.ticks_per_day")
    assert_one_line_error(paysim("create", "--config", "missing.yaml", "--state", "s"), "missing.yaml",
                          "not found")
    (tmp_path / "broken.yaml").write_text("simulation: [unclosed\n")
    assert_one_line_error(paysim("create", "--config", "broken.yaml", "--state", "s"), "invalid YAML")
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_missing_and_corrupt_state(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    for command in (["tick", "1"], ["state"], ["stats"],
                    ["submit", "--sender", "BANK_A", "--receiver", "BANK_B", "--amount", "1"]):
        assert_one_line_error(paysim(*command, "--state", "nowhere.state"), "nowhere.state", "no such state file")

    assert paysim("create", "--config", scenario_file(), "--state", "good").returncode == 0
    good = (tmp_path / "good").read_bytes()
    damaged = {
        "foreign": b"PK\x03\x04 this is a zip file, not a simulation",
        "truncated": good[: len(good) // 2],
        "flipped": good[:-1] + bytes([good[-1] ^ 0xFF]),
        "empty": b"",
        "future": good[:6] + b"\x00\x09" + good[8:],  # the engine's format version after its magic
    }
    expected = {
        "foreign": "not a paysim engine state",
        "truncated": "corrupt state",
        "flipped": "corrupt state",
        "empty": "not a paysim engine state",
        "future": "bad header or version",
    }
    for name, data in damaged.items():
        (tmp_path / name).write_bytes(data)
        assert_one_line_error(paysim("tick", "1", "--state", name), name, expected[name])
        assert (tmp_path / name).read_bytes() == data  # a failed command leaves the file alone


def test_edited_state_with_a_recomputed_checksum(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    """A state file edited inside (a queued payment's sender set to a bank that does not exist) and
    re-summed passes the checksum; the engine's structure check refuses it in one line."""
    assert paysim("create", "--config", scenario_file(), "--state", "s").returncode == 0
    assert paysim("tick", "3", "--state", "s").returncode == 0
    submitted = ["--sender", "BANK_B", "--receiver", "BANK_A", "--amount", "424242"]
    assert paysim("submit", "--state", "s", *submitted).returncode == 0
    good = (tmp_path / "s").read_bytes()
    payload = good[8:-8]
    # The payment as the engine encodes it: sender, receiver (u32 bank indexes), amount (i64).
    encoded = (1).to_bytes(4, "little") + (0).to_bytes(4, "little") + (424242).to_bytes(8, "little")
    assert payload.count(encoded) == 1
    edited = payload.replace(encoded, (7).to_bytes(4, "little") + encoded[4:])
    data = resummed(good, edited)
    (tmp_path / "edited").write_bytes(data)
    for command in (["tick", "1"], ["state"], ["state", "--json"]):
        line = assert_one_line_error(paysim(*command, "--state", "edited"), "edited", "corrupt state")
        assert "payments[" in line, line
        assert "bank index out of range" in line, line
    assert (tmp_path / "edited").read_bytes() == data  # a refused file is left as it was


def test_unknown_bank_and_bad_payment(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    assert paysim("create", "--config", scenario_file(), "--state", "s").returncode == 0
    before = (tmp_path / "s").read_bytes()
    assert_one_line_error(
        paysim("submit", "--state", "s", "--sender", "BANK_A", "--receiver", "BANK_Q", "--amount", "10"),
        "--receiver", "BANK_Q",
    )
    assert_one_line_error(
        paysim("submit", "--state", "s", "--sender", "BANK_A", "--receiver", "BANK_A", "--amount", "10"),
        "--receiver",
    )
    assert_one_line_error(
        paysim("submit", "--state", "s", "--sender", "BANK_A", "--receiver", "BANK_B", "--amount", "0"),
        "--amount",
    )
    assert_one_line_error(
        paysim("submit", "--state", "s", "--sender", "BANK_A", "--receiver", "BANK_B", "--amount", "5",
               "--priority", "11"),
        "--priority",
    )
    assert (tmp_path / "s").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s", "scenario.yaml"]  # no temp files


@pytest.mark.slow
def test_no_lock_files_or_temporaries_are_left(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    """Read-only commands, failed commands and writers leave only the state file itself behind."""
    config = scenario_file()
    for command in (["tick", "1"], ["state"], ["stats"], ["state", "--json"],
                    ["submit", "--sender", "BANK_A", "--receiver", "BANK_B", "--amount", "1"]):
        assert_one_line_error(paysim(*command, "--state", "missing.state"), "no such state file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]

    assert paysim("create", "--config", config, "--state", "s").returncode == 0
    for command in (["tick", "2"], ["state"], ["stats", "--json"],
                    ["submit", "--sender", "BANK_A", "--receiver", "BANK_B", "--amount", "1"]):
        assert paysim(*command, "--state", "s").returncode == 0, command
    assert paysim("tick", "1000", "--state", "s").returncode == 1  # refused: too few ticks left
    assert paysim("create", "--config", config, "--state", "s").returncode == 0  # over an existing state
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s", "scenario.yaml"]


def test_user_text_is_printed_not_taken_as_markup(
    paysim: Run, scenario_file: ScenarioFile, two_banks: Scenario, tmp_path: Path
) -> None:
    scenario = two_banks()
    scenario["agents"][0]["id"] = "[b]A"
    config = scenario_file(scenario)
    created = paysim("create", "--config", config, "--state", "run[i].state")
    assert created.returncode == 0, created.stderr
    assert "Created run[i].state" in created.stdout
    assert "[b]A" in created.stdout
    for command in ("state", "stats"):
        assert "run[i].state" in paysim(command, "--state", "run[i].state").stdout
    assert "[b]A" in paysim("state", "--state", "run[i].state").stdout
    assert_one_line_error(paysim("stats", "--state", "gone[red].state"), "gone[red].state")


def _blocked_flock_pids(path: Path) -> set[int]:
    """Pids waiting (``->``) for a flock on ``path``'s inode, from the kernel's /proc/locks."""
    inode = path.stat().st_ino
    pids = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and "FLOCK" in fields and fields[-3].rsplit(":", 1)[-1] == str(inode):
            pids.add(int(fields[-4]))
    return pids


def test_a_writer_waits_for_the_writer_holding_the_state(
    paysim: Run, paysim_script: Path, scenario_file: ScenarioFile, tmp_path: Path
) -> None:
    """While one writer holds the state, another waits, then works on the state the first one saved."""
    from paysim_runner.cli import read_state, write_state

    assert paysim("create", "--config", scenario_file(), "--state", "s").returncode == 0
    path = tmp_path / "s"
    with open(path, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a `paysim tick` in progress holds it
        waiting = subprocess.Popen([str(paysim_script), "tick", "1", "--state", "s", "--json"], cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while waiting.pid not in _blocked_flock_pids(path):
            assert waiting.poll() is None, waiting.communicate()
            assert time.monotonic() < deadline, "the second writer never waited for the lock"
            time.sleep(0.05)
        engine = read_state(path)  # the first writer's update: 5 ticks, saved by replacing the file
        for _ in range(5):
            engine.tick()
        write_state(path, engine)
    out, errors = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, errors
    assert json.loads(out)["first_tick"] == 5  # it read the state saved while it waited, not the old one
    assert read_state(path).current_tick() == 6


@pytest.mark.slow
def test_concurrent_writers_lose_no_update(
    paysim: Run, paysim_script: Path, scenario_file: ScenarioFile, tmp_path: Path
) -> None:
    from paysim_runner.cli import read_state

    assert paysim("create", "--config", scenario_file(), "--state", "s").returncode == 0
    commands = [["tick", "1"]] * 3 + [["submit", "--sender", "BANK_A", "--receiver", "BANK_B",
                                       "--amount", str(amount), "--deadline", "90"] for amount in (11, 12, 13)]
    running = [subprocess.Popen([str(paysim_script), *command, "--state", "s"], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    for process in running:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    state = ok_json(paysim("state", "--state", "s", "--json"))
    assert state["tick"] == 3
    amounts = read_state(tmp_path / "s").transaction_log()["amount"].tolist()
    assert sorted(a for a in amounts if a in (11, 12, 13)) == [11, 12, 13]


@pytest.mark.slow
def test_tick_errors(paysim: Run, scenario_file: ScenarioFile, two_banks: Scenario, tmp_path: Path) -> None:
    assert paysim("create", "--config", scenario_file(two_banks(ticks_per_day=8)), "--state", "s").returncode == 0
    assert_one_line_error(paysim("tick", "0", "--state", "s"), "N")
    assert_one_line_error(paysim("tick", "ten", "--state", "s"), "N")
    assert_one_line_error(paysim("tick", "9", "--state", "s"), "only 8 of the run's 8 ticks remain")
    assert ok_json(paysim("tick", "8", "--state", "s", "--json"))["is_finished"] is True
    assert_one_line_error(paysim("tick", "1", "--state", "s"), "only 0")
    assert_one_line_error(paysim("tick", "1"), "--state")  # required option missing


def test_results_commands_report_bad_directories(paysim: Run, tmp_path: Path) -> None:
    assert_one_line_error(paysim("sql", "no_such_sweep", "SELECT 1"), "no_such_sweep")
    assert_one_line_error(paysim("report", "no_such_sweep"), "no_such_sweep")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_on_localhost(paysim_script: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([str(paysim_script), "serve", "--port", str(port), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "paysim serve did not answer"
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=15)
    assert json.loads(out[: out.index("}") + 1]) == {  # the first document printed, before uvicorn runs
        "url": f"http://127.0.0.1:{port}", "docs": f"http://127.0.0.1:{port}/docs"}


@pytest.mark.slow
def test_sql_over_a_real_sweep(paysim: Run, sweep_dir: Path) -> None:
    rows = ok_json(paysim("sql", sweep_dir, "SELECT lsm_mode, count(*) AS n, sum(n_payments) AS payments "
                                            "FROM runs GROUP BY lsm_mode ORDER BY lsm_mode", "--json"))
    assert [(r["lsm_mode"], r["n"]) for r in rows] == [("none", 3), ("t2", 3)]
    assert rows[0]["payments"] == rows[1]["payments"] > 0  # common random numbers: same streams
    joined = ok_json(paysim("sql", sweep_dir, "SELECT count(*) AS n FROM transactions t JOIN runs r USING (run_id)",
                            "--json"))
    assert joined[0]["n"] == 2 * rows[0]["payments"]
    table = paysim("sql", sweep_dir, "SELECT run_id FROM runs ORDER BY run_id")
    assert table.returncode == 0, table.stderr
    assert "c0000-r0000" in table.stdout
    assert "6 rows" in table.stdout
    assert_one_line_error(paysim("sql", sweep_dir, "SELEC nonsense"), "query failed")
    assert_one_line_error(paysim("sql", sweep_dir, "SELECT * FROM no_such_table"), "no_such_table")


def test_wide_results_are_never_cut_short(paysim: Run, sweep_dir: Path) -> None:
    """At 80 columns a table too wide to fit is printed one record at a time, every digit intact."""
    query = ("SELECT run_id, cell, lsm_mode, seed, value_settled * 1000003 AS big_value, settlement_rate,"
             " delay_indicator, liquidity_used, cost_total FROM runs ORDER BY run_id LIMIT 2")
    (first, _) = ok_json(paysim("sql", sweep_dir, query, "--json"))
    shown = paysim("sql", sweep_dir, query, env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    assert "…" not in shown.stdout
    assert "row 1 of 2" in shown.stdout
    for value in (first["run_id"], f"{first['seed']:,}", f"{first['big_value']:,}", f"{first['liquidity_used']:,}"):
        assert value in shown.stdout
    narrow = paysim("sql", sweep_dir, "SELECT lsm_mode, count(*) AS n FROM runs GROUP BY ALL ORDER BY ALL",
                    env={"COLUMNS": "80"})
    assert "row 1 of" not in narrow.stdout
    assert "2 rows" in narrow.stdout


@pytest.mark.slow
def test_report_over_a_real_sweep(paysim: Run, sweep_dir: Path) -> None:
    built = ok_json(paysim("report", sweep_dir, "--json"))
    assert built["sweep"] == "lsm_demo"
    assert sorted(c["n_runs"] for c in built["cells"]) == [3, 3]
    assert (sweep_dir / "report.md").exists()
    assert str(sweep_dir / "report.md") in built["files"]
    shown = paysim("report", sweep_dir)
    assert shown.returncode == 0, shown.stderr
    assert "lsm_demo" in shown.stdout
    assert "report.md" in shown.stdout

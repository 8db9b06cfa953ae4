"""A scenario file of the user's own (issue 12): ``scenario=/any/path/day.yaml`` and Hydra's
``--config-dir``, each with a relative ``scheduled_payments_file`` taken relative to the YAML file,
whatever the working directory, as the CLI takes it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from tests.helpers.runner import run_runner

PAYMENTS = 40


def _write_scenario(path: Path, csv: str) -> Path:
    """two_bank without random arrivals, paying the PAYMENTS rows of the CSV ``csv`` (as written in the YAML)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scenario = {
        "simulation": {"ticks_per_day": 50, "num_days": 1, "seed": 1},
        "agents": [{"id": b, "balance": 5000, "policy": {"type": "Fifo"}} for b in ("BANK_A", "BANK_B")],
        "scheduled_payments_file": csv,
    }
    path.write_text(yaml.safe_dump(scenario))
    return path


def _write_csv(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"BANK_{'AB'[i % 2]},BANK_{'BA'[i % 2]},{100 + i},{i}" for i in range(PAYMENTS)]
    path.write_text("sender,receiver,amount,arrival_tick\n" + "\n".join(rows) + "\n")


def _payments(results: Path, sweep: str = "single") -> list[int]:
    """n_payments of every run of the latest ``sweep`` in ``results`` (through its link)."""
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT n_payments FROM read_parquet('{results}/{sweep}/runs/**/*.parquet')").fetchall()
    return [n for (n,) in rows]


@pytest.mark.slow  # four runner subprocesses
def test_a_scenario_file_by_path_reads_its_csv_relative_to_itself(tmp_path: Path) -> None:
    _write_csv(tmp_path / "study" / "data" / "day.csv")
    day = _write_scenario(tmp_path / "study" / "day.yaml", "data/day.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    common = ("executor=inline", "seeds=2", "report=false", "progress=false")

    by_absolute = run_runner(f"scenario={day}", *common, "output_dir=abs", cwd=elsewhere)
    assert by_absolute.returncode == 0, by_absolute.stderr
    assert _payments(elsewhere / "abs") == [PAYMENTS, PAYMENTS]

    by_relative = run_runner("scenario=study/day.yaml", *common, "output_dir=rel", cwd=tmp_path)
    assert by_relative.returncode == 0, by_relative.stderr
    assert _payments(tmp_path / "rel") == [PAYMENTS, PAYMENTS]

    # The file replaces the sweep's own scenario (lsm_vs_fifo's ten_bank), as a name in conf/scenario would.
    in_a_sweep = run_runner("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo]", f"scenario={day}", *common,
                            "output_dir=sweep", cwd=elsewhere)
    assert in_a_sweep.returncode == 0, in_a_sweep.stderr
    assert _payments(elsewhere / "sweep", "lsm_vs_fifo") == [PAYMENTS] * 4  # 2 lsm modes x 2 seeds

    missing = run_runner(f"scenario={tmp_path / 'nope.yaml'}", *common, cwd=elsewhere)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"error: scenario: {tmp_path / 'nope.yaml'} is not a file (a scenario is a name in conf/scenario "
        "or a path to a .yaml file)"
    )


@pytest.mark.slow  # two runner subprocesses
def test_a_config_dir_scenario_reads_its_csv_relative_to_itself(tmp_path: Path) -> None:
    _write_csv(tmp_path / "data" / "day.csv")
    _write_scenario(tmp_path / "confs" / "scenario" / "mine.yaml", "../../data/day.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_runner("--config-dir", str(tmp_path / "confs"), "scenario=mine", "executor=inline", "seeds=1",
                      "report=false", "progress=false", "output_dir=out", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert _payments(elsewhere / "out") == [PAYMENTS]

    # Typed on the command line, a path is the user's own: relative to the working directory.
    _write_csv(elsewhere / "typed.csv")
    typed = run_runner("--config-dir", str(tmp_path / "confs"), "scenario=mine",
                       "scenario.scheduled_payments_file=typed.csv", "executor=inline", "seeds=1",
                       "report=false", "progress=false", "output_dir=typed", cwd=elsewhere)
    assert typed.returncode == 0, typed.stderr
    assert _payments(elsewhere / "typed") == [PAYMENTS]

"""`gridlock_ticks` is what the ticks table shows (docs/semantics.md#metrics): the SQL of
docs/reports.md#recomputing-gridlock_ticks, run by DuckDB over a real sweep's Parquet logs, gives the
runs column in every run, including runs where deadlines and the close empty Queue 2 (issue 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from paysim_runner.driver import SweepResult, run_sweep
from paysim_runner.report import open_views
from tests.helpers import REPO
from tests.helpers.runner import hydra_config

GRIDLOCK_SQL = """\
-- gridlock_ticks of every run, from the ticks table
WITH per_tick AS (
    SELECT run_id, tick, sum(queue2_count) AS queued,
           sum(settled_rtgs + settled_queue + settled_bilateral + settled_multilateral) AS settled
    FROM ticks GROUP BY run_id, tick
)
SELECT run_id, count(*) FILTER (WHERE queued > 0 AND settled = 0) AS gridlock_ticks
FROM per_tick GROUP BY run_id ORDER BY run_id;
"""


def tight_sweep(output_dir: Path) -> dict[str, Any]:
    """ten_bank cut to two 30-tick days, a fifth of its liquidity and 3-tick deadlines: Queue 2 is
    often stuck, and payments leave it by expiry and at the close. LSM off and on, end of day drop
    and carry; 4 seeds each (16 runs)."""
    config = hydra_config(
        "scenario=ten_bank", "scenario.simulation.ticks_per_day=30", "scenario.simulation.num_days=2",
        "seeds=4", "batch_size=4", f"output_dir={output_dir}", "progress=false", "report=false", "sweep.name=gridlock",
    )
    config["sweep"]["fixed"] = {"balance_scale": 0.2, "credit_scale": 0.2, "agents.*.arrival_config.deadline_offset": 3}
    config["sweep"]["axes"] = {"lsm": {"mode": ["none", "t2"]}, "end_of_day": {"unsettled": ["drop", "carry"]}}
    return config


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> SweepResult:
    return run_sweep(tight_sweep(tmp_path_factory.mktemp("gridlock")), executor="inline", console=Console(quiet=True))


def test_the_documented_sql_is_the_one_tested() -> None:
    assert GRIDLOCK_SQL in (REPO / "docs" / "reports.md").read_text()


def test_gridlock_ticks_recomputed_from_the_ticks_table_equal_the_runs_column(sweep: SweepResult) -> None:
    with open_views(sweep.sweep_dir) as con:
        recomputed = dict(con.execute(GRIDLOCK_SQL).fetchall())
        reported = dict(con.execute("SELECT run_id, gridlock_ticks FROM runs ORDER BY run_id").fetchall())
    assert len(reported) == 16
    assert recomputed == reported


def test_the_sweep_has_gridlock_and_queues_emptied_by_expiry_and_the_close(sweep: SweepResult) -> None:
    """The runs exercise what made the old count differ: stuck ticks, deadline drops and close drops."""
    with open_views(sweep.sweep_dir) as con:
        row = con.execute(
            "SELECT count(*) FILTER (WHERE gridlock_ticks > 0), sum(n_dropped_deadline), sum(n_dropped_eod) FROM runs"
        ).fetchone()
    assert row is not None
    gridlocked, expired, closed = row
    assert gridlocked >= 8
    assert expired > 0
    assert closed > 0

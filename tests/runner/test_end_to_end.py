"""A small sweep on real Ray writing real Parquet, read back by DuckDB and checked against an
independent pyarrow recomputation from the transactions table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc
import pytest
from rich.console import Console

from paysim_runner import _core
from paysim_runner.driver import run_sweep
from tests.helpers.runner import file_bytes, read_table, small_sweep


def _glob(sweep_dir: Path, table: str) -> str:
    return f"read_parquet('{sweep_dir}/{table}/**/*.parquet', hive_partitioning = true)"


TABLES = ("runs", "ticks", "transactions")


def test_sweep_on_ray_end_to_end(tmp_path: Path, ray_session: Any) -> None:
    cfg = small_sweep(tmp_path, "progress=true")
    console = Console(record=True, width=200)
    result = run_sweep(cfg, console=console)
    sweep_dir = result.sweep_dir
    assert sweep_dir.parent == tmp_path
    assert sweep_dir.name.startswith("lsm_vs_fifo-")
    assert (tmp_path / "lsm_vs_fifo").resolve() == sweep_dir  # the link to the latest lsm_vs_fifo sweep
    assert (result.total_runs, result.executed_runs, result.skipped_runs) == (6, 6, 0)

    assert_manifest(json.loads((sweep_dir / "manifest.json").read_text()))
    assert_duckdb_reads_the_tables(sweep_dir)
    runs = read_table(sweep_dir, "runs")
    per_run = recompute_from_transactions(read_table(sweep_dir, "transactions"), runs["run_id"].to_pylist())
    for row in runs.to_pylist():
        mine = per_run[row["run_id"]]
        for key, value in mine.items():
            assert row[key] == value, (row["run_id"], key)
        assert row["settlement_rate"] == pytest.approx(mine["n_settled"] / mine["n_payments"])
    assert result.report is not None
    assert_report_means(result.report, runs.to_pylist(), per_run)
    assert (sweep_dir / "report.md").is_file()
    assert_console_summary(console.export_text(), sweep_dir)

    # re-running the same sweep recomputes nothing and leaves every Parquet byte as it was
    before = {t: file_bytes(sweep_dir, t) for t in TABLES}
    again = run_sweep(cfg, console=Console(record=True, width=200))
    assert (again.executed_runs, again.skipped_runs) == (0, 6)
    assert before == {t: file_bytes(sweep_dir, t) for t in TABLES}


def assert_manifest(manifest: dict[str, Any]) -> None:
    assert manifest["sweep"] == "lsm_vs_fifo"
    assert manifest["replications"] == 3
    assert manifest["grid_axes"] == ["lsm_mode", "policy"]
    assert manifest["axes"] == {"lsm_mode": ["none", "t2"], "policy": ["fifo"]}
    assert manifest["compare"] == [{"axis": "lsm_mode", "baseline": "none"}, {"axis": "policy", "baseline": "fifo"}]
    assert manifest["versions"]["engine"] == _core.ENGINE_VERSION
    assert set(manifest["versions"]) == {"paysim", "engine", "schema", "python", "ray", "pyarrow", "duckdb"}
    assert manifest["created_by"].startswith("paysim_runner ")
    assert [c["params"] for c in manifest["cells"]] == [
        {"lsm_mode": "none", "policy": "fifo"}, {"lsm_mode": "t2", "policy": "fifo"}
    ]
    assert [r["batch"] for r in manifest["runs"]] == [0, 0, 1, 1, 2, 2]
    assert manifest["config"]["seeds"] == 3
    assert manifest["config"]["scenario"]["simulation"]["ticks_per_day"] == 100


def assert_duckdb_reads_the_tables(sweep_dir: Path) -> None:
    with duckdb.connect() as con:
        n, distinct, batches = con.execute(
            f"SELECT count(*), count(DISTINCT run_id), count(DISTINCT batch) FROM {_glob(sweep_dir, 'runs')}"
        ).fetchone()
        assert (n, distinct, batches) == (6, 6, 3)
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_glob(sweep_dir, 'runs')}").fetchall()]
        assert columns[:8] == ["run_id", "sweep", "cell_id", "cell", "lsm_mode", "policy", "seed", "rep"]
        assert columns[8:8 + len(_core.METRIC_NAMES)] == list(_core.METRIC_NAMES)
        # CRN: the same rep has the same seed in both cells
        assert con.execute(
            f"SELECT count(DISTINCT seed) FROM {_glob(sweep_dir, 'runs')} GROUP BY rep"
        ).fetchall() == [(1,)] * 3
        tick_rows = con.execute(f"SELECT count(*) FROM {_glob(sweep_dir, 'ticks')}").fetchone()[0]
        assert tick_rows == 6 * 100 * 10
        banks = con.execute(f"SELECT DISTINCT bank FROM {_glob(sweep_dir, 'ticks')} ORDER BY 1").fetchall()
        assert [b[0] for b in banks] == [f"BANK_{i}" for i in range(10)]


def recompute_from_transactions(tx: Any, run_ids: list[str]) -> dict[str, dict[str, float]]:
    """The runs table's counts recomputed independently (pyarrow) from the transactions table."""
    per_run: dict[str, dict[str, float]] = {}
    for run_id in run_ids:
        mine = tx.filter(pc.equal(tx["run_id"], run_id))
        payable = mine.filter(pc.not_equal(mine["status"], "split"))  # split parents are replaced by parts
        settled = payable.filter(pc.equal(payable["status"], "settled"))
        per_run[run_id] = {
            "n_payments": payable.num_rows,
            "n_settled": settled.num_rows,
            "value_settled": pc.sum(settled["amount"]).as_py() or 0,
            "value_payments": pc.sum(payable["amount"]).as_py() or 0,
            "n_dropped": pc.sum(pc.equal(payable["status"], "dropped")).as_py(),
        }
    return per_run


def assert_report_means(report: Any, runs: list[dict[str, Any]], per_run: dict[str, dict[str, float]]) -> None:
    """The report's cell means equal the means of the independently recomputed rates."""
    for cell in report.cells:
        ids = [r["run_id"] for r in runs if r["cell_id"] == cell.cell_id]
        rates = [per_run[i]["n_settled"] / per_run[i]["n_payments"] for i in ids]
        value_rates = [per_run[i]["value_settled"] / per_run[i]["value_payments"] for i in ids]
        assert cell.n_runs == 3
        assert cell.stats["settlement_rate"].mean == pytest.approx(sum(rates) / 3)
        assert cell.stats["value_settlement_rate"].mean == pytest.approx(sum(value_rates) / 3)


def assert_console_summary(text: str, sweep_dir: Path) -> None:
    assert "Ray: reusing this process's Ray" in text
    assert "6/6" in text  # the progress bar reached the total
    assert str(sweep_dir / "manifest.json") in text
    assert f"{sweep_dir / 'runs'}/batch=*/part.parquet  (3 files)" in text
    assert str(sweep_dir / "report.md") in text

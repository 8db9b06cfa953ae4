"""The same results give the same report bytes: every CSV, report.md and PNG, and the same digits
from the report's SQL whatever DuckDB's thread count (as ``paysim sql`` runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from paysim_runner.report import build_report, load_manifest, open_views
from paysim_runner.report.build import compute_report
from paysim_runner.report.curves import BANK_LIQUIDITY_SQL, INTRADAY_SQL
from tests.helpers.results import run_real_sweep
from tests.report.test_report_sweep import SCENARIO


@pytest.fixture(scope="module")
def many_batches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 cells x 30 seeds in 60 batches of 2: each cell's runs lie in 15 files, which DuckDB's
    threads scan in a varying order."""
    out = tmp_path_factory.mktemp("stable")
    return run_real_sweep(out, "many", SCENARIO, {"lsm": {"mode": ["none", "t2"]}, "policy": ["fifo", "splitting"]},
                          seeds=30, batch_size=2, compare={"axis": "lsm.mode", "baseline": "none"})


def test_the_report_sql_gives_the_same_digits_with_any_thread_count(many_batches: Path) -> None:
    """Parallel float sums add in a varying order; the report's sums run in run_id order. Fails on a
    plain avg()/stddev_samp() over the unpivoted runs."""
    report = compute_report(many_batches, load_manifest(many_batches))
    queries = (*report.sql.values(), INTRADAY_SQL, BANK_LIQUIDITY_SQL)
    results = set()
    for threads in (1, 2, 4, 2, 4, 3):
        with open_views(many_batches, threads=threads) as con:
            results.add(tuple(tuple(con.execute(sql).fetchall()) for sql in queries))
    assert len(results) == 1


def test_rebuilding_a_report_gives_byte_identical_files(many_batches: Path) -> None:
    first = build_report(many_batches, console=Console(quiet=True))
    contents = {p.name: p.read_bytes() for p in first.files}
    assert {"report_cells.csv", "report_paired.csv", "report.md", "intraday.png", "banks.png"} <= set(contents)
    second = build_report(many_batches, console=Console(quiet=True))
    assert [p.name for p in second.files] == list(contents)
    for path in second.files:
        assert path.read_bytes() == contents[path.name], path.name

"""``paysim sql --read-only`` (issue 13): queries read the sweep's tables and nothing else. Without
the flag ``paysim sql`` is full DuckDB, as its help says. The real console script over a real sweep."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.surfaces import assert_one_line_error, ok_json

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_read_only_queries_read_the_sweep(paysim: Run, sweep_dir: Path) -> None:
    rows = ok_json(paysim("sql", sweep_dir, "SELECT count(*) AS n FROM runs", "--read-only", "--json"))
    assert rows == [{"n": 6}]
    joined = ok_json(paysim("sql", sweep_dir, "SELECT count(*) AS n FROM transactions t JOIN runs r USING (run_id)",
                            "--read-only", "--json"))
    assert joined[0]["n"] > 0


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("COPY (SELECT * FROM runs) TO '{dir}/runs/stolen.csv'", "query refused: a COPY statement is not allowed"),
        ("SELECT 1; COPY (SELECT 1) TO '{dir}/x.csv'", "query refused: a COPY statement is not allowed"),
        ("ATTACH '{dir}/x.duckdb'", "query refused: a ATTACH statement"),
        ("INSTALL httpfs", "query refused:"),
        ("SET enable_external_access = true", "query refused: a SET statement"),
        ("CREATE TABLE t AS SELECT 1", "query refused: a CREATE statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
        ("SELECT * FROM read_text('{dir}/manifest.json')", "Permission Error"),
        ("SELECT * FROM glob('/*')", "Permission Error"),
    ],
)
def test_read_only_refuses_writes_and_other_files(paysim: Run, sweep_dir: Path, tmp_path: Path, query: str,
                                                  problem: str) -> None:
    before = sorted(p.relative_to(sweep_dir) for p in sweep_dir.rglob("*"))
    result = paysim("sql", sweep_dir, query.format(dir=sweep_dir), "--read-only")
    assert_one_line_error(result, problem)
    assert sorted(p.relative_to(sweep_dir) for p in sweep_dir.rglob("*")) == before
    assert list(tmp_path.iterdir()) == []


def test_without_the_flag_sql_is_full_duckdb(paysim: Run, sweep_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    assert paysim("sql", sweep_dir, f"COPY (SELECT run_id FROM runs) TO '{out}'").returncode == 0
    assert len(out.read_text().splitlines()) == 7  # header + 6 runs
    helped = paysim("sql", "--help")
    assert "full DuckDB" in helped.stdout
    assert "--read-only" in helped.stdout

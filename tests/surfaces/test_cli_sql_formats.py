"""``paysim sql --format table|csv|json|markdown`` (issue 14): every format parses back to the same
result, numbers line up within a column, and an explicit table stays a table on a narrow terminal.
The real console script over a real sweep."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.surfaces import assert_one_line_error, ok_json

Run = Callable[..., subprocess.CompletedProcess[str]]

QUERY = ("SELECT run_id, cell, seed, settlement_rate, delay_indicator, liquidity_used, cost_total, "
         "'a|b,\"c\"' AS awkward, NULL::DOUBLE AS missing FROM runs ORDER BY run_id")
#: Wide at 80 columns: the default prints it one record at a time (test_cli.py).
WIDE = ("SELECT run_id, cell, lsm_mode, seed, value_settled * 1000003 AS big_value, settlement_rate,"
        " delay_indicator, liquidity_used, cost_total FROM runs ORDER BY run_id LIMIT 2")


def test_csv_reads_back_as_the_json(paysim: Run, sweep_dir: Path) -> None:
    rows = ok_json(paysim("sql", sweep_dir, QUERY, "--json"))
    assert ok_json(paysim("sql", sweep_dir, QUERY, "--format", "json")) == rows
    shown = paysim("sql", sweep_dir, QUERY, "--format", "csv")
    assert shown.returncode == 0, shown.stderr
    read = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert len(read) == len(rows) == 6
    for got, want in zip(read, rows, strict=True):
        assert got["run_id"] == want["run_id"]
        assert int(got["seed"]) == want["seed"]  # every digit of a 64-bit seed
        assert float(got["settlement_rate"]) == want["settlement_rate"]  # unrounded
        assert float(got["cost_total"]) == want["cost_total"]
        assert got["awkward"] == 'a|b,"c"'
        assert got["missing"] == ""


def test_markdown_is_a_pipe_table_with_aligned_numbers(paysim: Run, sweep_dir: Path) -> None:
    rows = ok_json(paysim("sql", sweep_dir, QUERY, "--json"))
    shown = paysim("sql", sweep_dir, QUERY, "--format", "markdown")
    assert shown.returncode == 0, shown.stderr
    header, separator, *body = shown.stdout.splitlines()
    assert [c.strip() for c in header.strip("| ").split(" | ")] == list(rows[0])
    cells = [c.strip() for c in separator.strip("|").split("|")]
    assert cells[0].strip("-") == ""  # text left, numbers right (---:)
    assert cells[2].endswith(":")
    assert len(body) == 6
    parsed = [[c.strip() for c in line.strip("| ").split(" | ")] for line in body]
    assert all(len(cells) == len(rows[0]) for cells in parsed)  # the pipe in 'a|b' is escaped
    assert {cells[7] for cells in parsed} == {'a\\|b,"c"'}
    assert {cells[8] for cells in parsed} == {"–"}
    rates = [cells[3] for cells in parsed]
    assert len({len(r.split(".")[1]) for r in rates}) == 1, rates  # one number of decimals per column
    for cells, row in zip(parsed, rows, strict=True):
        assert cells[2] == f"{row['seed']:,}"
        assert float(cells[3]) == pytest.approx(row["settlement_rate"], abs=5e-5)


def test_table_numbers_line_up(paysim: Run, sweep_dir: Path) -> None:
    query = "SELECT x FROM (VALUES (0.5964), (0.892), (12.0)) v(x)"
    shown = paysim("sql", sweep_dir, query, "--format", "table")
    assert shown.returncode == 0, shown.stderr
    for cell in ("0.5964", "0.8920", "12.0000"):
        assert cell in shown.stdout
    assert len({line.index("│", 1) for line in shown.stdout.splitlines() if line.startswith("│")}) == 1


def test_an_explicit_table_stays_a_table_when_wide(paysim: Run, sweep_dir: Path) -> None:
    (first, second) = ok_json(paysim("sql", sweep_dir, WIDE, "--json"))
    shown = paysim("sql", sweep_dir, WIDE, "--format", "table", env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    assert "row 1 of" not in shown.stdout
    assert "…" not in shown.stdout
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) > 80  # overflowing the terminal, not folded to fit it
    header = next(line for line in lines if "run_id" in line)
    for name in ("run_id", "big_value", "cost_total"):
        assert name in header  # one header line: a table, not a record per row
    data = [line for line in lines if line.startswith("│")]
    assert len(data) == 2
    for row, line in zip((first, second), data, strict=True):
        for value in (row["run_id"], f"{row['big_value']:,}", f"{row['seed']:,}"):
            assert value in line
    assert "2 rows" in shown.stdout


def test_bad_formats_are_one_line(paysim: Run, sweep_dir: Path) -> None:
    assert_one_line_error(paysim("sql", sweep_dir, "SELECT 1", "--format", "xml"), "xml")
    assert_one_line_error(paysim("sql", sweep_dir, "SELECT 1", "--json", "--format", "csv"), "--json", "csv")

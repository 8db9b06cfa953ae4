"""The report's statistics on a hand-made results directory whose answers are known by hand.

The runs table here is written directly (not by the engine) so every expected number can be worked
out on paper; tests/report/test_report_sweep.py checks the report against real engine sweeps.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

import matplotlib.image
import pyarrow as pa
import pytest
from rich.console import Console

from paysim_runner.report import (
    COST_COMPONENTS,
    REPORT_METRICS,
    ReportError,
    build_report,
    open_views,
)
from tests.helpers.results import write_manifest, write_part

T_0975_4 = 2.776445  # Student t, 97.5% quantile, 4 degrees of freedom (tables)

# cost_total per replication: cell 1 (t2) against its baseline cell 0 (none).
COST_T2 = [10.0, 12.0, 9.0, 11.0, 13.0]
COST_NONE = [12.0, 15.0, 9.0, 14.0, 13.0]
SETTLED_NONE = [0.80, 0.90, 0.70, 0.85, 0.75]
SETTLED_T2 = [0.95, 0.90, 0.85, 1.00, 0.90]

CELLS = [
    {"cell_id": 0, "cell": "lsm_mode=none,policy=fifo", "params": {"lsm_mode": "none", "policy": "fifo"}},
    {"cell_id": 1, "cell": "lsm_mode=t2,policy=fifo", "params": {"lsm_mode": "t2", "policy": "fifo"}},
    {"cell_id": 2, "cell": "lsm_mode=none,policy=deadline", "params": {"lsm_mode": "none", "policy": "deadline"}},
    {"cell_id": 3, "cell": "lsm_mode=t2,policy=deadline", "params": {"lsm_mode": "t2", "policy": "deadline"}},
]


def _run(cell: dict[str, Any], rep: int, seed: int, cost_total: float, settled: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": f"c{cell['cell_id']:04d}-r{rep:04d}",
        "sweep": "hand",
        "cell_id": cell["cell_id"],
        "cell": cell["cell"],
        **cell["params"],
        "seed": seed,
        "rep": rep,
        "settlement_rate": settled,
        "value_settlement_rate": settled - 0.05,
        "delay_indicator": 1.0 - settled,
        "liquidity_used": 1000 * (rep + 1) + 7 * cell["cell_id"],
        "cost_total": cost_total,
    }
    for i, m in enumerate(COST_COMPONENTS):  # components that add up to the total
        row[m] = cost_total * (i + 1) / 21.0
    return row


def _runs_table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema(
        [("run_id", pa.string()), ("sweep", pa.string()), ("cell_id", pa.int32()), ("cell", pa.string()),
         ("lsm_mode", pa.string()), ("policy", pa.string()), ("seed", pa.int64()), ("rep", pa.int32())]
        + [(m, pa.int64() if m == "liquidity_used" else pa.float64()) for m in REPORT_METRICS]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _side_tables(run_ids: list[str]) -> tuple[pa.Table, pa.Table]:
    ticks = pa.table({"run_id": run_ids, "tick": [0] * len(run_ids), "bank": ["A"] * len(run_ids),
                      "balance": [5] * len(run_ids)})
    txs = pa.table({"run_id": run_ids, "tx_id": list(range(len(run_ids))), "amount": [100] * len(run_ids)})
    return ticks, txs


def make_hand_sweep(root: Path, *, seeds_differ: bool = False, duplicate: bool = False) -> Path:
    out = root / "hand"
    batches = [
        [_run(CELLS[0], r, 100 + r, COST_NONE[r], SETTLED_NONE[r]) for r in range(5)],
        [_run(CELLS[1], r, 100 + r + (1 if seeds_differ and r == 3 else 0), COST_T2[r], SETTLED_T2[r])
         for r in range(5)],
        [_run(CELLS[2], 0, 100, 20.0, 0.5), _run(CELLS[3], 0, 100, 17.5, 0.75)],
    ]
    if duplicate:
        batches[2].append(batches[0][0])
    runs_list = []
    for b, rows in enumerate(batches):
        ids = [r["run_id"] for r in rows]
        ticks, txs = _side_tables(ids)
        write_part(out, "ticks", b, ticks)
        write_part(out, "transactions", b, txs)
        write_part(out, "runs", b, _runs_table(rows))
        runs_list += [{"run_id": r["run_id"], "cell_id": r["cell_id"], "rep": r["rep"], "seed": r["seed"], "batch": b}
                      for r in rows]
    # A batch cut off before its runs file: its ticks and transactions must stay invisible.
    ticks, txs = _side_tables(["c0003-r0001"])
    write_part(out, "ticks", 3, ticks)
    write_part(out, "transactions", 3, txs)
    runs_list.append({"run_id": "c0003-r0001", "cell_id": 3, "rep": 1, "seed": 101, "batch": 3})
    write_manifest(out, {
        "sweep": "hand", "created_by": "paysim_runner test", "git_commit": "0" * 40,
        "versions": {"engine": "test", "schema": 1}, "root_seed": 7, "replications": 5,
        "grid_axes": ["lsm_mode", "policy"],
        "axes": {"lsm_mode": ["none", "t2"], "policy": ["fifo", "deadline"]},
        "compare": {"axis": "lsm_mode", "baseline": "none"},
        "cells": CELLS, "runs": runs_list, "config": {},
    })
    return out


QUIET = Console(quiet=True)


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    return make_hand_sweep(tmp_path)


def test_cell_mean_and_ci_use_t_with_n_minus_1_dof(hand: Path) -> None:
    report = build_report(hand, console=QUIET)
    cost = report.cell(0).stats["cost_total"]
    assert cost.n == 5
    assert cost.mean == pytest.approx(12.6)
    sd = statistics.stdev(COST_NONE)
    assert cost.sd == pytest.approx(sd)
    assert cost.ci_high - cost.mean == pytest.approx(T_0975_4 * sd / math.sqrt(5), abs=1e-6)
    assert cost.mean - cost.ci_low == pytest.approx(T_0975_4 * sd / math.sqrt(5), abs=1e-6)
    settled = report.cell(1).stats["settlement_rate"]
    assert settled.mean == pytest.approx(0.92)
    assert settled.ci_low == pytest.approx(0.92 - T_0975_4 * statistics.stdev(SETTLED_T2) / math.sqrt(5), abs=1e-6)
    liquidity = report.cell(1).stats["liquidity_used"]
    assert liquidity.mean == pytest.approx(3007.0)  # 1000·(1..5) + 7, averaged
    assert {c.n_runs for c in report.cells} == {5, 1}
    assert report.cell(3).n_planned == 2  # the interrupted batch's run is planned, not done


def test_paired_differences_match_the_hand_computation(hand: Path) -> None:
    report = build_report(hand, console=QUIET)
    pair = next(p for p in report.paired if p.cell_id == 1)
    assert pair.baseline_cell_id == 0
    assert pair.n_pairs == 5
    d = pair.diffs["cost_total"]  # differences −2, −3, 0, −3, 0
    assert d.mean == pytest.approx(-1.6)
    assert d.sd == pytest.approx(math.sqrt(9.2 / 4))
    assert d.ci_low == pytest.approx(-1.6 - T_0975_4 * math.sqrt(2.3) / math.sqrt(5), abs=1e-6)
    assert d.ci_high == pytest.approx(-1.6 + 1.883077, abs=1e-6)
    assert not d.excludes_zero
    s = pair.diffs["settlement_rate"]  # 0.15, 0, 0.15, 0.15, 0.15
    assert s.mean == pytest.approx(0.12)
    assert s.ci_low == pytest.approx(0.12 - T_0975_4 * math.sqrt(0.018 / 4) / math.sqrt(5), abs=1e-6)
    assert s.excludes_zero
    assert pair.diffs["liquidity_used"].mean == pytest.approx(7.0)
    assert pair.diffs["liquidity_used"].sd == pytest.approx(0.0)


def test_one_run_gives_a_mean_and_no_interval(hand: Path) -> None:
    report = build_report(hand, console=QUIET)
    single = report.cell(2).stats["cost_total"]
    assert (single.n, single.mean, single.sd, single.ci_low, single.ci_high) == (1, 20.0, None, None, None)
    pair = next(p for p in report.paired if p.cell_id == 3)
    assert pair.baseline_cell_id == 2
    assert pair.n_pairs == 1
    assert pair.diffs["cost_total"].mean == pytest.approx(-2.5)
    assert pair.diffs["cost_total"].ci_low is None
    text = (hand / "report.md").read_text()
    assert "| 20.00 (n=1, no CI) |" in text  # the cost_total column has 2 decimals (its largest figure < 100)


def test_files_are_written_complete_and_loadable(hand: Path) -> None:
    report = build_report(hand, console=QUIET)
    names = {p.name for p in report.files}
    # no ticks or transactions with their columns here: no intraday or per-bank figure
    assert names == {"report_cells.csv", "report_paired.csv", "report.html", "cell_means.png", "paired_lsm_mode.png",
                     "cost_breakdown.png", "report.md"}
    assert not list(hand.glob(".*.tmp"))
    with (hand / "report_cells.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["cell_id", "cell", "lsm_mode", "policy", "n_runs", "n_planned", "metric", "n",
                                     "mean", "sd", "ci_low", "ci_high"]
        cells = list(reader)
    assert len(cells) == 4 * len(REPORT_METRICS)
    row = next(r for r in cells if r["cell_id"] == "0" and r["metric"] == "cost_total")
    assert (row["cell"], row["lsm_mode"], row["policy"], row["n_runs"], row["n"]) == (
        "lsm_mode=none,policy=fifo", "none", "fifo", "5", "5")
    assert float(row["mean"]) == pytest.approx(12.6)
    single = next(r for r in cells if r["cell_id"] == "2" and r["metric"] == "cost_total")
    assert (single["sd"], single["ci_low"], single["ci_high"]) == ("", "", "")
    with (hand / "report_paired.csv").open(newline="") as f:
        paired = list(csv.DictReader(f))
    assert len(paired) == 2 * len(REPORT_METRICS)
    row = next(r for r in paired if r["cell_id"] == "1" and r["metric"] == "cost_total")
    assert (row["baseline_cell_id"], row["n_pairs"]) == ("0", "5")
    assert float(row["mean_diff"]) == pytest.approx(-1.6)
    image = matplotlib.image.imread(hand / "cost_breakdown.png")
    assert image.shape[0] > 100
    assert image.shape[1] > 100
    assert image[..., :3].std() > 0  # not a blank canvas
    md = (hand / "report.md").read_text()
    for needed in ("## How to read this", "![", "cost_breakdown.png", "```sql", "t_quantile(0.975, n - 1)",
                   "lsm_mode=t2,policy=fifo − lsm_mode=none,policy=fifo"):
        assert needed in md


def test_report_md_says_when_the_code_had_uncommitted_changes(hand: Path) -> None:
    build_report(hand, console=QUIET)
    assert f"| git commit | `{'0' * 40}` |" in (hand / "report.md").read_text()
    manifest = json.loads((hand / "manifest.json").read_text())
    write_manifest(hand, {**manifest, "git_dirty": True})
    build_report(hand, console=QUIET)
    assert f"| git commit | `{'0' * 40}` with uncommitted changes |" in (hand / "report.md").read_text()


def test_same_results_give_the_same_bytes(hand: Path) -> None:
    build_report(hand, console=QUIET)
    first = {p.name: p.read_bytes() for p in hand.iterdir() if p.is_file()}
    build_report(hand, console=QUIET)
    second = {p.name: p.read_bytes() for p in hand.iterdir() if p.is_file()}
    assert first == second


def test_terminal_table_shows_every_cell_and_the_paired_block(hand: Path) -> None:
    console = Console(record=True, width=200)
    build_report(hand, console=console)
    text = console.export_text()
    cells, rest = text.split("cost components")
    costs, paired = rest.split("paired differences")
    lines = cells.splitlines()
    row = next(i for i, line in enumerate(lines) if "│ none" in line and "fifo" in line)
    assert "12.6" in lines[row]  # cost total: mean, then its CI half-width
    assert "±2.86" in lines[row + 1]
    assert "1/2" in cells  # runs done / planned in the interrupted cell
    assert "0.952" in costs  # one-run cell: liquidity cost mean, no interval
    assert paired.startswith(" vs lsm_mode=none")
    lines = paired.splitlines()
    row = next(i for i, line in enumerate(lines) if "│ fifo" in line)
    assert "│ t2" in lines[row]
    assert "-1.6" in lines[row]
    assert "±1.88" in lines[row + 1]
    assert f"report written to {hand / 'report.md'}" in text


def test_intervals_of_shares_are_clipped_to_what_a_share_can_be(tmp_path: Path) -> None:
    """Settlement rates near 1 have t-intervals reaching past 1; no run can settle more than all."""
    out = tmp_path / "clip"
    base, treated = CELLS[0], CELLS[1]
    near_one = [1.0, 1.0, 1.0, 0.8, 1.0]  # mean 0.96, half-width 0.111: [0.849, 1.071] unclipped
    near_zero = [0.0, 0.0, 0.0, 0.2, 0.1]  # differences: mean -0.9, half-width 0.215: [-1.115, -0.685]
    rows = [_run(base, r, 100 + r, 1.0, near_one[r]) for r in range(5)]
    rows += [_run(treated, r, 100 + r, 1.0, near_zero[r]) for r in range(5)]
    ticks, txs = _side_tables([r["run_id"] for r in rows])
    write_part(out, "ticks", 0, ticks)
    write_part(out, "transactions", 0, txs)
    write_part(out, "runs", 0, _runs_table(rows))
    write_manifest(out, {"sweep": "clip", "grid_axes": ["lsm_mode", "policy"], "cells": [base, treated],
                         "compare": [{"axis": "lsm_mode", "baseline": "none"}],
                         "runs": [{"run_id": r["run_id"], "cell_id": r["cell_id"], "rep": r["rep"]} for r in rows]})
    report = build_report(out, console=QUIET)
    half = T_0975_4 * statistics.stdev(near_one) / math.sqrt(5)
    settled = report.cell(0).stats["settlement_rate"]
    assert settled.half_width == pytest.approx(half, abs=1e-6)
    assert settled.ci_low == pytest.approx(0.96 - half, abs=1e-6)
    assert settled.ci_high == 1.0
    delay = report.cell(0).stats["delay_indicator"]  # 1 - settled: [0, 0.151]
    assert delay.ci_low == 0.0
    assert delay.ci_high == pytest.approx(0.04 + half, abs=1e-6)
    diff = report.paired[0].diffs["settlement_rate"]
    assert diff.mean == pytest.approx(-0.9)
    assert diff.ci_low == -1.0
    assert diff.ci_high == pytest.approx(-0.9 + T_0975_4 * statistics.stdev(
        [b - a for a, b in zip(near_one, near_zero, strict=True)]) / math.sqrt(5), abs=1e-6)
    cost = report.cell(0).stats["cost_total"]  # not a share: never clipped
    assert cost.ci_low == cost.ci_high == 1.0
    assert "clipped to [0, 1]" in (out / "report.md").read_text()


def test_sql_in_the_report_reruns_through_open_views(hand: Path) -> None:
    report = build_report(hand, console=QUIET)
    with open_views(hand) as con:
        rows = con.execute(report.sql["paired"]).fetchall()
        assert len(rows) == 2 * len(REPORT_METRICS)
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert names == {"runs", "ticks", "transactions"}
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (12,)
        # the batch without a runs file (interrupted) is not visible
        assert con.execute("SELECT count(*), max(batch) FROM transactions").fetchone() == (12, "00002")
        assert con.execute("SELECT count(*) FROM ticks WHERE run_id = 'c0003-r0001'").fetchone() == (0,)


def test_missing_directory_is_a_report_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ReportError, match=str(missing)):
        build_report(missing, console=QUIET)
    with pytest.raises(ReportError, match="no such results directory"):
        open_views(missing)


def test_empty_directory_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=rf"{tmp_path}: no runs found"):
        build_report(tmp_path, console=QUIET)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_missing_manifest_is_a_report_error(hand: Path) -> None:
    (hand / "manifest.json").unlink()
    with pytest.raises(ReportError, match=re.escape("manifest.json: manifest not found")):
        build_report(hand, console=QUIET)


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "cannot read manifest"),
    ("[1, 2]", "not a JSON object"),
    ('{"sweep": "x", "grid_axes": []}', "missing key 'cells'"),
    ('{"sweep": "x", "grid_axes": [], "cells": [{"cell_id": 0}]}', r"cells\[0\] needs cell_id, cell and params"),
])
def test_a_broken_manifest_is_a_report_error_naming_the_problem(hand: Path, text: str, problem: str) -> None:
    (hand / "manifest.json").write_text(text)
    with pytest.raises(ReportError, match=rf"manifest.json: {problem}"):
        build_report(hand, console=QUIET)
    assert not (hand / "report.md").exists()


def test_a_file_is_not_a_results_directory(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"")
    with pytest.raises(ReportError, match="not a directory"):
        build_report(path, console=QUIET)


def test_pairs_on_different_seeds_are_refused(tmp_path: Path) -> None:
    out = make_hand_sweep(tmp_path, seeds_differ=True)
    with pytest.raises(ReportError, match=r"c0001-r0003 .* different seeds"):
        build_report(out, console=QUIET)


def test_duplicate_runs_are_refused(tmp_path: Path) -> None:
    out = make_hand_sweep(tmp_path, duplicate=True)
    with pytest.raises(ReportError, match="duplicate run_id"):
        build_report(out, console=QUIET)


def test_a_compare_axis_that_is_not_a_grid_axis_is_refused(hand: Path) -> None:
    manifest = json.loads((hand / "manifest.json").read_text())
    manifest["compare"] = {"axis": "policy", "baseline": "splitting"}
    (hand / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportError, match=re.escape("compare.baseline 'splitting'")):
        build_report(hand, console=QUIET)
    manifest["compare"] = {"axis": "lsm.mode", "baseline": "none"}
    (hand / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportError, match=re.escape("compare.axis 'lsm.mode'")):
        build_report(hand, console=QUIET)

"""The build step: a results directory in, :class:`Report` records out.

It only reads (the manifest, and the Parquet files through DuckDB); printing and writing are
:mod:`paysim_runner.report.terminal` and :mod:`paysim_runner.report.write`, so the same figures can
be built without touching the directory or the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from paysim_runner.report.model import CellSummary, Estimate, PairedSummary, Report, ReportError
from paysim_runner.report.pairing import Comparison, comparisons
from paysim_runner.report.sql import (
    CELL_STATS_SQL,
    EVENT_COUNTS_SQL,
    RUN_COUNTS_SQL,
    open_views,
    paired_stats_sql,
    seed_mismatch_sql,
)

Rows = list[dict[str, Any]]


def _fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str) -> Rows:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _query(results_dir: Path, pairing: Sequence[tuple[int, int]]) -> tuple[Rows, Rows, Rows]:
    """(run counts, cell statistics, paired statistics), after checking that no run is counted
    twice and that paired runs ran on the same seed."""
    runs = results_dir / "runs"
    # Read-only: the report's own SQL needs nothing beyond the sweep. Its sums run over lists in
    # run_id order (sql._unpivot_stats), so any thread count gives the same digits.
    with open_views(results_dir, tables=("runs",), read_only=True) as con:  # only the view it needs
        counts = _fetch_dicts(con, RUN_COUNTS_SQL)
        for c in counts:
            if c["n_runs"] != c["n_distinct"]:
                raise ReportError(f"{runs}: cell {c['cell_id']} has duplicate run_id rows")
        cell_rows = _fetch_dicts(con, CELL_STATS_SQL)
        if not pairing:
            return counts, cell_rows, []
        mismatch = _fetch_dicts(con, seed_mismatch_sql(pairing))
        if mismatch:
            m = mismatch[0]
            raise ReportError(
                f"{runs}: runs {m['run_id']} (seed {m['seed']}) and {m['baseline_run_id']}"
                f" (seed {m['baseline_seed']}) pair by replication but ran on different seeds"
            )
        return counts, cell_rows, _fetch_dicts(con, paired_stats_sql(pairing))


def _event_counts(results_dir: Path) -> dict[str, int]:
    """Event-log rows by type over the sweep; empty when nothing happened or no events table exists."""
    with open_views(results_dir, tables=("events",), read_only=True) as con:
        if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'events'").fetchall():
            return {}
        return {str(r["event_type"]): int(r["n"]) for r in _fetch_dicts(con, EVENT_COUNTS_SQL)}


def _estimates(rows: Iterable[dict[str, Any]], key_of: Callable[[dict[str, Any]], Hashable],
               ) -> dict[Any, dict[str, Estimate]]:
    out: dict[Any, dict[str, Estimate]] = {}
    for r in rows:
        out.setdefault(key_of(r), {})[r["metric"]] = Estimate(
            n=int(r["n"]), mean=r["mean"], sd=r["sd"], ci_low=r["ci_low"], ci_high=r["ci_high"],
            half_width=r["half_width"],
        )
    return out


def _cells(manifest: dict[str, Any], counts: Rows, cell_rows: Rows) -> list[CellSummary]:
    """One summary per manifest cell, in cell_id order; planned runs come from the manifest, so an
    interrupted sweep shows how many of its runs are missing."""
    n_runs = {c["cell_id"]: int(c["n_runs"]) for c in counts}
    n_planned: dict[int, int] = {}
    for run in manifest.get("runs", []):
        n_planned[run["cell_id"]] = n_planned.get(run["cell_id"], 0) + 1
    cell_stats = _estimates(cell_rows, lambda r: r["cell_id"])
    return [
        CellSummary(
            cell_id=c["cell_id"],
            cell=c["cell"],
            params=dict(c["params"]),
            n_runs=n_runs.get(c["cell_id"], 0),
            n_planned=n_planned.get(c["cell_id"], n_runs.get(c["cell_id"], 0)),
            stats=cell_stats.get(c["cell_id"], {}),
        )
        for c in sorted(manifest["cells"], key=lambda c: c["cell_id"])
    ]


def _paired(compared: Sequence[Comparison], cells: Sequence[CellSummary], paired_rows: Rows) -> list[PairedSummary]:
    label = {c.cell_id: c.cell for c in cells}
    pair_stats = _estimates(paired_rows, lambda r: (r["cell_id"], r["baseline_cell_id"]))
    return [
        PairedSummary(
            axis=compare["axis"],
            baseline=compare["baseline"],
            cell_id=c,
            cell=label[c],
            baseline_cell_id=b,
            baseline_cell=label[b],
            n_pairs=max((e.n for e in pair_stats.get((c, b), {}).values()), default=0),
            diffs=pair_stats.get((c, b), {}),
        )
        for compare, pairs in compared
        for c, b in pairs
    ]


def compute_report(results_dir: Path, manifest: dict[str, Any]) -> Report:
    """The figures of a sweep's report, computed with DuckDB over ``results_dir``'s Parquet files.

    ``manifest`` is the directory's manifest as :func:`paysim_runner.report.source.load_manifest`
    returns it (axes, cells, planned runs, which cells are baselines).
    """
    compared = comparisons(manifest, results_dir / "manifest.json")
    # a (cell, baseline) pair differs on exactly one axis, so the pairs of all comparisons are distinct
    pairing = [pair for _, pairs in compared for pair in pairs]
    counts, cell_rows, paired_rows = _query(results_dir, pairing)
    cells = _cells(manifest, counts, cell_rows)
    sql = {"cells": CELL_STATS_SQL}
    if pairing:
        sql["paired"] = paired_stats_sql(pairing)
    events = _event_counts(results_dir)
    if events:
        sql["events"] = EVENT_COUNTS_SQL
    plots = manifest.get("plots")
    return Report(
        results_dir=results_dir,
        sweep=str(manifest["sweep"]),
        grid_axes=list(manifest["grid_axes"]),
        compare=[compare for compare, _ in compared],
        cells=cells,
        paired=_paired(compared, cells, paired_rows),
        sql=sql,
        plots=plots if isinstance(plots, dict) else None,
        events=events,
    )

"""Sweep reports: DuckDB SQL over a sweep's Parquet logs (docs/reports.md).

Every statistic is computed by the SQL of :mod:`.sql`, run against the views of :func:`open_views`;
the same SQL is printed in ``report.md`` so a reader can re-run it with ``paysim sql``. Python only
reads ``manifest.json`` (axes, cells, which cell is the baseline), lays out tables and writes files.

One module per job: :mod:`.stats` (t-intervals), :mod:`.source` (the results directory),
:mod:`.sql` (views and queries), :mod:`.pairing` (which cells compare), :mod:`.build` (results in,
:class:`Report` out, nothing written), :mod:`.terminal`, :mod:`.markdown`, :mod:`.provenance` and
:mod:`.tables` (the views of a report), :mod:`.curves` (the intraday and per-bank figures' SQL),
:mod:`.figures` (which PNGs, by the sweep's shape), :mod:`.plots` and :mod:`.charts` (drawing them),
:mod:`.write` (the files).
:func:`build_report` runs them in order.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from paysim_runner.report.build import compute_report
from paysim_runner.report.figures import CurvePoint, liquidity_axis, liquidity_delay_series
from paysim_runner.report.markdown import HOW_TO_READ, fmt_estimate, fmt_number, md_table, render_markdown
from paysim_runner.report.model import (
    CELLS_CSV,
    COST_COMPONENTS,
    COST_PNG,
    HEADLINE_METRICS,
    LIQUIDITY_DELAY_PNG,
    PAIRED_CSV,
    RATE_METRICS,
    REPORT_MD,
    REPORT_METRICS,
    CellSummary,
    Estimate,
    PairedSummary,
    Report,
    ReportError,
)
from paysim_runner.report.pairing import compare_entries
from paysim_runner.report.source import check_results_dir, load_manifest
from paysim_runner.report.sql import (
    CELL_STATS_SQL,
    RUN_COUNTS_SQL,
    TABLES,
    open_views,
    paired_stats_sql,
    register_sql_functions,
)
from paysim_runner.report.stats import CONFIDENCE, ci_half_width, estimate, student_t_quantile, t_quantile_or_null
from paysim_runner.report.tables import csv_bytes
from paysim_runner.report.terminal import COST_HEADERS, SHORT_NAMES, fmt_short, print_report
from paysim_runner.report.write import write_report
from paysim_runner.sweep.spec import LIQUIDITY_AXES

__all__ = [
    "CELLS_CSV", "CELL_STATS_SQL", "CONFIDENCE", "COST_COMPONENTS", "COST_HEADERS", "COST_PNG", "HEADLINE_METRICS",
    "HOW_TO_READ", "LIQUIDITY_AXES", "LIQUIDITY_DELAY_PNG", "PAIRED_CSV", "RATE_METRICS", "REPORT_MD",
    "REPORT_METRICS", "RUN_COUNTS_SQL", "SHORT_NAMES", "TABLES", "CellSummary", "CurvePoint", "Estimate",
    "PairedSummary", "Report", "ReportError", "build_report", "check_results_dir", "ci_half_width", "compare_entries",
    "compute_report", "csv_bytes", "estimate", "fmt_estimate", "fmt_number", "fmt_short", "liquidity_axis",
    "liquidity_delay_series", "load_manifest", "md_table", "open_views", "paired_stats_sql", "print_report",
    "register_sql_functions", "render_markdown", "student_t_quantile", "t_quantile_or_null", "write_report",
]


def build_report(results_dir: Path | str, console: Console | None = None) -> Report:
    """Compute a sweep's report with DuckDB, write report.md, the CSVs and the PNGs beside it and
    print it to ``console`` (default: stdout; pass ``Console(quiet=True)`` for silence)."""
    started = time.perf_counter()
    results_dir = Path(results_dir)
    check_results_dir(results_dir)
    manifest = load_manifest(results_dir)
    report = compute_report(results_dir, manifest)
    report.files = write_report(report, manifest)
    report.seconds = time.perf_counter() - started
    print_report(report, console if console is not None else Console())
    return report

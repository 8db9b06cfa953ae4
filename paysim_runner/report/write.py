"""Writing a report's files beside its results: the CSVs, the PNGs, report.md and report.html.

Every file is rendered in memory first and then written atomically (storage's writer), so a reader
never sees a half-written file and a failure while drawing leaves the previous report in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paysim_runner.report.curves import query_curves
from paysim_runner.report.figures import render_figures
from paysim_runner.report.html import render_html
from paysim_runner.report.markdown import render_markdown
from paysim_runner.report.model import (
    BANKS_PNG,
    CELL_MEANS_PNG,
    CELLS_CSV,
    COST_PNG,
    INTRADAY_PNG,
    LIQUIDITY_DELAY_PNG,
    PAIRED_CSV,
    REPORT_HTML,
    REPORT_MD,
    Report,
    forest_png_name,
    tradeoff_png_name,
)
from paysim_runner.report.tables import cells_csv, paired_csv
from paysim_runner.storage import atomic_write_bytes


def render_files(report: Report, manifest: dict[str, Any]) -> dict[str, bytes]:
    """{file name: contents} of the report, in the order they are written."""
    files = {CELLS_CSV: cells_csv(report)}
    if report.paired:
        files[PAIRED_CSV] = paired_csv(report)
    curves = query_curves(report.results_dir, manifest)
    figures = render_figures(report, curves)
    files.update({f.name: f.png for f in figures})
    markdown = render_markdown(report, manifest, {f.caption: f.name for f in figures}, curves.sql)
    files[REPORT_HTML] = render_html(markdown, {f.name: f.png for f in figures}, f"paysim report: {report.sweep}")
    files[REPORT_MD] = markdown.encode()
    return files


def _stale_files(out: Path, files: dict[str, bytes]) -> list[Path]:
    """Report files in ``out`` that this report does not write: the paired CSV of a sweep that no
    longer compares, and PNGs of figures it no longer draws (report.md would not link them)."""
    named = [out / n for n in (PAIRED_CSV, COST_PNG, LIQUIDITY_DELAY_PNG, CELL_MEANS_PNG, INTRADAY_PNG, BANKS_PNG)]
    candidates = named + sorted(out.glob(forest_png_name("*"))) + sorted(out.glob(tradeoff_png_name("*")))
    return [p for p in candidates if p.name not in files and p.is_file()]


def write_report(report: Report, manifest: dict[str, Any]) -> list[Path]:
    """Write the report's files into ``report.results_dir``; the paths written, report.md last."""
    out = report.results_dir
    files = render_files(report, manifest)
    for stale in _stale_files(out, files):  # a file of an earlier report (or manifest) would mislead
        stale.unlink()
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in files]

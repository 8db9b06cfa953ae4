"""Writing a report's files beside its results: the CSVs, the PNGs, report.md and report.html.

Every file is rendered in memory first and then written atomically (storage's writer), so a reader
never sees a half-written file and a failure while drawing leaves the previous report in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paysim_runner.report.figures import render_figures
from paysim_runner.report.html import render_html
from paysim_runner.report.markdown import render_markdown
from paysim_runner.report.model import CELLS_CSV, PAIRED_CSV, REPORT_HTML, REPORT_MD, Report
from paysim_runner.report.tables import cells_csv, paired_csv
from paysim_runner.storage import atomic_write_bytes


def render_files(report: Report, manifest: dict[str, Any]) -> dict[str, bytes]:
    """{file name: contents} of the report, in the order they are written."""
    files = {CELLS_CSV: cells_csv(report)}
    if report.paired:
        files[PAIRED_CSV] = paired_csv(report)
    figures = render_figures(report)
    files.update({f.name: f.png for f in figures})
    markdown = render_markdown(report, manifest, {f.caption: f.name for f in figures})
    files[REPORT_HTML] = render_html(markdown, {f.name: f.png for f in figures}, f"paysim report: {report.sweep}")
    files[REPORT_MD] = markdown.encode()
    return files


def write_report(report: Report, manifest: dict[str, Any]) -> list[Path]:
    """Write the report's files into ``report.results_dir``; the paths written, report.md last."""
    out = report.results_dir
    files = render_files(report, manifest)
    if PAIRED_CSV not in files and (out / PAIRED_CSV).exists():
        (out / PAIRED_CSV).unlink()  # a stale file from an earlier manifest would mislead
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in files]

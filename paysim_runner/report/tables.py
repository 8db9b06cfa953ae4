"""The report's CSV files: one row per cell and metric, and one per compared pair and metric.

Numbers are written at full precision (Python's shortest round-trip repr), an empty field where a
figure is undefined (no interval from one run), so the files load back into the same floats.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from paysim_runner.report.model import REPORT_METRICS, Report


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file with ``\\n`` line ends and None written as an empty field."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue().encode()


def _param_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def cells_csv(report: Report) -> bytes:
    """report_cells.csv: per cell and metric, the runs counted and the estimate."""
    header = ["cell_id", "cell", *report.grid_axes, "n_runs", "n_planned", "metric", "n", "mean", "sd",
              "ci_low", "ci_high"]
    rows = []
    for c in report.cells:
        for m in REPORT_METRICS:
            e = c.stats.get(m)
            if e is None:
                continue
            rows.append([c.cell_id, c.cell, *(_param_text(c.params.get(a)) for a in report.grid_axes),
                         c.n_runs, c.n_planned, m, e.n, e.mean, e.sd, e.ci_low, e.ci_high])
    return csv_bytes(header, rows)


def paired_csv(report: Report) -> bytes:
    """report_paired.csv: per compared axis, cell, baseline cell and metric, the paired difference."""
    header = ["axis", "baseline", "cell_id", "cell", "baseline_cell_id", "baseline_cell", "metric", "n_pairs",
              "mean_diff", "sd_diff", "ci_low", "ci_high"]
    rows = [
        [p.axis, _param_text(p.baseline), p.cell_id, p.cell, p.baseline_cell_id, p.baseline_cell, m, e.n, e.mean,
         e.sd, e.ci_low, e.ci_high]
        for p in report.paired
        for m in REPORT_METRICS
        if (e := p.diffs.get(m)) is not None
    ]
    return csv_bytes(header, rows)

"""report.md: the report as a Markdown document, with the SQL that computed it.

It holds no timings or paths that vary, so the same results give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from paysim_runner.report.columns import Format, column_format
from paysim_runner.report.model import CELLS_CSV, COST_COMPONENTS, HEADLINE_METRICS, PAIRED_CSV, Estimate, Report
from paysim_runner.report.provenance import what_was_run


def fmt_number(x: float | None, digits: int = 4) -> str:
    """Significant digits for small figures, whole cents with separators for large ones."""
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_estimate(e: Estimate | None, style: str = "ci", fmt: Format = fmt_number) -> str:
    """'mean [low, high]' (style 'ci') or 'mean ± half' (style 'pm'); mean alone when n < 2.
    ``fmt`` formats each figure: the column's format (:func:`.columns.column_format`) in tables."""
    if e is None:
        return "–"
    if e.ci_low is None or e.ci_high is None:
        return f"{fmt(e.mean)} (n={e.n}, no CI)"
    if style == "pm":
        return f"{fmt(e.mean)} ± {fmt(e.half_width)}"
    return f"{fmt(e.mean)} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"


#: Marks a paired difference whose 95% CI excludes 0; a symbol, not only bold, so it survives
#: `cat`, pipes and plain-text viewers.
SIGNIFICANT_MARK = "*"


def _column(metric: str, estimates: Sequence[Estimate | None], marked: bool = False) -> list[str]:
    """A table column of ``metric``: one format for all its figures; with ``marked``, an interval
    that excludes 0 is bold and followed by SIGNIFICANT_MARK."""
    fmt = column_format(metric, estimates)
    out = []
    for e in estimates:
        text = fmt_estimate(e, fmt=fmt)
        out.append(f"**{text}** {SIGNIFICANT_MARK}" if marked and e is not None and e.excludes_zero else text)
    return out


def _rows(labels: Sequence[Sequence[str]], columns: Sequence[list[str]]) -> list[list[str]]:
    return [[*label, *(col[i] for col in columns)] for i, label in enumerate(labels)]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; ``|`` inside a cell is escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_md_escape(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


HOW_TO_READ = """\
- Each **cell** is one point of the sweep grid; each of its **runs** is one replication with its own
  seed. Replication *r* uses the same seed in every cell (common random numbers), so cells differ only
  by their parameters, never by their luck.
- Figures are **means over runs** with a **95% confidence interval** `[low, high]` = mean ± t₀.₉₇₅,ₙ₋₁ · s/√n
  (Student t, s = sample standard deviation across runs). A cell with one run has a mean and no interval.
  The intervals of the shares `settlement_rate`, `value_settlement_rate` and `delay_indicator` are
  clipped to [0, 1], and those of their paired differences to [−1, 1]: no run can fall outside.
- `settlement_rate` counts payments, `value_settlement_rate` weighs them by value.
  `delay_indicator` is Leinonen–Soramäki's Σv·(settle−arrival) / Σv·(horizon−arrival), where the horizon
  is the last tick a payment could settle: the end of its arrival day, or under `end_of_day: carry` the
  end of the run. 0 means every payment settled on arrival, 1 that none settled before its horizon; a
  payment that never settled counts as settling at its horizon, so it scores at least as badly as one
  settled late (under `carry`, compare only runs of equal length). `mean_delay_ticks` counts the same
  delays in ticks. `liquidity_used` sums over banks the peak of (opening balance − balance), in cents.
  Costs are in cents per run.
- **Paired differences** subtract, run by run, the baseline cell's figure from the cell's figure for
  the same replication (same seed), then average. Their interval is narrower than comparing two cell
  means because the common random arrivals cancel. An interval that excludes 0 is a difference the runs
  can distinguish from none at the 5% level: it is **bold** and followed by `*` (the mark survives
  plain text; in the terminal tables too).
- Within a column every figure has the same format: shares 4 decimals; money with thousands
  separators and no decimals once the column's largest figure reaches 10,000, otherwise the decimals
  that give that figure 4 significant digits. The CSVs keep full precision.
- Every figure here comes from the SQL at the end of this file, run with DuckDB over the Parquet files;
  run it yourself with `paysim sql <results dir> "<query>"` (views `runs`, `ticks`, `transactions`,
  `events` and the function `t_quantile(p, dof)` are predefined)."""


def _header(report: Report, manifest: Mapping[str, Any]) -> list[str]:
    versions = manifest.get("versions") or {}
    total_runs = sum(c.n_runs for c in report.cells)
    total_planned = sum(c.n_planned for c in report.cells)
    meta = [
        ("runs done", f"{total_runs} of {total_planned} planned"),
        ("baselines", ", ".join(f"`{c['axis']}` = `{c['baseline']}`" for c in report.compare) or "none"),
        ("created by", str(manifest.get("created_by", "–"))),
        ("git commit", f"`{manifest.get('git_commit', '–')}`"
                       + (" with uncommitted changes" if manifest.get("git_dirty") else "")),
        ("engine", f"{versions.get('engine', '–')} (schema {versions.get('schema', '–')})"),
    ]
    if report.events:  # scenario events and central-bank loans (docs/semantics.md#scenario-events)
        meta.append(("event log", ", ".join(f"`{kind}` × {n}" for kind, n in report.events.items())))
    run = what_was_run(manifest, total_planned, len(report.cells))
    return [f"# Report: sweep `{report.sweep}`", "", "## What was run", "", md_table(["", ""], run + meta), "",
            "## How to read this", "", HOW_TO_READ, ""]


def _cells_section(report: Report) -> list[str]:
    header = ["cell", "runs", *HEADLINE_METRICS]

    def columns(metrics: Sequence[str]) -> list[list[str]]:
        return [_column(m, [c.stats.get(m) for c in report.cells]) for m in metrics]

    rows = _rows([[c.cell, str(c.n_runs)] for c in report.cells], columns(HEADLINE_METRICS))
    out = ["## Per cell: mean [95% CI]", "", md_table(header, rows), ""]
    out += ["### Cost components: mean [95% CI], cents per run", ""]
    rows = _rows([[c.cell] for c in report.cells], columns(COST_COMPONENTS))
    return [*out, md_table(["cell", *COST_COMPONENTS], rows), ""]


def _paired_section(report: Report, compare: Mapping[str, Any]) -> list[str]:
    axis, baseline = compare["axis"], compare["baseline"]
    pairs = report.paired_along(axis)
    out = [f"## Paired differences against `{axis}` = `{baseline}`", ""]
    if not pairs:
        return [*out, "No cell has a baseline counterpart on the other axes.", ""]
    out += [
        "Mean of (cell − baseline) over runs with the same replication number and seed, [95% CI]. "
        f"**Bold** and `{SIGNIFICANT_MARK}`: the interval excludes 0.",
        "",
    ]
    labels = [[f"{p.cell} − {p.baseline_cell}", str(p.n_pairs)] for p in pairs]
    for group, metrics in (("Headline figures", HEADLINE_METRICS), ("Cost components", COST_COMPONENTS)):
        columns = [_column(m, [p.diffs.get(m) for p in pairs], marked=True) for m in metrics]
        out += [f"### {group} (`{axis}`)", "", md_table(["cell − baseline", "pairs", *metrics], _rows(labels, columns)),
                ""]
    return out


def _files_section(report: Report, figures: Mapping[str, str]) -> list[str]:
    out = ["## Figures", ""]
    for caption, name in figures.items():
        out += [f"### {caption}", "", f"![{caption}]({name})", ""]
    out += ["## Files", "", f"- `{CELLS_CSV}`: one row per cell and metric (n, mean, sd, ci_low, ci_high)."]
    if report.paired:
        out.append(f"- `{PAIRED_CSV}`: one row per compared axis, cell, baseline cell and metric (n_pairs, mean_diff, "
                   "sd_diff, CI).")
    return out + [f"- `{name}`" for name in figures.values()]


def render_markdown(report: Report, manifest: Mapping[str, Any], figures: Mapping[str, str],
                    figure_sql: Mapping[str, str] | None = None) -> str:
    """report.md of ``report``; ``manifest`` supplies the provenance rows (seeds, git commit, engine
    version), ``figures`` maps each figure's caption to its file name and ``figure_sql`` names the
    queries behind the intraday and per-bank figures."""
    out = _header(report, manifest) + _cells_section(report)
    for compare in report.compare:
        out += _paired_section(report, compare)
    out += _files_section(report, figures)
    out += ["", "## SQL used", ""]
    for name, sql in {**report.sql, **(figure_sql or {})}.items():
        out += [f"### {name}", "", "```sql", sql, "```", ""]
    return "\n".join(out)

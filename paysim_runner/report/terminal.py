"""The terminal view of a report: rich tables that fit 80 columns.

Figures are short (3 significant digits, k/M/G) and an estimate is two lines, mean over
±half-width, so columns stay narrow; label columns fold when the terminal is narrower still.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from paysim_runner.report.markdown import SIGNIFICANT_MARK
from paysim_runner.report.model import (
    COST_COMPONENTS,
    HEADLINE_METRICS,
    RATE_METRICS,
    REPORT_MD,
    Estimate,
    Report,
)

#: Short column headers for the terminal, where width is scarce.
SHORT_NAMES: dict[str, str] = {
    "settlement_rate": "settled",
    "value_settlement_rate": "value\nsettled",
    "delay_indicator": "delay\nind.",
    "liquidity_used": "liq.\nused",
    "cost_total": "cost\ntotal",
}

#: Cost columns of the terminal table, short enough for 80 columns: the component's name, abbreviated
#: where it is long (a new engine cost gets its first eight letters).
_ABBREVIATIONS = {"liquidity": "liquid.", "collateral": "collat."}
COST_HEADERS: dict[str, str] = {
    m: _ABBREVIATIONS.get(m.removeprefix("cost_"), m.removeprefix("cost_")[:8]) for m in COST_COMPONENTS
}


def fmt_short(x: float | None, digits: int = 3) -> str:
    """``digits`` significant digits with k/M/G for thousands, millions, billions: 414000 -> '414k'.

    Terminal tables use it so a figure fits its column and is never folded mid-digit at 80 columns.
    """
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    rounded = float(f"{x:.{digits}g}")
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(rounded) >= scale:
            return f"{rounded / scale:.{digits}g}{suffix}"
    return f"{rounded:.{digits}g}"


def _terminal_number(x: float | None, metric: str) -> str:
    """Shares with 3 decimals, other figures with 3 significant digits and k/M/G."""
    if x is not None and metric in RATE_METRICS and math.isfinite(x):
        text = f"{x:.3f}"
        return "0.000" if text == "-0.000" else text
    return fmt_short(x)


def _terminal_estimate(e: Estimate | None, metric: str, bold_if_nonzero: bool = False) -> Text:
    """'mean' over '±half-width' (two lines keep columns narrow); when the interval excludes 0, bold
    and marked with SIGNIFICANT_MARK after the mean, which a pipe or a colourless terminal keeps."""
    if e is None:
        return Text("–")
    if e.half_width is None:
        return Text(_terminal_number(e.mean, metric))
    marked = bold_if_nonzero and e.excludes_zero
    return Text(f"{_terminal_number(e.mean, metric)}{SIGNIFICANT_MARK if marked else ''}\n"
                f"±{_terminal_number(e.half_width, metric)}", style="bold" if marked else "")


def _number_column(table: Table, header: str) -> None:
    """Figures are never wrapped; when the terminal is narrow, the label columns fold instead."""
    table.add_column(header, justify="right", no_wrap=True)


def _axis_columns(report: Report, table: Table, skip: str | None = None) -> list[str]:
    axes = [a for a in report.grid_axes if a != skip]
    for a in axes:
        table.add_column(a, overflow="fold")
    return axes


def _cells_table(report: Report) -> Table:
    single = any(c.n_runs < 2 for c in report.cells)
    t = Table(title=f"{report.sweep}: mean ±95% CI half-width per cell", title_justify="left",
              caption="no ±: one run, no interval" if single else None, caption_justify="left")
    axes = _axis_columns(report, t)
    t.add_column("n", justify="right", no_wrap=True)
    for m in HEADLINE_METRICS:
        _number_column(t, SHORT_NAMES[m])
    for c in report.cells:
        n = f"{c.n_runs}" if c.n_runs == c.n_planned else f"{c.n_runs}/{c.n_planned}"
        t.add_row(*(Text(str(c.params.get(a))) for a in axes), n,
                  *(_terminal_estimate(c.stats.get(m), m) for m in HEADLINE_METRICS))
    return t


def _costs_table(report: Report) -> Table:
    t = Table(title="cost components: mean ±95% CI per run (cents)", title_justify="left")
    axes = _axis_columns(report, t)
    for m in COST_COMPONENTS:
        _number_column(t, COST_HEADERS[m])
    for c in report.cells:
        t.add_row(*(Text(str(c.params.get(a))) for a in axes),
                  *(_terminal_estimate(c.stats.get(m), m) for m in COST_COMPONENTS))
    return t


def _paired_table(report: Report, compare: dict[str, Any]) -> Table | None:
    axis, baseline = compare["axis"], compare["baseline"]
    pairs = report.paired_along(axis)
    if not pairs:
        return None
    t = Table(title=f"paired differences vs {axis}={baseline}, same seeds (*: 95% CI excludes 0)",
              title_justify="left")
    axes = _axis_columns(report, t, skip=axis)
    t.add_column(axis, overflow="fold")
    t.add_column("pairs", justify="right", no_wrap=True)
    for m in HEADLINE_METRICS:
        _number_column(t, "Δ " + SHORT_NAMES[m])
    for p in pairs:
        params = report.cell(p.cell_id).params
        t.add_row(*(Text(str(params.get(a))) for a in axes), Text(str(params.get(axis))), str(p.n_pairs),
                  *(_terminal_estimate(p.diffs.get(m), m, bold_if_nonzero=True) for m in HEADLINE_METRICS))
    return t


def print_report(report: Report, console: Console) -> None:
    """The terminal view: headline metrics and cost components per cell (one column per grid axis),
    then paired differences against the baseline."""
    console.print(_cells_table(report))
    console.print(_costs_table(report))
    for compare in report.compare:
        table = _paired_table(report, compare)
        if table is not None:
            console.print(table)
    console.print(f"report written to {report.results_dir / REPORT_MD} ({report.seconds:.2f} s)")

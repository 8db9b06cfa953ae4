"""Formats: one number format per column in report.md, and a significance mark that is a symbol,
so it survives pipes and plain text (report.md and the terminal)."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

from paysim_runner.report import CellSummary, Estimate, PairedSummary, Report, print_report, render_markdown
from paysim_runner.report.columns import column_format


def _e(mean: float, half: float) -> Estimate:
    return Estimate(n=5, mean=mean, sd=half, ci_low=mean - half, ci_high=mean + half, half_width=half)


def test_a_column_has_one_format() -> None:
    shares = column_format("settlement_rate", [_e(0.5, 0.1)])
    assert [shares(x) for x in (0.5, 1.0, -0.00001)] == ["0.5000", "1.0000", "0.0000"]
    small = column_format("cost_delay", [_e(12.345, 1.0), _e(1.2, 0.5)])  # largest 13.345: 4 significant digits
    assert [small(x) for x in (12.345, 1.2, 0.0)] == ["12.35", "1.20", "0.00"]
    large = column_format("liquidity_used", [_e(2_242_295.4, 1000.0), _e(950.0, 10.0)])
    assert [large(x) for x in (2_242_295.4, 950.0)] == ["2,242,295", "950"]
    assert column_format("cost_eod", [_e(0.0, 0.0)])(0.0) == "0"


def _report() -> Report:
    stats = {"settlement_rate": _e(0.91234, 0.01), "liquidity_used": _e(2_000_000.0, 5000.0),
             "cost_total": _e(1234.5, 100.0)}
    other = {"settlement_rate": _e(0.5, 0.2), "liquidity_used": _e(800.0, 50.0), "cost_total": _e(12.0, 1.0)}
    cells = [CellSummary(0, "lsm_mode=none", {"lsm_mode": "none"}, 5, 5, stats),
             CellSummary(1, "lsm_mode=t2", {"lsm_mode": "t2"}, 5, 5, other)]
    diffs = {"settlement_rate": _e(0.05, 0.01),  # excludes 0
             "liquidity_used": _e(-100.0, 500.0),  # does not
             "cost_total": _e(-50.0, 10.0)}
    paired = [PairedSummary("lsm_mode", "none", 1, "lsm_mode=t2", 0, "lsm_mode=none", 5, diffs)]
    return Report(Path("."), "s", ["lsm_mode"], [{"axis": "lsm_mode", "baseline": "none"}], cells, paired, {})


def _table_column(md: str, heading: str, column: str) -> list[str]:
    table = md.split(heading)[1].split("\n\n")[1].splitlines()
    index = [h.strip() for h in table[0].strip("|").split("|")].index(column)
    return [row.strip("|").split("|")[index].strip() for row in table[2:]]


def test_report_md_formats_each_column_alike() -> None:
    md = render_markdown(_report(), {}, {})
    assert _table_column(md, "## Per cell", "settlement_rate") == ["0.9123 [0.9023, 0.9223]", "0.5000 [0.3000, 0.7000]"]
    # the column's largest figure is 2,005,000: every figure of it whole, with separators
    assert _table_column(md, "## Per cell", "liquidity_used") == ["2,000,000 [1,995,000, 2,005,000]", "800 [750, 850]"]
    assert _table_column(md, "## Per cell", "cost_total") == ["1234 [1134, 1334]", "12 [11, 13]"]


def test_the_significance_mark_is_a_symbol_in_report_md_and_the_terminal() -> None:
    report = _report()
    md = render_markdown(report, {}, {})
    row = md.split("### Headline figures")[1].splitlines()[4]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "**0.0500 [0.0400, 0.0600]** *"
    assert cells[5] == "-100.0 [-600.0, 400.0]"  # includes 0: no mark
    assert cells[6] == "**-50.00 [-60.00, -40.00]** *"
    assert "followed by `*`" in md  # explained in "How to read this"
    plain = re.sub(r"\*\*", "", md)  # what is left with bold lost
    assert "0.0500 [0.0400, 0.0600] *" in plain
    console = Console(record=True, width=160, no_color=True)
    print_report(report, console)
    text = console.export_text(styles=False)
    assert "0.050*" in text
    assert "-100*" not in text
    assert "-50*" in text
    assert "*: 95% CI excludes 0" in text

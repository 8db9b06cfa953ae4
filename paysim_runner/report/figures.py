"""Which figures a report has, and the data each one plots.

The choice of figures and their series are plain functions of the :class:`Report`; drawing them is
:mod:`paysim_runner.report.plots`, imported only when PNGs are rendered so that matplotlib loads
only for writing.
"""

from __future__ import annotations

from typing import NamedTuple

from paysim_runner.report.model import COST_COMPONENTS, COST_PNG, LIQUIDITY_DELAY_PNG, CellSummary, Estimate, Report
from paysim_runner.sweep.spec import LIQUIDITY_AXES  # by name alone, when a manifest has no ``plots``

#: (liquidity level, delay indicator, value settlement rate) of one cell.
CurvePoint = tuple[float, "Estimate | None", "Estimate | None"]



class RenderedFigure(NamedTuple):
    name: str  # file name beside report.md
    caption: str
    png: bytes


def liquidity_axis(report: Report) -> str | None:
    """The grid axis of the liquidity–delay curve: ``plots.liquidity_delay.x`` of the manifest (the
    sweep's ``plot: {liquidity_delay: {x: AXIS}}``, or an axis named liquidity_fraction or
    balance_scale), if it is numeric with two or more values."""
    if report.plots is not None:
        declared = (report.plots.get("liquidity_delay") or {}).get("x")
        wanted = [declared] if isinstance(declared, str) else []
    else:
        wanted = [a for a in report.grid_axes if a in LIQUIDITY_AXES]
    for axis in wanted:
        values = {c.params.get(axis) for c in report.cells}
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if axis in report.grid_axes and numeric and len(values) >= 2:
            return axis
    return None


def liquidity_delay_series(report: Report) -> tuple[str, dict[str, list[CurvePoint]]] | None:
    """Delay indicator and value settlement rate against the liquidity axis, one line per
    combination of the other axes (e.g. one per LSM mode)."""
    axis = liquidity_axis(report)
    if axis is None:
        return None
    series: dict[str, list[CurvePoint]] = {}
    for c in report.cells:
        others = [f"{a}={c.params.get(a)}" for a in report.grid_axes if a != axis]
        name = ", ".join(others) or "all runs"
        series.setdefault(name, []).append(
            (float(c.params[axis]), c.stats.get("delay_indicator"), c.stats.get("value_settlement_rate"))
        )
    for points in series.values():
        points.sort(key=lambda p: p[0])
    return axis, series


def _mean(cell: CellSummary, metric: str) -> float:
    e = cell.stats.get(metric)
    return 0.0 if e is None or e.mean is None else float(e.mean)


def render_figures(report: Report) -> list[RenderedFigure]:
    """The report's PNGs: the cost breakdown always, the liquidity–delay curve when the sweep has a
    liquidity axis."""
    from paysim_runner.report import plots  # matplotlib loads only when files are written

    png = plots.cost_breakdown_png(
        [c.cell for c in report.cells],
        {m: [_mean(c, m) for c in report.cells] for m in COST_COMPONENTS},
        [c.stats.get("cost_total") for c in report.cells],
    )
    figures = [RenderedFigure(COST_PNG, "Cost breakdown by cell (mean per run, cents)", png)]
    curve = liquidity_delay_series(report)
    if curve is not None:
        axis, series = curve
        figures.append(RenderedFigure(LIQUIDITY_DELAY_PNG, f"Liquidity–delay curve over `{axis}`",
                                      plots.liquidity_delay_png(series, xlabel=axis)))
    return figures

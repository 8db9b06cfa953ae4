"""Which figures a report has, and the data each one plots.

The choice of figures and their series are plain functions of the :class:`Report`; drawing them is
:mod:`paysim_runner.report.plots`, imported only when PNGs are rendered so that matplotlib loads
only for writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from paysim_runner.report.curves import TOP_BANKS, Curves
from paysim_runner.report.model import (
    BANKS_PNG,
    CELL_MEANS_PNG,
    COST_COMPONENTS,
    COST_PNG,
    HEADLINE_METRICS,
    INTRADAY_PNG,
    LIQUIDITY_DELAY_PNG,
    RATE_METRICS,
    CellSummary,
    Estimate,
    Report,
    forest_png_name,
    tradeoff_png_name,
)

if TYPE_CHECKING:
    from paysim_runner.report.charts import Point, XPoint
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


#: Axis labels of the liquidity axes the runner defines (docs/runner.md#sweeps).
AXIS_LABELS = {
    "liquidity_fraction": "liquidity f (opening = LB + f·(UB − LB))",
    "balance_scale": "opening balances × balance_scale",
    "credit_scale": "credit limits × credit_scale",
}


def numeric_axes(report: Report) -> list[str]:
    """The grid axes whose values are all numbers, with two or more of them: each gets a trade-off
    curve (a line plot), where bars per cell would hide the shape."""
    out = []
    for axis in report.grid_axes:
        values = {c.params.get(axis) for c in report.cells}
        if len(values) >= 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out.append(axis)
    return out


def _point(label: str, e: Estimate | None) -> Point | None:
    if e is None or e.mean is None:
        return None
    return (label, float(e.mean), e.ci_low, e.ci_high)


def _xpoint(x: float, e: Estimate | None) -> XPoint | None:
    if e is None or e.mean is None:
        return None
    return (x, float(e.mean), e.ci_low, e.ci_high)


def _lines_over(report: Report, axis: str, metric: str) -> dict[str, list[XPoint]]:
    """``metric`` against ``axis``, one line per combination of the other axes."""
    lines: dict[str, list[XPoint]] = {}
    for c in report.cells:
        name = ", ".join(f"{a}={c.params.get(a)}" for a in report.grid_axes if a != axis) or "all runs"
        point = _xpoint(float(c.params[axis]), c.stats.get(metric))
        lines.setdefault(name, [])
        if point is not None:
            lines[name].append(point)
    return {name: sorted(points) for name, points in lines.items()}


def _cell_means(report: Report) -> RenderedFigure:
    from paysim_runner.report import charts

    panels = {m: [p for c in report.cells if (p := _point(c.cell, c.stats.get(m))) is not None]
              for m in HEADLINE_METRICS}
    return RenderedFigure(CELL_MEANS_PNG, "Per cell: mean and 95% CI of the headline figures",
                          charts.dot_panels_png(panels, "Per cell: mean, 95% CI",
                                                clip={m: (-0.02, 1.02) for m in RATE_METRICS}))


def _forest(report: Report, compare: dict[str, Any]) -> RenderedFigure:
    from paysim_runner.report import charts

    axis, baseline = compare["axis"], compare["baseline"]
    pairs = report.paired_along(axis)
    panels = {m: [p for pair in pairs if (p := _point(f"{pair.cell} − {pair.baseline_cell}", pair.diffs.get(m)))
                  is not None] for m in HEADLINE_METRICS}
    return RenderedFigure(forest_png_name(axis), f"Paired differences against `{axis}` = `{baseline}`: forest plot",
                          charts.dot_panels_png(panels, f"cell − baseline ({axis} = {baseline}): mean, 95% CI",
                                                zero_line=True))


def _tradeoff(report: Report, axis: str) -> RenderedFigure:
    from paysim_runner.report import charts

    total = _lines_over(report, axis, "cost_total")
    used = [m for m in COST_COMPONENTS if any(_mean(c, m) != 0.0 for c in report.cells)]
    parts = {name: {m.removeprefix("cost_"): _lines_over(report, axis, m)[name] for m in used} for name in total}
    label = AXIS_LABELS.get(axis, axis)
    return RenderedFigure(tradeoff_png_name(axis), f"Cost against `{axis}`",
                          charts.tradeoff_png(total, parts, xlabel=label, title=f"Cost per run against {axis}"))


def _intraday(report: Report, curves: Curves) -> RenderedFigure:
    """Panels by the combination of non-numeric axes when there is a numeric axis (its values are
    then the lines, coloured in order); one panel of every cell otherwise."""
    from paysim_runner.report import charts

    numeric = numeric_axes(report)
    line_axis = numeric[0] if numeric else None
    panel_of: dict[int, str] = {}
    label_of: dict[int, str] = {}
    for c in report.cells:
        others = [f"{a}={c.params.get(a)}" for a in report.grid_axes if a != line_axis]
        panel_of[c.cell_id] = ", ".join(others) if line_axis is not None and others else "all cells"
        label_of[c.cell_id] = f"{line_axis}={c.params.get(line_axis)}" if line_axis is not None else c.cell
    panels: dict[str, dict[str, dict[str, list[XPoint]]]] = {}
    for r in curves.intraday:
        half = r["half_width"]
        mean = float(r["mean"])
        point = (float(r["tick"]), mean, None if half is None else mean - half, None if half is None else mean + half)
        cell = r["cell_id"]
        panels.setdefault(panel_of[cell], {}).setdefault(r["metric"], {}).setdefault(label_of[cell], []).append(point)
    labels = list(dict.fromkeys(label_of[c.cell_id] for c in report.cells))
    colours = {label: colour_of(i, len(labels)) for i, label in enumerate(labels)}
    return RenderedFigure(INTRADAY_PNG, "Intraday: system Queue 2 value and liquidity in use, mean over runs with "
                          "95% CI band", charts.intraday_png(panels, colours))


def colour_of(i: int, n: int) -> str:
    """tab10 for up to ten lines; beyond, viridis in order (an ordered axis reads as a gradient)."""
    from matplotlib import colormaps

    from paysim_runner.report.plots import TAB10

    if n <= len(TAB10):
        return TAB10[i]

    r, g, b, _ = colormaps["viridis"](i / max(n - 1, 1))
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _banks(curves: Curves) -> RenderedFigure:
    from paysim_runner.report import charts

    def points(rows: list[dict[str, Any]]) -> list[Point]:
        return [(r["bank"], float(r["mean"]),
                 None if r["half_width"] is None else float(r["mean"]) - r["half_width"],
                 None if r["half_width"] is None else float(r["mean"]) + r["half_width"]) for r in rows]

    return RenderedFigure(BANKS_PNG, f"Per bank: the top {TOP_BANKS} by liquidity in use and by delay",
                          charts.banks_png(points(curves.bank_liquidity), points(curves.bank_delay), TOP_BANKS))


def render_figures(report: Report, curves: Curves) -> list[RenderedFigure]:
    """The report's PNGs, chosen by the sweep's shape: per-cell means always; a forest plot per
    comparison; a cost trade-off curve per numeric axis, and the liquidity–delay curve over a
    liquidity axis; stacked cost bars only when no axis is numeric (over a numeric axis most bars
    would be near empty and the curve shows the same); intraday and per-bank views when the sweep
    logged ticks or transactions."""
    from paysim_runner.report import plots  # matplotlib loads only when files are written

    figures = [_cell_means(report)]
    figures += [_forest(report, compare) for compare in report.compare if report.paired_along(compare["axis"])]
    numeric = numeric_axes(report)
    figures += [_tradeoff(report, axis) for axis in numeric]
    curve = liquidity_delay_series(report)
    if curve is not None:
        axis, series = curve
        figures.append(RenderedFigure(LIQUIDITY_DELAY_PNG, f"Liquidity–delay curve over `{axis}`",
                                      plots.liquidity_delay_png(series, xlabel=AXIS_LABELS.get(axis, axis))))
    if not numeric:
        png = plots.cost_breakdown_png(
            [c.cell for c in report.cells],
            {m: [_mean(c, m) for c in report.cells] for m in COST_COMPONENTS},
            [c.stats.get("cost_total") for c in report.cells],
        )
        figures.append(RenderedFigure(COST_PNG, "Cost breakdown by cell (mean per run, cents)", png))
    if curves.intraday:
        figures.append(_intraday(report, curves))
    if curves.bank_liquidity or curves.bank_delay:
        figures.append(_banks(curves))
    return figures

"""PNG figures of a sweep report, drawn with matplotlib's Agg canvas.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot), so nothing touches the
global backend or leaks figures, and each function returns the PNG bytes for an atomic write.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Protocol

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Colours of the cost components by position in the engine's cost order, stable across figures:
#: matplotlib's tab10 colours (red and purple swapped, so deadline penalties are red); an eleventh
#: cost would reuse the cycle.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")


class Interval(Protocol):
    """What a plotted point needs: a mean and an optional confidence interval (read-only, so frozen
    dataclasses such as the report's Estimate qualify)."""

    @property
    def mean(self) -> float | None: ...

    @property
    def ci_low(self) -> float | None: ...

    @property
    def ci_high(self) -> float | None: ...


def png_bytes(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def cost_breakdown_png(
    cells: Sequence[str],
    components: Mapping[str, Sequence[float]],
    totals: Sequence[Interval | None] = (),
) -> bytes:
    """Horizontal stacked bars: each cell's mean cost per run split into its components, with the
    95% CI of the total cost as a black bar where there is one."""
    height = 1.9 + 0.42 * max(len(cells), 1)
    fig = Figure(figsize=(9.0, height), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(cells)))
    left = [0.0] * len(cells)
    for k, (name, values) in enumerate(components.items()):
        ax.barh(positions, values, left=left, color=TAB10[k % len(TAB10)], label=name.removeprefix("cost_"))
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in zip(positions, totals, strict=False):  # totals may be empty
        if total is not None and total.mean is not None and total.ci_low is not None and total.ci_high is not None:
            ax.errorbar([total.mean], [y], xerr=[[total.mean - total.ci_low], [total.ci_high - total.mean]],
                        color="black", capsize=3, linewidth=1.0)
    ax.set_yticks(positions, labels=list(cells), fontsize=8)
    ax.invert_yaxis()  # first cell on top, as in the tables
    ax.set_xlabel("mean cost per run (cents); black: 95% CI of the total")
    ax.set_xlim(left=0.0)
    ax.set_title("Cost breakdown by cell")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=len(components), fontsize=8, frameon=False)
    return png_bytes(fig)


def _errorbar(ax: Axes, points: Sequence[tuple[float, Interval | None]], label: str, marker: str,
              dodge: float = 0.0) -> None:
    xs: list[float] = []
    ys: list[float] = []
    below: list[float] = []
    above: list[float] = []
    for x, e in points:
        if e is None or e.mean is None:
            continue
        xs.append(x + dodge)
        ys.append(e.mean)
        below.append(0.0 if e.ci_low is None else e.mean - e.ci_low)
        above.append(0.0 if e.ci_high is None else e.ci_high - e.mean)
    ax.errorbar(xs, ys, yerr=[below, above], label=label, marker=marker, capsize=3, linewidth=1.4)


_MARKERS = "osD^vP*X"


def liquidity_delay_png(
    series: Mapping[str, Sequence[tuple[float, Interval | None, Interval | None]]],
    xlabel: str,
    title: str = "Liquidity–delay trade-off",
) -> bytes:
    """Two panels against the liquidity level: the delay indicator and the value settlement rate,
    one line per series (e.g. LSM on / off), with 95% CI bars.

    Each point is (liquidity level, delay indicator estimate, value settlement rate estimate).
    """
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    delay_ax, settled_ax = fig.subplots(1, 2)
    xs = [x for points in series.values() for x, _, _ in points]
    step = 0.006 * (max(xs) - min(xs)) if xs else 0.0  # side-step the lines so CI bars stay apart
    for i, (name, points) in enumerate(series.items()):
        marker = _MARKERS[i % len(_MARKERS)]
        dodge = (i - (len(series) - 1) / 2) * step
        _errorbar(delay_ax, [(x, d) for x, d, _ in points], name, marker, dodge)
        _errorbar(settled_ax, [(x, v) for x, _, v in points], name, marker, dodge)
    delay_ax.set_ylabel("delay indicator (0 = none, 1 = all to end of day)")
    settled_ax.set_ylabel("value settlement rate")
    for ax in (delay_ax, settled_ax):  # shares: an axis beyond [0, 1] would show values no run can have
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, 0.0), min(high, 1.0))
    for ax in (delay_ax, settled_ax):
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return png_bytes(fig)

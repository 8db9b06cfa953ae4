"""The figure of experiments/gridlock_resolution: value settled and share of the optimum against
the liquidity level, one line per LSM mode with 95% CI bars, drawn on matplotlib's Agg canvas as
the runner's report figures are (paysim_runner/report/plots.py)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from paysim_runner.report import Estimate

_MARKERS = "osD^vP*X"


def _errorbar(ax: Axes, points: Sequence[tuple[float, Estimate | None]], label: str, marker: str,
              dodge: float) -> None:
    shown = [(x + dodge, e.mean, e.ci_low, e.ci_high) for x, e in points if e is not None and e.mean is not None]
    below = [0.0 if low is None else mean - low for _, mean, low, _ in shown]
    above = [0.0 if high is None else high - mean for _, mean, _, high in shown]
    ax.errorbar([x for x, _, _, _ in shown], [mean for _, mean, _, _ in shown], yerr=[below, above], label=label,
                marker=marker, capsize=3, linewidth=1.4)


def gridlock_png(series: Mapping[str, Sequence[tuple[float, Estimate | None, Estimate | None]]],
                 xlabel: str, title: str) -> bytes:
    """Two panels against the liquidity level; each point is (f, value settled, share of optimum).
    A share of optimum of None (no LSM pass had anything to settle, as at f = 1) is left out."""
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    settled_ax, optimum_ax = fig.subplots(1, 2)
    xs = [x for points in series.values() for x, _, _ in points]
    step = 0.004 * (max(xs) - min(xs)) if xs else 0.0  # side-step the lines so CI bars stay apart
    for i, (name, points) in enumerate(series.items()):
        marker = _MARKERS[i % len(_MARKERS)]
        dodge = (i - (len(series) - 1) / 2) * step
        _errorbar(settled_ax, [(x, v) for x, v, _ in points], name, marker, dodge)
        _errorbar(optimum_ax, [(x, s) for x, _, s in points], name, marker, dodge)
    settled_ax.set_ylabel("value settled by end of day (share)")
    optimum_ax.set_ylabel("LSM value settled ÷ per-pass optimum")
    for ax in (settled_ax, optimum_ax):
        ax.set_xlabel(xlabel)
        ax.set_ylim(top=1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()

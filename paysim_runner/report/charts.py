"""The headline PNGs of a report: per-cell means, paired-difference forest plots, cost trade-off
curves, intraday curves and per-bank views (matplotlib's Agg canvas, as :mod:`.plots`).

Each function takes plain numbers (the caller, :mod:`.figures`, picks them from the report) and
returns PNG bytes written with :func:`paysim_runner.report.plots.png_bytes`, so the same numbers
give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from paysim_runner.report.plots import TAB10, png_bytes

#: (label, mean, ci_low, ci_high); the interval is None for a single run.
Point = tuple[str, float, float | None, float | None]
#: (x, mean, ci_low, ci_high) of a curve.
XPoint = tuple[float, float, float | None, float | None]


def _xerr(points: Sequence[Point]) -> list[list[float]]:
    return [[0.0 if lo is None else m - lo for _, m, lo, _ in points],
            [0.0 if hi is None else hi - m for _, m, _, hi in points]]


def dot_panels_png(panels: Mapping[str, Sequence[Point]], title: str, zero_line: bool = False,
                   clip: Mapping[str, tuple[float, float]] | None = None) -> bytes:
    """One panel per metric, one row per label: the mean as a dot with its 95% CI as a bar. With
    ``zero_line`` (a forest plot of paired differences) a vertical line marks no difference."""
    labels = [p[0] for p in next(iter(panels.values()), [])]
    fig = Figure(figsize=(3.0 * max(len(panels), 1) + 2.5, 1.4 + 0.32 * max(len(labels), 1)), layout="constrained")
    axes = fig.subplots(1, max(len(panels), 1), sharey=True, squeeze=False)[0]
    for ax, (metric, points) in zip(axes, panels.items(), strict=False):
        ys = list(range(len(points)))
        ax.errorbar([m for _, m, _, _ in points], ys, xerr=_xerr(points), fmt="o", color=TAB10[0],
                    capsize=3, markersize=4, linewidth=1.2)
        if zero_line:
            ax.axvline(0.0, color="black", linewidth=0.9)
        if clip is not None and metric in clip:  # never beyond the values a share can take
            low, high = ax.get_xlim()
            ax.set_xlim(max(low, clip[metric][0]), min(high, clip[metric][1]))
        ax.set_title(metric, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(range(len(labels)), labels=labels, fontsize=7)
    axes[0].invert_yaxis()  # first row on top, as in the tables
    fig.suptitle(title, fontsize=10)
    return png_bytes(fig)


def tradeoff_png(lines: Mapping[str, Sequence[XPoint]], components: Mapping[str, Mapping[str, Sequence[XPoint]]],
                 xlabel: str, title: str) -> bytes:
    """Left: mean total cost per run against a numeric axis, one line per combination of the
    other axes, 95% CI bars. Right: the cost components of each line (means), which show what
    trades off against what (e.g. collateral against delay and penalties)."""
    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    total_ax, parts_ax = fig.subplots(1, 2)
    styles = ("-", "--", ":", "-.")
    for i, (name, points) in enumerate(lines.items()):
        xs = [x for x, _, _, _ in points]
        total_ax.errorbar(xs, [m for _, m, _, _ in points], yerr=_xerr([("", m, lo, hi) for _, m, lo, hi in points]),
                          marker="o", capsize=3, linewidth=1.4, label=name, color=TAB10[i % len(TAB10)])
        for k, (part, values) in enumerate(components.get(name, {}).items()):
            parts_ax.plot([x for x, _, _, _ in values], [m for _, m, _, _ in values], styles[i % len(styles)],
                          marker=".", color=TAB10[k % len(TAB10)],
                          label=part if i == 0 else None)
    total_ax.set_ylabel("mean total cost per run (cents), 95% CI")
    parts_ax.set_ylabel("mean cost per run (cents)")
    for ax in (total_ax, parts_ax):
        ax.set_xlabel(xlabel)
        ax.set_ylim(bottom=0.0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # no component line when every cost is 0
            ax.legend(fontsize=7)
    if len(lines) > 1:
        parts_ax.set_title("line style: " + ", ".join(f"{styles[i % len(styles)]} {n}" for i, n in enumerate(lines)),
                           fontsize=7)
    fig.suptitle(title, fontsize=10)
    return png_bytes(fig)


#: The intraday metrics, top row first, with their axis labels.
INTRADAY_METRICS = {"queue2_value": "system Queue 2 value (cents)", "liquidity_in_use": "liquidity in use (cents)"}


def intraday_png(panels: Mapping[str, Mapping[str, Mapping[str, Sequence[XPoint]]]],
                 colours: Mapping[str, str]) -> bytes:
    """One row per INTRADAY_METRICS entry by one column per panel ({panel: {metric: {cell: points}}}):
    one line per cell over the ticks of the day, the mean over runs with its 95% CI as a band."""
    names = list(panels)
    fig = Figure(figsize=(4.6 * max(len(names), 1) + 2.0, 6.4), layout="constrained")
    grid = fig.subplots(2, max(len(names), 1), sharex=True, sharey="row", squeeze=False)
    for col, name in enumerate(names):
        for row, metric in enumerate(INTRADAY_METRICS):
            ax = grid[row][col]
            for label, points in panels[name].get(metric, {}).items():
                xs = [p[0] for p in points]
                ax.plot(xs, [p[1] for p in points], color=colours[label], linewidth=1.2, label=label)
                ax.fill_between(xs, [p[1] if p[2] is None else p[2] for p in points],
                                [p[1] if p[3] is None else p[3] for p in points],
                                color=colours[label], alpha=0.15, linewidth=0)
            ax.set_ylim(bottom=0.0)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            if row == 0:
                ax.set_title(name, fontsize=9)
            else:
                ax.set_xlabel("tick")
    for row, label in enumerate(INTRADAY_METRICS.values()):
        grid[row][0].set_ylabel(label)
    grid[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Intraday: mean over runs, band = 95% CI", fontsize=10)
    return png_bytes(fig)


def banks_png(liquidity: Sequence[Point], delay: Sequence[Point], top: int) -> bytes:
    """Two panels: the ``top`` banks by peak liquidity in use and by delay indicator, mean over
    every run of the sweep with 95% CI bars, highest on top."""
    panels = [(p, t) for p, t in ((liquidity, "peak liquidity in use (cents)"), (delay, "delay indicator"))
              if p]
    fig = Figure(figsize=(5.2 * len(panels), 1.6 + 0.3 * top), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (points, label) in zip(axes, panels, strict=True):
        ys = list(range(len(points)))
        ax.barh(ys, [m for _, m, _, _ in points], xerr=_xerr(points), color=TAB10[0], capsize=3)
        ax.set_yticks(ys, labels=[p[0] for p in points], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.set_xlim(left=0.0)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(f"top {top} banks by {label.split(' (')[0]}", fontsize=9)
    fig.suptitle("Per bank, mean over every run of the sweep, 95% CI", fontsize=10)
    return png_bytes(fig)

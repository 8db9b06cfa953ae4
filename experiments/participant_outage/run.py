"""The loss of a participant under eight RTGS designs (after RBA RDP 2012-05 and DNB WP 836).

On the 50-bank core–periphery day, the day's largest sender by value stops paying (an engine
``outage`` event, docs/semantics.md#scenario-events) early, mid-morning or mid-day, until the close.
Each outage day is paired with the same day without the outage (same seed, same payments), under
LSM none / bilateral / multilateral / t2 × ``rtgs.queue`` fifo_bypass / t2. For the other banks it
measures the value left unsettled at the close and the delay indicator, and the liquidity trapped
at the failed bank; each as outage − baseline per seed, with 95% Student-t intervals over seeds.
The model is in outage_day.py, beside this file.

Run: ``.venv/bin/python experiments/participant_outage/run.py [--seeds 30] [--out DIR]``.
Writes ``results.csv`` (one row per run), ``summary.csv`` (paired means and CIs),
``participant_outage.png`` and ``results.md``; README.md quotes them.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from outage_day import (
    DESIGNS,
    LIQUIDITY_FRACTION,
    LSM_MODES,
    METRICS,
    URGENT_SHARE,
    Design,
    Key,
    RunResult,
    design_effect,
    run_grid,
    summarise,
    versus_fifo_bypass,
    versus_no_lsm,
)

from paysim_runner.report import Estimate, csv_bytes, estimate, md_table
from paysim_runner.storage import atomic_write_bytes

HERE = Path(__file__).resolve().parent
PNG = "participant_outage.png"
#: The figure's panels: the three measures, then the LSM's effect on the first.
PANELS = ("unsettled_share", "delay_indicator", "trapped_share")
COLOURS = dict(zip(LSM_MODES, ("#7f7f7f", "#1f77b4", "#2ca02c", "#d62728"), strict=True))


def _ci(e: Estimate, scale: float = 1.0, digits: int = 2) -> str:
    mean = (e.mean or 0.0) * scale
    if e.ci_low is None or e.ci_high is None:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{e.ci_low * scale:.{digits}f}, {e.ci_high * scale:.{digits}f}]"


def designs(results: Sequence[RunResult]) -> list[Design]:
    """The designs run, in DESIGNS order."""
    run = {(r.lsm_mode, r.rtgs_queue) for r in results}
    return [d for d in DESIGNS if d in run]


def starts(results: Sequence[RunResult]) -> list[int]:
    return sorted({r.outage_start for r in results if r.outage_start is not None})


def _design(key: Key) -> str:
    return f"{key[0]} / {key[1]}"


def baseline_rows(results: Sequence[RunResult]) -> list[list[str]]:
    """Per design, the day without the outage, and how much each LSM offsets with and without it."""
    rows = []
    for mode, queue in designs(results):
        runs = [r for r in results if (r.lsm_mode, r.rtgs_queue) == (mode, queue)]
        base = [r for r in runs if r.outage_start is None]
        early = [r for r in runs if r.outage_start == min(starts(results))]
        rows.append([
            f"{mode} / {queue}", _ci(estimate([r.others_delay_indicator for r in base]), 1, 4),
            _ci(estimate([r.others_unsettled / r.others_value for r in base], clip=(0.0, 1.0)), 100),
            *(f"{statistics.fmean(r.n_settled_bilateral + r.n_settled_multilateral for r in rs):.1f}"
              for rs in (base, early) if rs),
        ])
    return rows


def results_markdown(results: Sequence[RunResult], seeds: int, fraction: float) -> str:
    summary = summarise(results)
    m = {k: METRICS[k] for k in ("unsettled_share", "survivor_unsettled_share", "delay_indicator", "trapped_share")}
    rows = [[_design(key), str(key[2]), *(_ci(e[k], metric.scale, 3 if metric.scale == 1 else 2)
                                          for k, metric in m.items())]
            for key, e in summary.items() if key[2] is not None]
    lsm = design_effect(results, "unsettled_share", versus_no_lsm)
    queue = design_effect(results, "unsettled_share", versus_fifo_bypass)
    failed = sorted({r.failed_bank for r in results})
    return "\n".join([
        "# Participant outage: measured results", "",
        f"{seeds} seeds × {len(designs(results))} designs × outage starts {', '.join(map(str, starts(results)))} "
        "(and none); "
        f"liquidity at f = {fraction} of each bank's bounds, {URGENT_SHARE:.0%} of orders urgent. "
        f"Failed bank (largest sender of each seed's day): {', '.join(failed)}. "
        "Outage − the same day without it, mean [95% CI] over seeds.", "",
        md_table(["LSM / queue", "outage start", *(metric.label for metric in m.values())], rows), "",
        "The day without the outage (others' delay indicator and % of value unsettled; payments settled by "
        "an LSM, whole system, without / with the earliest outage):", "",
        md_table(["LSM / queue", "delay indicator", "unsettled, %", "LSM settlements", "... early outage"],
                 baseline_rows(results)), "",
        "Does an LSM soften the outage? Δ unsettled (% of others' value) minus LSM none's under the same "
        "queue, paired by seed; negative: the LSM leaves less unsettled.", "",
        md_table(["LSM / queue", "outage start", "vs LSM none, pp"], [[_design(k), str(k[2]), _ci(e, 100)]
                                                                       for k, e in lsm.items()]), "",
        "Does the T2 queue discipline matter? The same against `rtgs.queue: fifo_bypass` under the same LSM.", "",
        md_table(["LSM / queue", "outage start", "vs fifo_bypass, pp"], [[_design(k), str(k[2]), _ci(e, 100)]
                                                                         for k, e in queue.items()]), "",
    ])


def _errorbars(ax: Axes, points: Sequence[tuple[float, Estimate]], scale: float, **style: Any) -> None:
    ys = [(e.mean or 0.0) * scale for _, e in points]
    low = [y - (e.ci_low * scale if e.ci_low is not None else y) for y, (_, e) in zip(ys, points, strict=True)]
    high = [(e.ci_high * scale if e.ci_high is not None else y) - y for y, (_, e) in zip(ys, points, strict=True)]
    ax.errorbar([x for x, _ in points], ys, yerr=[low, high], capsize=2, marker="o", linewidth=1.2, markersize=4,
                **style)


def outage_png(results: Sequence[RunResult], seeds: int) -> bytes:
    """Panels per measure against the outage start, one line per design (colour: LSM; dashed:
    ``rtgs.queue: t2``), and the LSM's effect on the unsettled value against LSM none."""
    summary, runs, ticks = summarise(results), designs(results), starts(results)
    panels: list[tuple[str, dict[Key, Estimate]]] = [(p, {k: e[p] for k, e in summary.items()}) for p in PANELS]
    panels.append(("lsm_effect", design_effect(results, "unsettled_share", versus_no_lsm)))
    fig = Figure(figsize=(11.0, 8.0), layout="constrained")
    axes = fig.subplots(2, 2).flatten()
    for ax, (name, estimates) in zip(axes, panels, strict=True):
        scale = METRICS.get(name, METRICS["unsettled_share"]).scale
        for i, (mode, queue) in enumerate(runs):
            dodge = (i - (len(runs) - 1) / 2) * 0.5
            points = [(s + dodge, estimates[(mode, queue, s)]) for s in ticks if (mode, queue, s) in estimates]
            if points:
                _errorbars(ax, points, scale, color=COLOURS[mode], label=f"LSM {mode}, queue {queue}",
                           linestyle="-" if queue == "fifo_bypass" else "--")
        ax.set_title(METRICS[name].label if name in METRICS else "LSM effect: Δ unsettled minus LSM none's, pp",
                     fontsize=10)
        ax.set_xlabel("outage start tick (the outage lasts to the close, tick 99)")
        ax.set_xticks(ticks)
        ax.grid(alpha=0.3)
    axes[3].axhline(0.0, color="black", linewidth=0.8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    fig.suptitle(f"Outage of the largest sender, 50-bank day: outage − same day without it ({seeds} seeds, 95% CI)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})  # no version stamp: same bytes
    return buf.getvalue()


def write_outputs(out: Path, results: Sequence[RunResult], seeds: int,
                  fraction: float = LIQUIDITY_FRACTION) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    header = ["lsm_mode", "rtgs_queue", "outage_start", "n"]
    header += [f"{m}_{part}" for m in METRICS for part in ("mean", "ci_low", "ci_high")]
    rows = [[*key, e["delay_indicator"].n, *(x for est in e.values() for x in (est.mean, est.ci_low, est.ci_high))]
            for key, e in summarise(results).items()]
    files = {
        "results.csv": csv_bytes([f.name for f in fields(RunResult)], [astuple(r) for r in results]),
        "summary.csv": csv_bytes(header, rows),
        PNG: outage_png(results, seeds),
        "results.md": results_markdown(results, seeds, fraction).encode(),
    }
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in files]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="days (replications), default 30")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder, default this folder")
    parser.add_argument("--fraction", type=float, default=LIQUIDITY_FRACTION,
                        help=f"opening liquidity, share of the way from each bank's lower to upper bound "
                             f"(default {LIQUIDITY_FRACTION})")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds: must be at least 2 (an interval needs two seeds)")
    if not 0.0 <= args.fraction <= 1.0:
        parser.error("--fraction: must be between 0 and 1")
    started = time.perf_counter()
    results = run_grid(args.seeds, fraction=args.fraction, progress=True)
    files = write_outputs(args.out, results, args.seeds, args.fraction)
    print(f"{len(results)} runs in {time.perf_counter() - started:.1f} s\n")
    print(results_markdown(results, args.seeds, args.fraction))
    for f in files:
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

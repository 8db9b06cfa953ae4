"""The loss of a participant under eight RTGS designs (after RBA RDP 2012-05 and DNB WP 836).

On the 50-bank core–periphery day, the day's largest sender by value stops paying (an engine
``outage`` event, docs/semantics.md#scenario-events) early, mid-morning or mid-day, until the close.
Each outage day is paired with the same day without the outage (same seed, same payments), under
LSM none / bilateral / multilateral / t2 × ``rtgs.queue`` fifo_bypass / t2. For the other banks it
measures the value left unsettled at the close and the delay indicator, and the liquidity trapped
at the failed bank; each as outage − baseline per seed, with 95% Student-t intervals over seeds.

Run: ``.venv/bin/python experiments/participant_outage/run.py [--seeds 30] [--out DIR]``.
Writes ``results.csv`` (one row per run), ``summary.csv`` (paired means and CIs),
``participant_outage.png`` and ``results.md``; the figures are copied into README.md.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from paysim_runner import _core
from paysim_runner.config import load_config
from paysim_runner.report import Estimate, csv_bytes, estimate, md_table
from paysim_runner.run import with_liquidity
from paysim_runner.storage import atomic_write_bytes
from paysim_runner.sweep.grid import derive_seed

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parents[1] / "paysim_runner" / "conf" / "scenario" / "fifty_bank_core_periphery.yaml"
ROOT_SEED = 2012
#: Every bank opens at LB_i + f·(UB_i − LB_i) of its own day, no credit (the runner's
#: ``liquidity_fraction`` transform, docs/runner.md#axes-and-transforms): tight enough that queues
#: form and an LSM has work, loose enough that the day without an outage settles in full.
LIQUIDITY_FRACTION = 0.25
#: Share of payment orders marked T2 ``urgent`` (the rest ``normal``), drawn per seed; without them
#: ``rtgs.queue: t2`` would settle exactly as ``fifo_bypass`` (docs/semantics.md#gross-settlement-and-queue-2).
URGENT_SHARE = 0.2
#: Outage starts (100-tick day read as 08:00–18:00: 09:00, 10:30, 13:00); each lasts to the close.
OUTAGE_STARTS: tuple[int, ...] = (10, 25, 50)
LSM_MODES: tuple[str, ...] = ("none", "bilateral", "multilateral", "t2")
QUEUES: tuple[str, ...] = ("fifo_bypass", "t2")
DESIGNS: tuple[tuple[str, str], ...] = tuple((m, q) for q in QUEUES for m in LSM_MODES)
PNG = "participant_outage.png"


@dataclass(frozen=True)
class Day:
    """One seed's day: the engine dict without design or events, and the bank that fails."""

    rep: int
    seed: int
    config: dict[str, Any]
    failed_bank: str


@cache
def _scenario() -> dict[str, Any]:
    return load_config(SCENARIO).to_rust_dict()


def make_day(rep: int) -> Day:
    """Replay the scenario's random arrivals for the seed, keep them as a fixed schedule with a
    random ``URGENT_SHARE`` of urgent orders, and open every bank at the fraction of its bounds."""
    seed = derive_seed(ROOT_SEED, rep)
    replay = _core.Orchestrator.new({**_scenario(), "rng_seed": seed, "lsm": {"mode": "none"}})
    replay.run()
    ids, log = replay.get_agent_ids(), replay.transaction_log()
    urgent = np.random.Generator(np.random.PCG64(seed)).random(len(log["amount"])) < URGENT_SHARE
    schedule = [
        {"sender": ids[s], "receiver": ids[r], "amount": int(a), "arrival_tick": int(t),
         "rtgs_class": "urgent" if u else "normal"}
        for s, r, a, t, u in zip(log["sender"], log["receiver"], log["amount"], log["arrival_tick"], urgent,
                                 strict=True)
    ]
    agents = [{k: v for k, v in agent.items() if k != "arrival_config"} for agent in _scenario()["agent_configs"]]
    config = {**_scenario(), "rng_seed": seed, "agent_configs": agents, "scheduled_payments": schedule,
              "drop_expired": False}
    sent = np.bincount(log["sender"], weights=log["amount"].astype(np.float64), minlength=len(ids))
    return Day(rep, seed, with_liquidity(config, LIQUIDITY_FRACTION), ids[int(np.argmax(sent))])


def run_engine(day: Day, lsm_mode: str, queue: str, start: int | None) -> _core.Orchestrator:
    """The day under one design, with the failed bank out from ``start`` to the close (None: no outage)."""
    config: dict[str, Any] = {**day.config, "lsm": {"mode": lsm_mode}, "rtgs": {"queue": queue}}
    if start is not None:
        last = config["ticks_per_day"] - 1
        config["events"] = [{"type": "outage", "bank": day.failed_bank, "start_tick": start, "end_tick": last}]
    engine = _core.Orchestrator.new(config)
    engine.run()
    return engine


@dataclass(frozen=True)
class RunResult:
    rep: int
    seed: int
    lsm_mode: str
    rtgs_queue: str
    outage_start: int | None  # None: the paired day without the outage
    failed_bank: str
    others_value: int  # value of the payment orders of the other banks
    others_unsettled: int  # ... still unsettled at the close (dropped there, docs/semantics.md#expiry-and-end-of-day)
    others_unsettled_among_survivors: int  # ... of which owed to a bank other than the failed one
    others_delay_indicator: float
    others_opening_liquidity: int
    failed_mean_balance: float  # the failed bank's end-of-tick balance, mean over the day's ticks
    failed_released_in_outage: int  # payments its Queue 1 released during the outage (must be 0)
    n_settled_bilateral: int
    n_settled_multilateral: int


def delay_indicator(log: dict[str, Any], horizon: int, keep: Any) -> float:
    """Leinonen–Soramäki over the payments in ``keep``: Σ v·(settle − arrival) / Σ v·(horizon − arrival),
    an unsettled payment counting as settled at the horizon (docs/semantics.md#delays)."""
    amount = log["amount"][keep].astype(np.float64)
    arrival = log["arrival_tick"][keep]
    settle = np.where(log["settle_tick"][keep] >= 0, log["settle_tick"][keep], horizon)
    return float(np.sum(amount * (settle - arrival)) / np.sum(amount * (horizon - arrival)))


def measure(day: Day, lsm_mode: str, queue: str, start: int | None) -> RunResult:
    engine = run_engine(day, lsm_mode, queue, start)
    ids = engine.get_agent_ids()
    failed = ids.index(day.failed_bank)
    log, ticks = engine.transaction_log(), engine.tick_log()
    others = log["sender"] != failed
    unsettled = others & (log["settle_tick"] < 0)
    own = log["sender"] == failed
    released = own & (log["release_tick"] >= (start if start is not None else engine.total_ticks()))
    metrics = engine.metrics()
    return RunResult(
        rep=day.rep, seed=day.seed, lsm_mode=lsm_mode, rtgs_queue=queue, outage_start=start,
        failed_bank=day.failed_bank, others_value=int(log["amount"][others].sum()),
        others_unsettled=int(log["amount"][unsettled].sum()),
        others_unsettled_among_survivors=int(log["amount"][unsettled & (log["receiver"] != failed)].sum()),
        others_delay_indicator=delay_indicator(log, engine.ticks_per_day() - 1, others),
        others_opening_liquidity=sum(a["opening_balance"] for a in day.config["agent_configs"]
                                     if a["id"] != day.failed_bank),
        failed_mean_balance=float(np.mean(ticks["balance"][ticks["bank"] == failed])),
        failed_released_in_outage=int(np.count_nonzero(released)),
        n_settled_bilateral=int(metrics["n_settled_bilateral"] or 0),
        n_settled_multilateral=int(metrics["n_settled_multilateral"] or 0),
    )


def run_grid(seeds: int, designs: Sequence[tuple[str, str]] = DESIGNS,
             starts: Sequence[int] = OUTAGE_STARTS, progress: bool = False) -> list[RunResult]:
    results: list[RunResult] = []
    for rep in range(seeds):
        day = make_day(rep)
        for (mode, queue), start in itertools.product(designs, (None, *starts)):
            results.append(measure(day, mode, queue, start))
        if progress:
            print(f"  seed {rep + 1}/{seeds}: {day.failed_bank} fails, {len(results)} runs", flush=True)
    return results


# --- paired differences --------------------------------------------------------------------------

#: name, the per-run paired difference (outage run, its baseline), and the clip range of its CI.
METRICS: dict[str, tuple[str, Any, tuple[float, float] | None]] = {
    "unsettled_value": ("others' value unsettled at the close (cents)",
                        lambda o, b: float(o.others_unsettled - b.others_unsettled), None),
    "unsettled_share": ("others' value unsettled, share of their value",
                        lambda o, b: (o.others_unsettled - b.others_unsettled) / o.others_value, (-1.0, 1.0)),
    "survivor_unsettled_share": ("others' value unsettled between survivors, share",
                                 lambda o, b: (o.others_unsettled_among_survivors
                                               - b.others_unsettled_among_survivors) / o.others_value, (-1.0, 1.0)),
    "delay_indicator": ("others' delay indicator", lambda o, b: o.others_delay_indicator - b.others_delay_indicator,
                        (-1.0, 1.0)),
    "trapped_liquidity": ("liquidity trapped at the failed bank (cents, mean over ticks)",
                          lambda o, b: o.failed_mean_balance - b.failed_mean_balance, None),
    "trapped_share": ("trapped liquidity, share of the others' opening liquidity",
                      lambda o, b: (o.failed_mean_balance - b.failed_mean_balance) / o.others_opening_liquidity, None),
}

Key = tuple[str, str, int | None]


def paired(results: Sequence[RunResult]) -> dict[Key, dict[str, list[float]]]:
    """Per (design, outage start): every metric's outage − baseline difference, one per seed.
    Start None pairs each baseline with itself (differences exactly 0)."""
    base = {(r.rep, r.lsm_mode, r.rtgs_queue): r for r in results if r.outage_start is None}
    out: dict[Key, dict[str, list[float]]] = {}
    for r in results:
        b = base[(r.rep, r.lsm_mode, r.rtgs_queue)]
        diffs = out.setdefault((r.lsm_mode, r.rtgs_queue, r.outage_start), {m: [] for m in METRICS})
        for name, (_, diff, _) in METRICS.items():
            diffs[name].append(diff(r, b))
    return out


def summarise(results: Sequence[RunResult]) -> dict[Key, dict[str, Estimate]]:
    return {key: {m: estimate(v, clip=METRICS[m][2]) for m, v in diffs.items()}
            for key, diffs in paired(results).items()}


def lsm_effect(results: Sequence[RunResult], metric: str) -> dict[Key, Estimate]:
    """Does an LSM soften the outage? Per design and start: its paired difference minus that of
    LSM none under the same queue, paired by seed (a difference in differences)."""
    diffs = paired(results)
    return {(m, q, s): estimate([a - b for a, b in zip(d[metric], diffs[("none", q, s)][metric], strict=True)])
            for (m, q, s), d in diffs.items() if m != "none" and s is not None and ("none", q, s) in diffs}


# --- outputs -------------------------------------------------------------------------------------


def _ci(e: Estimate, scale: float = 1.0, digits: int = 2) -> str:
    low, high = (e.ci_low or 0.0) * scale, (e.ci_high or 0.0) * scale
    return f"{(e.mean or 0.0) * scale:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def results_markdown(results: Sequence[RunResult], seeds: int) -> str:
    summary = summarise(results)
    rows = [[f"{m} / {q}", str(s), _ci(e["unsettled_share"], 100), _ci(e["survivor_unsettled_share"], 100),
             _ci(e["delay_indicator"], 1, 3), _ci(e["trapped_share"], 100)]
            for (m, q, s), e in summary.items() if s is not None]
    effect = lsm_effect(results, "unsettled_share")
    effect_rows = [[f"{m} / {q}", str(s), _ci(e, 100)] for (m, q, s), e in effect.items()]
    failed = sorted({r.failed_bank for r in results})
    return "\n".join([
        "# Participant outage: measured results", "",
        f"{seeds} seeds × {len(DESIGNS)} designs × outage starts {', '.join(map(str, OUTAGE_STARTS))} and none. "
        f"Failed banks (largest sender of each seed's day): {', '.join(failed)}. Outage − same day without it, "
        "mean [95% CI] over seeds; shares in % of the other banks' value (unsettled) or opening liquidity "
        "(trapped).", "",
        md_table(["LSM / queue", "outage start", "Δ unsettled, % value", "Δ unsettled between survivors, %",
                  "Δ delay indicator", "trapped, % liquidity"], rows), "",
        "LSM effect on Δ unsettled (% value): the design's paired difference minus LSM none's, same queue, "
        "paired by seed (negative: the LSM softens the outage).", "",
        md_table(["LSM / queue", "outage start", "Δ vs LSM none, % value"], effect_rows), "",
    ])


def outage_png(summary: dict[Key, dict[str, Estimate]], seeds: int) -> bytes:
    panels = ("unsettled_share", "delay_indicator", "trapped_share")
    fig = Figure(figsize=(14.0, 4.6), layout="constrained")
    axes = fig.subplots(1, len(panels))
    colours = dict(zip(LSM_MODES, ("#7f7f7f", "#1f77b4", "#2ca02c", "#d62728"), strict=True))
    for i, (mode, queue) in enumerate(DESIGNS):
        dodge = (i - (len(DESIGNS) - 1) / 2) * 0.5
        for ax, metric in zip(axes, panels, strict=True):
            points = [(s, summary[(mode, queue, s)][metric]) for s in OUTAGE_STARTS if (mode, queue, s) in summary]
            if not points:
                continue
            ys = [e.mean or 0.0 for _, e in points]
            err = [[y - (e.ci_low if e.ci_low is not None else y) for y, (_, e) in zip(ys, points, strict=True)],
                   [(e.ci_high if e.ci_high is not None else y) - y for y, (_, e) in zip(ys, points, strict=True)]]
            ax.errorbar([s + dodge for s, _ in points], ys, yerr=err, color=colours[mode], capsize=2, marker="o",
                        linestyle="-" if queue == "fifo_bypass" else "--", linewidth=1.2, markersize=4,
                        label=f"LSM {mode}, queue {queue}")
    for ax, metric in zip(axes, panels, strict=True):
        ax.set_title(METRICS[metric][0], fontsize=10)
        ax.set_xlabel("outage start tick (to the close at 99)")
        ax.set_xticks(list(OUTAGE_STARTS))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("outage − same day without it (95% CI)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    fig.suptitle(f"Failure of the largest sender, 50-bank day ({seeds} seeds)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})  # no version stamp: same bytes
    return buf.getvalue()


def write_outputs(out: Path, results: Sequence[RunResult], seeds: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(results)
    header = ["lsm_mode", "rtgs_queue", "outage_start", "n"]
    header += [f"{m}_{part}" for m in METRICS for part in ("mean", "ci_low", "ci_high")]
    rows = [[m, q, s, e["delay_indicator"].n, *(x for est in e.values() for x in (est.mean, est.ci_low, est.ci_high))]
            for (m, q, s), e in summary.items()]
    files = {
        "results.csv": csv_bytes([f.name for f in fields(RunResult)], [astuple(r) for r in results]),
        "summary.csv": csv_bytes(header, rows),
        PNG: outage_png(summary, seeds),
        "results.md": results_markdown(results, seeds).encode(),
    }
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in files]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="days (replications), default 30")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder, default this folder")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds: must be at least 2 (a confidence interval needs two)")
    started = time.perf_counter()
    results = run_grid(args.seeds, progress=True)
    files = write_outputs(args.out, results, args.seeds)
    print(f"{len(results)} runs in {time.perf_counter() - started:.1f} s")
    print(results_markdown(results, args.seeds))
    for f in files:
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The participant-outage experiment's model: the day, the designs, one run's measures, and the
paired differences (outage − the same day without it) with their Student-t intervals.

run.py draws the grid through these functions and writes the files; the test imports both.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paysim_runner import _core
from paysim_runner.config import load_config
from paysim_runner.report import Estimate, estimate
from paysim_runner.run import with_liquidity
from paysim_runner.sweep.grid import derive_seed

SCENARIO = Path(__file__).resolve().parents[2] / "paysim_runner/conf/scenario/fifty_bank_core_periphery.yaml"
ROOT_SEED = 2012
#: Every bank opens at LB_i + f·(UB_i − LB_i) of its own day, no credit (the runner's
#: ``liquidity_fraction`` transform, docs/runner.md#axes-and-transforms): tight enough that queues
#: form and an LSM has work, loose enough that the day without an outage settles in full.
LIQUIDITY_FRACTION = 0.25
#: Share of payment orders marked T2 ``urgent`` (the rest ``normal``), drawn per seed; with normal
#: payments only, ``rtgs.queue: t2`` settles exactly as ``fifo_bypass``
#: (docs/semantics.md#gross-settlement-and-queue-2).
URGENT_SHARE = 0.2
#: Outage starts (the 100-tick day read as 08:00–18:00: 09:00, 10:30, 13:00); each lasts to the close.
OUTAGE_STARTS: tuple[int, ...] = (10, 25, 50)
LSM_MODES: tuple[str, ...] = ("none", "bilateral", "multilateral", "t2")
QUEUES: tuple[str, ...] = ("fifo_bypass", "t2")
#: (lsm.mode, rtgs.queue)
Design = tuple[str, str]
DESIGNS: tuple[Design, ...] = tuple((m, q) for q in QUEUES for m in LSM_MODES)


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


def make_day(rep: int, fraction: float = LIQUIDITY_FRACTION) -> Day:
    """Replay the scenario's random arrivals for the seed and keep them as a fixed schedule, a random
    ``URGENT_SHARE`` of them urgent; every bank opens at ``fraction`` of its own bounds. The failed
    bank is the largest sender by value of the day's payment orders (ties: config order), the same
    bank in every design and in the paired day without the outage."""
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
    return Day(rep, seed, with_liquidity(config, fraction), ids[int(np.argmax(sent))])


def run_engine(day: Day, design: Design, start: int | None) -> _core.Orchestrator:
    """The day under one design, the failed bank out from ``start`` to the close (None: no outage)."""
    config: dict[str, Any] = {**day.config, "lsm": {"mode": design[0]}, "rtgs": {"queue": design[1]}}
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
    others_unsettled: int  # ... still unsettled at the close, where they are dropped
    others_unsettled_among_survivors: int  # ... of which owed to a bank other than the failed one
    others_delay_indicator: float
    others_opening_liquidity: int
    failed_mean_balance: float  # the failed bank's end-of-tick balance, mean over the day's ticks
    failed_released_in_outage: int  # payments its Queue 1 released from the outage's start (must be 0)
    n_settled_bilateral: int
    n_settled_multilateral: int


def delay_indicator(log: Mapping[str, npt.NDArray[Any]], horizon: int, keep: npt.NDArray[np.bool_]) -> float:
    """Leinonen–Soramäki over the payments in ``keep``: Σ v·(settle − arrival) / Σ v·(horizon − arrival),
    a payment never settled counting as settled at the horizon, the close (docs/semantics.md#delays)."""
    amount = log["amount"][keep].astype(np.float64)
    arrival = log["arrival_tick"][keep]
    settle = np.where(log["settle_tick"][keep] >= 0, log["settle_tick"][keep], horizon)
    return float(np.sum(amount * (settle - arrival)) / np.sum(amount * (horizon - arrival)))


def measure(day: Day, design: Design, start: int | None) -> RunResult:
    engine = run_engine(day, design, start)
    failed = engine.get_agent_ids().index(day.failed_bank)
    log, ticks = engine.transaction_log(), engine.tick_log()
    others = log["sender"] != failed
    unsettled = others & (log["settle_tick"] < 0)
    released = (log["sender"] == failed) & (log["release_tick"] >= (engine.total_ticks() if start is None else start))
    metrics = engine.metrics()
    return RunResult(
        rep=day.rep, seed=day.seed, lsm_mode=design[0], rtgs_queue=design[1], outage_start=start,
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


def run_grid(seeds: int, designs: Sequence[Design] = DESIGNS, starts: Sequence[int] = OUTAGE_STARTS,
             fraction: float = LIQUIDITY_FRACTION, progress: bool = False) -> list[RunResult]:
    """Every seed × design × (no outage, each start); one day per seed, shared by all its runs."""
    results: list[RunResult] = []
    for rep in range(seeds):
        day = make_day(rep, fraction)
        results += [measure(day, design, start) for design, start in itertools.product(designs, (None, *starts))]
        if progress:
            print(f"  seed {rep + 1}/{seeds}: {day.failed_bank} fails; {len(results)} runs so far", flush=True)
    return results


# --- paired differences --------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    label: str
    diff: Callable[[RunResult, RunResult], float]  # (outage run, its baseline) -> difference
    clip: tuple[float, float] | None  # the range a difference of shares cannot leave
    scale: float  # for display: 100 for a share shown in %


def _share(part: Callable[[RunResult], float], whole: Callable[[RunResult], float]) -> Callable[
        [RunResult, RunResult], float]:
    return lambda o, b: (part(o) - part(b)) / whole(o)


#: The paired figures. Shares divide by the day's totals, which are equal in the two runs of a pair.
METRICS: dict[str, Metric] = {
    "unsettled_value": Metric("Δ others' value unsettled at the close (cents)",
                              lambda o, b: float(o.others_unsettled - b.others_unsettled), None, 1.0),
    "unsettled_share": Metric("Δ others' value unsettled, % of their value",
                              _share(lambda r: r.others_unsettled, lambda r: r.others_value), (-1.0, 1.0), 100.0),
    "survivor_unsettled_share": Metric("Δ unsettled between survivors, % of others' value",
                                       _share(lambda r: r.others_unsettled_among_survivors,
                                              lambda r: r.others_value), (-1.0, 1.0), 100.0),
    "delay_indicator": Metric("Δ others' delay indicator",
                              lambda o, b: o.others_delay_indicator - b.others_delay_indicator, (-1.0, 1.0), 1.0),
    "trapped_liquidity": Metric("liquidity trapped at the failed bank (cents, mean over ticks)",
                                lambda o, b: o.failed_mean_balance - b.failed_mean_balance, None, 1.0),
    "trapped_share": Metric("trapped liquidity, % of others' opening liquidity",
                            _share(lambda r: r.failed_mean_balance, lambda r: r.others_opening_liquidity), None,
                            100.0),
}

#: (lsm.mode, rtgs.queue, outage start or None)
Key = tuple[str, str, int | None]


def paired(results: Sequence[RunResult]) -> dict[Key, dict[str, list[float]]]:
    """Per (design, outage start): each metric's outage − baseline difference, one per seed in rep
    order. Start None pairs each baseline with itself, so its differences are exactly 0."""
    base = {(r.rep, r.lsm_mode, r.rtgs_queue): r for r in results if r.outage_start is None}
    out: dict[Key, dict[str, list[float]]] = {}
    for r in sorted(results, key=lambda r: r.rep):
        b = base[(r.rep, r.lsm_mode, r.rtgs_queue)]
        diffs = out.setdefault((r.lsm_mode, r.rtgs_queue, r.outage_start), {m: [] for m in METRICS})
        for name, metric in METRICS.items():
            diffs[name].append(metric.diff(r, b))
    return out


def summarise(results: Sequence[RunResult]) -> dict[Key, dict[str, Estimate]]:
    """Mean and 95% Student-t interval over seeds of every paired difference."""
    return {key: {m: estimate(v, clip=METRICS[m].clip) for m, v in diffs.items()}
            for key, diffs in paired(results).items()}


def design_effect(results: Sequence[RunResult], metric: str,
                  reference: Callable[[Design], Design]) -> dict[Key, Estimate]:
    """A design's paired difference minus that of its ``reference`` design on the same seed (a
    difference in differences): negative when the design softens the outage."""
    diffs = paired(results)
    out: dict[Key, Estimate] = {}
    for (mode, queue, start), d in diffs.items():
        ref = (*reference((mode, queue)), start)
        if start is not None and ref != (mode, queue, start) and ref in diffs:
            out[(mode, queue, start)] = estimate(
                [a - b for a, b in zip(d[metric], diffs[ref][metric], strict=True)])
    return out


def versus_no_lsm(design: Design) -> Design:
    return ("none", design[1])


def versus_fifo_bypass(design: Design) -> Design:
    return (design[0], "fifo_bypass")

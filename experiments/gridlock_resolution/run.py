"""Bech & Soramäki (Bank of Finland DP 9/2001): gridlock resolution in an RTGS system.

Small random payment days, most payments arriving early and many of them forming circles of banks,
are replayed at opening liquidity stepped from the lower to the upper bound, per bank
``L_i(f) = LB_i + f · (UB_i − LB_i)`` (``paysim_runner.run.with_liquidity``), no intraday credit,
FIFO cash managers, and each of six LSM modes. Every LSM pass also solves the gridlock-resolution
problem exactly (``lsm.measure_optimum``), so each run reports the share of the per-pass optimum
its LSM settled (``lsm_optimum_share``, docs/semantics.md "The optimal LSM"). The same days are
played at every f and in every mode (common random numbers).

Run: ``.venv/bin/python experiments/gridlock_resolution/run.py [--days 30] [--out DIR]``.
Writes ``results.csv`` (one row per run), ``summary.csv`` (mean and 95% CI per point),
``gridlock_resolution.png`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from paysim_runner import _core
from paysim_runner.report import Estimate, csv_bytes, estimate, fmt_number, md_table
from paysim_runner.run import with_liquidity
from paysim_runner.storage import atomic_write_bytes

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the sibling plot module, also when loaded by the tests
from gridlock_plot import gridlock_png  # noqa: E402

# --- the random day ------------------------------------------------------------------------------
N_BANKS = 8
PAYMENTS_PER_DAY = 40
TICKS_PER_DAY = 25
#: Most payments arrive in the first ticks, so the queue gridlocks early; the rest trickle in later.
EARLY_TICKS, EARLY_SHARE, LATE_TICKS = 5, 0.8, 16
#: A payment must settle within 3–10 ticks of its arrival or it is dropped: what a gridlock left
#: unresolved is lost, so the LSM's choices show in the value settled by the end of the day.
DEADLINE_MIN, DEADLINE_MAX = 3, 10
AMOUNT_MEAN_LOG, AMOUNT_SD_LOG = 10.0, 1.0  # lognormal, cents
#: Share of orders drawn as a circle of 2–5 banks paying each other amounts within ±25% of one
#: another: rings that offset, but not exactly, so which subset of a gridlock settles matters.
CIRCLE_SHARE = 0.75

LSM_MODES: tuple[str, ...] = ("bilateral", "cycles", "multilateral", "t2_classic", "t2", "optimal")
FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
ROOT_SEED = 2001


def bank_ids() -> list[str]:
    return [f"BANK_{i}" for i in range(N_BANKS)]


def _arrival(rng: np.random.Generator) -> int:
    if rng.random() < EARLY_SHARE:
        return int(rng.integers(0, EARLY_TICKS))
    return int(rng.integers(EARLY_TICKS, LATE_TICKS))


def random_day(seed: int) -> list[dict[str, Any]]:
    """One day's payment orders, sorted by arrival tick, each with its deadline."""
    rng = np.random.Generator(np.random.PCG64(seed))
    ids = bank_ids()
    orders: list[tuple[int, int, int, int, int]] = []  # (arrival, sender, receiver, amount, deadline)
    while len(orders) < PAYMENTS_PER_DAY:
        amount = rng.lognormal(AMOUNT_MEAN_LOG, AMOUNT_SD_LOG)
        if rng.random() < CIRCLE_SHARE:
            members = rng.choice(N_BANKS, size=int(rng.integers(2, 6)), replace=False)
            pairs = [(members[j], members[(j + 1) % len(members)]) for j in range(len(members))]
        else:
            sender = int(rng.integers(N_BANKS))
            pairs = [(sender, (sender + 1 + int(rng.integers(N_BANKS - 1))) % N_BANKS)]
        for sender, receiver in pairs:
            tick = _arrival(rng)
            deadline = min(TICKS_PER_DAY - 1, tick + int(rng.integers(DEADLINE_MIN, DEADLINE_MAX + 1)))
            orders.append((tick, int(sender), int(receiver), max(1, round(amount * rng.uniform(0.8, 1.25))),
                           deadline))
    orders = sorted(orders[:PAYMENTS_PER_DAY], key=lambda o: o[0])
    return [{"sender": ids[s], "receiver": ids[r], "amount": a, "arrival_tick": t, "deadline_tick": d}
            for t, s, r, a, d in orders]


def engine_config(payments: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """The engine dict (docs/semantics.md#engine-configuration): FIFO cash managers, no credit,
    balances 0 until ``with_liquidity`` sets them, and the optimum measured at every LSM pass."""
    return {
        "ticks_per_day": TICKS_PER_DAY,
        "num_days": 1,
        "rng_seed": seed,
        "agent_configs": [{"id": bank, "opening_balance": 0, "credit_limit": 0, "policy": {"type": "Fifo"}}
                          for bank in bank_ids()],
        "scheduled_payments": payments,
        "lsm": {"mode": "none", "measure_optimum": True},
    }


# --- the experiment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    day: int
    seed: int
    lsm_mode: str
    fraction: float
    opening_liquidity: int
    n_payments: int
    n_settled: int
    value_settlement_rate: float
    delay_indicator: float
    lsm_optimum_share: float | None  # None: no LSM pass had anything feasible to settle
    lsm_optimal_solved: int
    lsm_optimal_time_limited: int
    lsm_optimal_fallbacks: int


def day_seed(day: int) -> int:
    return int(np.random.SeedSequence(ROOT_SEED, spawn_key=(day,)).generate_state(1, np.uint32)[0])


def run_day(day: int, fractions: Sequence[float], modes: Sequence[str]) -> list[RunResult]:
    """Every (liquidity level, LSM mode) run of one random day."""
    seed = day_seed(day)
    base = engine_config(random_day(seed), seed)
    results = []
    for fraction in fractions:
        funded = with_liquidity(base, fraction)
        for mode in modes:
            engine = _core.Orchestrator.new({**funded, "lsm": {**funded["lsm"], "mode": mode}})
            engine.run()
            m: dict[str, Any] = dict(engine.metrics())
            share = m["lsm_optimum_share"]
            results.append(RunResult(
                day=day, seed=seed, lsm_mode=mode, fraction=fraction,
                opening_liquidity=sum(a["opening_balance"] for a in funded["agent_configs"]),
                n_payments=int(m["n_payments"]), n_settled=int(m["n_settled"]),
                value_settlement_rate=float(m["value_settlement_rate"]), delay_indicator=float(m["delay_indicator"]),
                lsm_optimum_share=None if share is None else float(share),
                lsm_optimal_solved=int(m["lsm_optimal_solved"]),
                lsm_optimal_time_limited=int(m["lsm_optimal_time_limited"]),
                lsm_optimal_fallbacks=int(m["lsm_optimal_fallbacks"]),
            ))
    return results


#: Shares: their 95% t-intervals over days are clipped to [0, 1], as in the runner's report.
SHARE_RANGE = (0.0, 1.0)


@dataclass(frozen=True)
class Point:
    lsm_mode: str
    fraction: float
    days: int
    mean_liquidity: float
    value_settled: Estimate
    delay: Estimate
    optimum_share: Estimate | None  # over the days on which it is defined
    optimum_days: int


def summarise(results: Sequence[RunResult]) -> list[Point]:
    groups: dict[tuple[str, float], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.lsm_mode, r.fraction), []).append(r)
    points = []
    for (mode, fraction), rs in sorted(groups.items(), key=lambda kv: (LSM_MODES.index(kv[0][0]), kv[0][1])):
        shares = [r.lsm_optimum_share for r in rs if r.lsm_optimum_share is not None]
        points.append(Point(
            mode, fraction, len(rs), sum(r.opening_liquidity for r in rs) / len(rs),
            estimate([r.value_settlement_rate for r in rs], clip=SHARE_RANGE),
            estimate([r.delay_indicator for r in rs], clip=SHARE_RANGE),
            estimate(shares, clip=SHARE_RANGE) if shares else None, len(shares),
        ))
    return points


def gap_to_optimal(results: Sequence[RunResult]) -> list[list[str]]:
    """Per liquidity level and mode: value settled by ``optimal`` minus by the mode, paired by day
    (the same payments and opening balances), so day-to-day variation cancels out."""
    by_key = {(r.day, r.lsm_mode, r.fraction): r.value_settlement_rate for r in results}
    days = sorted({r.day for r in results})
    modes = [m for m in LSM_MODES if m != "optimal" and any(r.lsm_mode == m for r in results)]
    return [[f"{f:.1f}", *(_ci(estimate([by_key[(d, "optimal", f)] - by_key[(d, m, f)] for d in days],
                                        clip=(-1.0, 1.0))) for m in modes)]
            for f in sorted({r.fraction for r in results})]


# --- outputs -------------------------------------------------------------------------------------


def _ci(e: Estimate | None) -> str:
    """Shares to three decimals, so the columns of results.md line up."""
    if e is None:
        return "–"
    if e.ci_low is None or e.ci_high is None:
        return fmt_number(e.mean)
    return f"{e.mean:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}]"


def results_markdown(points: Sequence[Point], results: Sequence[RunResult], days: int) -> str:
    solves = sum(r.lsm_optimal_solved for r in results)
    fallbacks = sum(r.lsm_optimal_fallbacks for r in results)
    runs_with_fallback, runs = sum(r.lsm_optimal_fallbacks > 0 for r in results), len(results)
    return "\n".join([
        "# Gridlock resolution: measured results",
        "",
        f"{days} random days × {len(FRACTIONS)} liquidity levels × LSM {', '.join(LSM_MODES)}; "
        f"{N_BANKS} banks, {PAYMENTS_PER_DAY} payments a day ({EARLY_SHARE:.0%} arriving in ticks "
        f"0–{EARLY_TICKS - 1}, the rest by tick {LATE_TICKS - 1}) of a {TICKS_PER_DAY}-tick day, each due "
        f"{DEADLINE_MIN}–{DEADLINE_MAX} ticks after arrival; no intraday credit. Means over days with 95% "
        "t-intervals (clipped to [0, 1]). Share of optimum: over the days on which some LSM pass could "
        "settle anything.",
        "",
        "![gridlock resolution](gridlock_resolution.png)",
        "",
        md_table(["LSM", "f", "value settled", "delay indicator", "share of optimum", "days with a share"],
                 [[p.lsm_mode, f"{p.fraction:.1f}", _ci(p.value_settled), _ci(p.delay), _ci(p.optimum_share),
                   f"{p.optimum_days}/{p.days}"] for p in points]),
        "",
        "Value settled by `optimal` minus by each mode, paired by day (positive: `optimal` settles more):",
        "",
        md_table(["f", *(m for m in LSM_MODES if m != "optimal")], gap_to_optimal(results)),
        "",
        f"{solves:,} optimum solves proven optimal; `lsm_optimal_time_limited` = 0 in every run, so the "
        f"figures are reproducible byte for byte. Passes without a solver answer (`lsm_optimal_fallbacks`): "
        f"{fallbacks} in {runs_with_fallback} of {runs} runs; there the share of optimum counts the best "
        "value known feasible, an upper estimate.",
        "",
    ])


def summary_rows(points: Sequence[Point]) -> list[list[Any]]:
    def cols(e: Estimate | None) -> list[Any]:
        return [None, None, None] if e is None else [e.mean, e.ci_low, e.ci_high]

    return [[p.lsm_mode, p.fraction, p.days, p.mean_liquidity, *cols(p.value_settled), *cols(p.delay),
             p.optimum_days, *cols(p.optimum_share)] for p in points]


def write_outputs(out: Path, results: Sequence[RunResult], days: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    points = summarise(results)
    series: dict[str, list[tuple[float, Estimate | None, Estimate | None]]] = {}
    for p in points:
        series.setdefault(p.lsm_mode, []).append((p.fraction, p.value_settled, p.optimum_share))
    files = {
        "results.csv": csv_bytes([f.name for f in fields(RunResult)], [astuple(r) for r in results]),
        "summary.csv": csv_bytes(
            ["lsm_mode", "fraction", "days", "mean_opening_liquidity",
             "value_settled_mean", "value_settled_ci_low", "value_settled_ci_high",
             "delay_mean", "delay_ci_low", "delay_ci_high",
             "optimum_days", "optimum_share_mean", "optimum_share_ci_low", "optimum_share_ci_high"],
            summary_rows(points),
        ),
        "gridlock_resolution.png": gridlock_png(
            series, xlabel="opening liquidity f: each bank at LB_i + f·(UB_i − LB_i)",
            title=f"Gridlock resolution by LSM mode ({days} random days, 95% CI)",
        ),
        "results.md": results_markdown(points, results, days).encode(),
    }
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in files]


def run_experiment(days: int, out: Path, fractions: Sequence[float] = FRACTIONS,
                   modes: Sequence[str] = LSM_MODES, progress: bool = False) -> tuple[list[RunResult], list[Path]]:
    """Run every day, check that no solve was cut short, and write the outputs."""
    results: list[RunResult] = []
    started = time.perf_counter()
    for day in range(days):
        results += run_day(day, fractions, modes)
        if progress:
            print(f"  day {day + 1}/{days}  {time.perf_counter() - started:.1f} s", flush=True)
    limited = [r for r in results if r.lsm_optimal_time_limited]
    if limited:  # a binding time limit makes the bytes depend on the machine's speed
        raise RuntimeError(f"{len(limited)} runs had a time-limited optimum solve, e.g. {limited[0]}")
    return results, write_outputs(out, results, days)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="random days (replications), default 30")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder, default this folder")
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days: must be at least 2 (a confidence interval needs two days)")
    started = time.perf_counter()
    results, files = run_experiment(args.days, args.out, progress=True)
    solves = sum(r.lsm_optimal_solved for r in results)
    fallbacks = sum(r.lsm_optimal_fallbacks for r in results)
    print(f"{len(results)} runs, {solves:,} optimum solves (time-limited: 0, fallbacks: {fallbacks}) "
          f"in {time.perf_counter() - started:.1f} s")
    for p in summarise(results):
        print(f"  {p.lsm_mode:12s} f={p.fraction:.1f}  value settled {_ci(p.value_settled)}  "
              f"delay {_ci(p.delay)}  share of optimum {_ci(p.optimum_share)}")
    for f in files:
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Leinonen & Soramäki (Bank of Finland DP 16/1999): the liquidity–delay trade-off in an RTGS system.

A synthetic payment day is replayed many times at opening liquidity stepped from the lower bound
(each bank can settle its own net debit of the day) to the upper bound (each bank can settle every
payment on arrival), with the liquidity-saving mechanism on (multilateral offsetting of the central
queue) and off (plain gross settlement with a FIFO-bypass queue). No intraday credit.

Following the paper, every bank gets its own opening liquidity
``L_i(f) = LB_i + f · (UB_i − LB_i)``: f = 0 is the lower bound, f = 1 the upper bound, for every bank
at once. The bounds come from the engine: ``Orchestrator.liquidity_bounds()`` after one run of the day
gives every bank's LB_i (its net debit at the end of the day) and UB_i (its deepest cumulative net
debit if every payment settled on arrival); their sums are the engine's ``liquidity_lower_bound`` /
``liquidity_upper_bound`` metrics.

Run: ``.venv/bin/python experiments/liquidity_delay/run.py [--days 20] [--out DIR]``.
Writes ``results.csv`` (one row per run), ``summary.csv`` (mean and 95% CI per point),
``liquidity_delay.png`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from paysim_runner import _core
from paysim_runner.report import Estimate, csv_bytes, estimate, fmt_number, md_table
from paysim_runner.report.plots import liquidity_delay_png
from paysim_runner.storage import atomic_write_bytes

HERE = Path(__file__).resolve().parent

# --- the synthetic day ---------------------------------------------------------------------------
TICKS_PER_DAY = 200
#: Payments arrive in the first 80% of the day, so whatever queues has the rest of the day to clear.
ARRIVAL_WINDOW = 160
N_BANKS = 12
N_CORE = 3
CORE_SIZE, PERIPHERY_SIZE = 4.0, 1.0
PAYMENTS_PER_DAY = 600
AMOUNT_MEAN_LOG, AMOUNT_SD_LOG = 11.0, 1.5  # lognormal, cents: median ≈ 600.00, heavy tail
#: Share of payment orders drawn as a circle of 2–4 banks paying each other the same amount at
#: unrelated times of day (flows that net out, as much interbank business does); the rest are one-off.
CIRCLE_SHARE = 0.8

LSM_MODES: tuple[str, ...] = ("none", "multilateral")
FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
ROOT_SEED = 1999


def bank_ids() -> list[str]:
    return [f"BANK_{i:02d}" for i in range(N_BANKS)]


def synthetic_day(seed: int) -> list[dict[str, Any]]:
    """One day's payment orders, sorted by arrival tick; each settles by end of day at the latest.

    Core banks (3 of 12) are 4× as likely as periphery banks to send or receive. Amounts are lognormal.
    A share of the orders come as circles that net out over the day, so a bank's net debit (the lower
    bound) is well below its peak intraday need (the upper bound), as in real RTGS days.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    ids = bank_ids()
    size = np.array([CORE_SIZE if i < N_CORE else PERIPHERY_SIZE for i in range(N_BANKS)])
    p_bank = size / size.sum()
    orders: list[tuple[int, int, int, int]] = []  # (arrival tick, sender, receiver, amount)
    while len(orders) < PAYMENTS_PER_DAY:
        amount = max(1, round(rng.lognormal(AMOUNT_MEAN_LOG, AMOUNT_SD_LOG)))
        if rng.random() < CIRCLE_SHARE:
            members = rng.choice(N_BANKS, size=int(rng.integers(2, 5)), replace=False, p=p_bank)
            pairs = [(members[j], members[(j + 1) % len(members)]) for j in range(len(members))]
        else:
            sender = rng.choice(N_BANKS, p=p_bank)
            weights = size.copy()
            weights[sender] = 0.0
            pairs = [(sender, rng.choice(N_BANKS, p=weights / weights.sum()))]
        for sender, receiver in pairs:
            orders.append((int(rng.integers(0, ARRIVAL_WINDOW)), int(sender), int(receiver), amount))
    orders = sorted(orders[:PAYMENTS_PER_DAY], key=lambda o: o[0])
    return [{"sender": ids[s], "receiver": ids[r], "amount": a, "arrival_tick": t} for t, s, r, a in orders]


def engine_config(payments: list[dict[str, Any]], balances: Sequence[int], lsm_mode: str, seed: int) -> dict[str, Any]:
    """The engine dict (docs/semantics.md#engine-configuration): FIFO cash managers, no credit, the
    day's payments scheduled."""
    return {
        "ticks_per_day": TICKS_PER_DAY,
        "num_days": 1,
        "rng_seed": seed,
        "agent_configs": [
            {"id": bank, "opening_balance": int(b), "credit_limit": 0, "policy": {"type": "Fifo"}}
            for bank, b in zip(bank_ids(), balances, strict=True)
        ],
        "scheduled_payments": payments,
        "lsm": {"mode": lsm_mode},
    }


# --- liquidity bounds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    lower: list[int]  # per bank, cents
    upper: list[int]
    engine_lower: int  # the engine's system-wide metrics, for the cross-check
    engine_upper: int


def liquidity_bounds(payments: list[dict[str, Any]], seed: int) -> Bounds:
    """Each bank's lower and upper bound liquidity (docs/semantics.md#metrics) of the day's payments,
    as the engine computes them (``Orchestrator.liquidity_bounds``) over one run of the day."""
    ample = sum(p["amount"] for p in payments)
    engine = _core.Orchestrator.new(engine_config(payments, [ample] * N_BANKS, "none", seed))
    engine.run()
    bounds = engine.liquidity_bounds()
    metrics = engine.metrics()
    return Bounds(list(bounds["lower"]), list(bounds["upper"]), int(metrics["liquidity_lower_bound"]),
                  int(metrics["liquidity_upper_bound"]))


# --- the experiment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    day: int
    seed: int
    lsm_mode: str
    fraction: float
    opening_liquidity: int
    lower_bound: int
    upper_bound: int
    n_payments: int
    n_settled: int
    settlement_rate: float
    value_settlement_rate: float
    delay_indicator: float
    mean_delay_ticks: float
    liquidity_used: int
    n_settled_multilateral: int


def day_seed(day: int) -> int:
    return int(np.random.SeedSequence(ROOT_SEED, spawn_key=(day,)).generate_state(1, np.uint32)[0])


#: (day, Σ LB_i, engine lower bound, Σ UB_i, engine upper bound): the per-bank bounds cross-check.
BoundsCheck = tuple[int, int, int, int, int]


def run_day(day: int, fractions: Sequence[float], modes: Sequence[str]) -> tuple[list[RunResult], BoundsCheck]:
    """Every (liquidity level, LSM mode) run of one synthetic day."""
    seed = day_seed(day)
    payments = synthetic_day(seed)
    bounds = liquidity_bounds(payments, seed)
    results = []
    for fraction in fractions:
        balances = [lo + round(fraction * (up - lo)) for lo, up in zip(bounds.lower, bounds.upper, strict=True)]
        for mode in modes:
            engine = _core.Orchestrator.new(engine_config(payments, balances, mode, seed))
            engine.run()
            m = engine.metrics()
            results.append(RunResult(
                day=day, seed=seed, lsm_mode=mode, fraction=fraction, opening_liquidity=sum(balances),
                lower_bound=sum(bounds.lower), upper_bound=sum(bounds.upper),
                n_payments=int(m["n_payments"]), n_settled=int(m["n_settled"]),
                settlement_rate=float(m["settlement_rate"]), value_settlement_rate=float(m["value_settlement_rate"]),
                delay_indicator=float(m["delay_indicator"]), mean_delay_ticks=float(m["mean_delay_ticks"]),
                liquidity_used=int(m["liquidity_used"]), n_settled_multilateral=int(m["n_settled_multilateral"]),
            ))
    return results, (day, sum(bounds.lower), bounds.engine_lower, sum(bounds.upper), bounds.engine_upper)


#: The figures here are shares or differences of shares: their 95% t-intervals over days are
#: clipped to the range they cannot leave, as in the runner's report.
SHARE_RANGE = (0.0, 1.0)
DIFFERENCE_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class Point:
    lsm_mode: str
    fraction: float
    delay: Estimate
    value_settled: Estimate
    settled_all_days: int  # days on which every payment settled
    days: int
    mean_liquidity: float


def summarise(results: Sequence[RunResult]) -> list[Point]:
    groups: dict[tuple[str, float], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.lsm_mode, r.fraction), []).append(r)
    return [
        Point(mode, fraction, estimate([r.delay_indicator for r in rs], clip=SHARE_RANGE),
              estimate([r.value_settlement_rate for r in rs], clip=SHARE_RANGE),
              sum(r.n_settled == r.n_payments for r in rs), len(rs),
              statistics.fmean(r.opening_liquidity for r in rs))
        for (mode, fraction), rs in sorted(groups.items(), key=lambda kv: (_mode_rank(kv[0][0]), kv[0][1]))
    ]


def _mode_rank(mode: str) -> int:
    return LSM_MODES.index(mode) if mode in LSM_MODES else len(LSM_MODES)


def lsm_effect(results: Sequence[RunResult], on: str = "multilateral",
               off: str = "none") -> list[tuple[float, Estimate]]:
    """Per liquidity level: the delay indicator with the LSM minus without it, paired by day (the
    same payments and the same opening balances), so day-to-day variation cancels out."""
    by_key = {(r.day, r.lsm_mode, r.fraction): r.delay_indicator for r in results}
    fractions = sorted({r.fraction for r in results})
    days = sorted({r.day for r in results})
    return [
        (f, estimate([by_key[(d, on, f)] - by_key[(d, off, f)] for d in days], clip=DIFFERENCE_RANGE))
        for f in fractions
        if all((d, on, f) in by_key and (d, off, f) in by_key for d in days)
    ]


# --- outputs -------------------------------------------------------------------------------------


def _ci(e: Estimate) -> str:
    """Shares to four decimals, so the columns of results.md line up."""
    if e.ci_low is None or e.ci_high is None:
        return fmt_number(e.mean)
    return f"{e.mean:.4f} [{e.ci_low:.4f}, {e.ci_high:.4f}]"


def results_markdown(points: Sequence[Point], effect: Sequence[tuple[float, Estimate]],
                     checks: Sequence[BoundsCheck], days: int) -> str:
    lines = [
        "# Liquidity–delay trade-off: measured results",
        "",
        f"{days} synthetic days × {len(FRACTIONS)} liquidity levels × LSM {' / '.join(LSM_MODES)}; "
        f"{N_BANKS} banks, {PAYMENTS_PER_DAY} payments a day arriving in ticks 0–{ARRIVAL_WINDOW - 1} "
        f"of a {TICKS_PER_DAY}-tick day; no intraday credit. Means over days with 95% t-intervals "
        "(clipped to [0, 1], a share's range).",
        "",
        "![liquidity–delay curve](liquidity_delay.png)",
        "",
        md_table(["LSM", "f", "mean opening liquidity", "delay indicator", "value settlement rate",
                  "days fully settled"],
                 [[p.lsm_mode, f"{p.fraction:.1f}", f"{p.mean_liquidity:,.0f}", _ci(p.delay), _ci(p.value_settled),
                   f"{p.settled_all_days}/{p.days}"] for p in points]),
    ]
    if effect:
        lines += [
            "",
            "Effect of the LSM on the delay indicator, multilateral − none, paired by day (same payments, same "
            "opening balances):",
            "",
            md_table(["f", "Δ delay indicator [95% CI]"], [[f"{f:.1f}", _ci(e)] for f, e in effect]),
        ]
    lb = statistics.fmean(c[1] for c in checks)
    ub = statistics.fmean(c[3] for c in checks)
    agree = all(c[1] == c[2] and c[3] == c[4] for c in checks)
    lines += [
        "",
        f"Mean system lower bound {lb:,.0f} cents, upper bound {ub:,.0f} cents "
        f"(UB/LB = {ub / lb:.2f}). Per-bank bounds summed "
        + ("equal the engine's `liquidity_lower_bound` / `liquidity_upper_bound` on every day."
           if agree else "differ from the engine's metrics on some days: see `bounds.csv`."),
        "",
    ]
    return "\n".join(lines)


def write_outputs(out: Path, results: Sequence[RunResult], checks: Sequence[BoundsCheck],
                  days: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    points = summarise(results)
    series: dict[str, list[tuple[float, Estimate, Estimate]]] = {}
    for p in points:
        series.setdefault(f"LSM {p.lsm_mode}", []).append((p.fraction, p.delay, p.value_settled))
    files = {
        "results.csv": csv_bytes([f.name for f in fields(RunResult)], [astuple(r) for r in results]),
        "summary.csv": csv_bytes(
            ["lsm_mode", "fraction", "days", "mean_opening_liquidity", "delay_mean", "delay_ci_low", "delay_ci_high",
             "value_settlement_rate_mean", "days_fully_settled"],
            [[p.lsm_mode, p.fraction, p.days, p.mean_liquidity, p.delay.mean, p.delay.ci_low, p.delay.ci_high,
              p.value_settled.mean, p.settled_all_days] for p in points],
        ),
        "bounds.csv": csv_bytes(["day", "sum_bank_lower", "engine_lower", "sum_bank_upper", "engine_upper"], checks),
        "liquidity_delay.png": liquidity_delay_png(
            series,
            xlabel="opening liquidity f: each bank at LB_i + f·(UB_i − LB_i)",
            title=f"Liquidity–delay trade-off ({days} synthetic days, 95% CI)",
        ),
        "results.md": results_markdown(points, lsm_effect(results), checks, days).encode(),
    }
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in files]


def run_experiment(days: int, out: Path, fractions: Sequence[float] = FRACTIONS,
                   modes: Sequence[str] = LSM_MODES) -> tuple[list[RunResult], list[Path]]:
    results: list[RunResult] = []
    checks: list[BoundsCheck] = []
    for day in range(days):
        day_results, check = run_day(day, fractions, modes)
        results += day_results
        checks.append(check)
    return results, write_outputs(out, results, checks, days)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="synthetic days (replications), default 20")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder, default this folder")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days: must be at least 1")
    started = time.perf_counter()
    results, files = run_experiment(args.days, args.out)
    print(f"{len(results)} runs in {time.perf_counter() - started:.1f} s")
    for p in summarise(results):
        print(f"  LSM {p.lsm_mode:12s} f={p.fraction:.1f}  delay {_ci(p.delay)}  "
              f"value settled {_ci(p.value_settled)}  fully settled {p.settled_all_days}/{p.days}")
    for f in files:
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

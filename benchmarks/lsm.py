"""LSM performance figures (docs/performance.md#lsm), each printed beside its budget.

    python benchmarks/lsm.py                        # full sizes (under a minute on 2 cores)
    python benchmarks/lsm.py --quick                # small sizes: a smoke test, not a measurement
    python benchmarks/lsm.py --json out.json        # also write the figures as JSON
    python benchmarks/lsm.py --t2-day-scale 1.0     # the whole t2_day under optimal (about a minute more)

Figures, for a gridlocked Queue 2 of 50, 500, 5,000 and 50,000 payments on 1,000 banks (one tick):
the engine time of the LSM tick under `lsm.mode: optimal` with the solver's outcome counts
(`lsm_optimal_solved` / `_time_limited` / `_fallbacks`), and the share of the optimum `t2` reaches
(`lsm.measure_optimum: true` under `t2`, metric `lsm_optimum_share`). Then the t2_day scenario
(conf/scenario/t2_day.yaml through the scenario loader) under `optimal` against `t2` and `t2_classic`,
scaled by `--t2-day-scale` (default 0.1: a tenth of the banks, so a tenth of the payments) with
`lsm.optimal.time_limit_ms` capped (default 200 ms a pass) so the default run stays within minutes.

The gridlock: payments form random rings of 2-8 banks (amounts of a ring within ±20% of a lognormal
base) plus 20% uniformly random payments, all scheduled at tick 0; every bank's balance is half its
smallest outgoing payment and it has no credit, so no payment settles gross and the whole set reaches
the LSM. Small queues are many disjoint rings (easy components); from 5,000 on, the rings overlap in
one component of the 1,000 banks, which is what makes the MIP hard.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from paysim_runner import _core
from paysim_runner.config import config_from_mapping

N_BANKS = 1_000
T2_DAY = Path(__file__).resolve().parents[1] / "paysim_runner" / "conf" / "scenario" / "t2_day.yaml"


@dataclass
class Figure:
    """One measured figure and its budget (docs/performance.md#lsm) (None: context only, no budget)."""

    name: str
    measured: float
    unit: str
    budget: float | None
    at_least: bool  # True: the budget is a floor; False: a ceiling (time, ratio of times)
    note: str = ""
    unmet: str = ""  # a condition of the budget besides the figure that failed (e.g. "not proven")

    @property
    def ratio(self) -> float | None:
        return None if self.budget is None else self.measured / self.budget

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return "-"
        if self.unmet:
            return "MISS"
        ok = self.measured >= self.budget if self.at_least else self.measured <= self.budget
        return "PASS" if ok else "MISS"


# ---------------------------------------------------------------- scenarios


def gridlock_payments(n_payments: int, seed: int = 10) -> list[tuple[int, int, int]]:
    """(sender, receiver, amount) of a gridlock: random rings of 2-8 banks, then 20% random pairs."""
    rng = random.Random(seed)
    payments: list[tuple[int, int, int]] = []
    n_rings = int(n_payments * 0.8)
    while len(payments) < n_rings:
        ring = rng.sample(range(N_BANKS), min(rng.randint(2, 8), n_rings - len(payments) + 1))
        if len(ring) < 2:
            break
        base = rng.lognormvariate(10.5, 1.2)
        for i, sender in enumerate(ring):
            payments.append((sender, ring[(i + 1) % len(ring)], max(1, int(base * rng.uniform(0.8, 1.2)))))
    while len(payments) < n_payments:
        sender, receiver = rng.sample(range(N_BANKS), 2)
        payments.append((sender, receiver, max(1, int(rng.lognormvariate(10.5, 1.2)))))
    return payments[:n_payments]


def gridlock_config(n_payments: int, lsm: dict[str, Any]) -> dict[str, Any]:
    """A one-tick day whose Queue 2 holds all `n_payments` when the LSM runs (see the module doc)."""
    payments = gridlock_payments(n_payments)
    smallest: dict[int, int] = {}
    for sender, _, amount in payments:
        smallest[sender] = min(smallest.get(sender, amount), amount)
    ids = [f"BANK_{i:04d}" for i in range(N_BANKS)]
    return {
        "ticks_per_day": 1,
        "num_days": 1,
        "rng_seed": 1,
        "lsm": lsm,
        "agent_configs": [{"id": b, "opening_balance": smallest.get(i, 0) // 2, "credit_limit": 0,
                           "policy": {"type": "Fifo"}} for i, b in enumerate(ids)],
        "scheduled_payments": [{"sender": ids[s], "receiver": ids[r], "amount": a, "arrival_tick": 0}
                               for s, r, a in payments],
    }


def scaled_t2_day(scale: float, lsm: dict[str, Any]) -> dict[str, Any]:
    """conf/scenario/t2_day.yaml through the scenario loader, each bank group's count times `scale`
    (per-bank rates, balances and credit unchanged, so payments scale with the banks). At scale 1
    is the file as `load_config` reads it; the YAML is scaled, then validated the same way."""
    raw = yaml.safe_load(T2_DAY.read_text(encoding="utf-8"))
    for group in raw["agent_groups"]:
        group["count"] = max(2, round(group["count"] * scale))
    raw["lsm"] = lsm
    return config_from_mapping(raw).to_rust_dict()


# ---------------------------------------------------------------- measurements


def run_metrics(cfg: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics, plus `cpu_seconds`: this process's CPU time over run(). `engine_seconds` is
    wall clock, which other processes on shared cores inflate; the CPU time shows what the engine did."""
    orch = _core.Orchestrator.new(cfg)
    cpu = time.process_time()
    orch.run()
    metrics: dict[str, Any] = orch.metrics()
    metrics["cpu_seconds"] = time.process_time() - cpu
    return metrics


def outcomes(m: dict[str, Any]) -> str:
    return (f"solved {m['lsm_optimal_solved']}, time-limited {m['lsm_optimal_time_limited']} "
            f"(max gap {m['lsm_optimal_max_gap']:.1%}), fallbacks {m['lsm_optimal_fallbacks']}")


def queue_figures(n_payments: int, repeats: int, time_limit_ms: int) -> list[Figure]:
    """The LSM tick of an `n_payments` gridlock under optimal (median of `repeats`), and t2's share."""
    solver = {"time_limit_ms": time_limit_ms, "max_queue": max(10_000, n_payments)}
    runs = [run_metrics(gridlock_config(n_payments, {"mode": "optimal", "optimal": solver})) for _ in range(repeats)]
    seconds = statistics.median(m["engine_seconds"] for m in runs)
    cpu = statistics.median(m["cpu_seconds"] for m in runs)
    m = runs[0]
    proven = m["lsm_optimal_solved"] == 1
    budget = 0.050 if n_payments == 500 else None
    unmet = "" if proven or budget is None else "not proven optimal"
    figures = [Figure(f"queue {n_payments:,}: optimal LSM tick", seconds * 1e3, "ms",
                      None if budget is None else budget * 1e3, False,
                      (f"{unmet.upper()}; " if unmet else "") + f"{outcomes(m)}; settled {m['n_settled']:,} "
                      f"worth {m['value_settled']:,}; limit {time_limit_ms} ms, median of {repeats}; "
                      f"CPU {cpu * 1e3:.3g} ms",
                      unmet)]
    t2 = run_metrics(gridlock_config(n_payments, {"mode": "t2", "measure_optimum": True, "optimal": solver}))
    share = t2["lsm_optimum_share"]
    exact = "exact" if t2["lsm_optimal_solved"] == 1 else "upper estimate: optimum not proven"
    figures.append(Figure(f"queue {n_payments:,}: t2 share of optimum", 0.0 if share is None else share, "share",
                          None, True, f"{exact}; t2 settled {t2['n_settled']:,} worth {t2['value_settled']:,}; "
                          f"measuring: {outcomes(t2)}"))
    return figures


def t2_day_figures(scale: float, time_limit_ms: int, judged: bool = True) -> list[Figure]:
    """t2_day (scaled) engine seconds under t2, t2_classic and optimal; the budget is optimal ≤ 10× t2."""
    seen: dict[str, dict[str, Any]] = {}
    for mode in ("t2", "t2_classic", "optimal"):
        lsm: dict[str, Any] = {"mode": mode}
        if mode == "optimal":
            lsm["optimal"] = {"time_limit_ms": time_limit_ms}
        seen[mode] = run_metrics(scaled_t2_day(scale, lsm))
    tag = ("t2_day" if scale == 1.0 else f"t2_day x{scale:g}") + ("" if judged else " (quick: no budget)")
    figures = [Figure(f"{tag} engine seconds, {mode}", m["engine_seconds"], "s", None, False,
                      f"CPU {m['cpu_seconds']:.3g} s; {m['n_payments']:,} payments, {m['value_settled']:,} settled"
                      + (f"; {outcomes(m)}; limit {time_limit_ms} ms a pass" if mode == "optimal" else ""))
               for mode, m in seen.items()]
    t2_s, classic_s = seen["t2"]["engine_seconds"], seen["t2_classic"]["engine_seconds"]
    figures.append(Figure(f"{tag} optimal / t2 engine time", seen["optimal"]["engine_seconds"] / t2_s, "×",
                          10.0 if judged else None,
                          False, f"t2 / t2_classic {t2_s / classic_s:.2f}×; in CPU time optimal / t2 "
                          f"{seen['optimal']['cpu_seconds'] / seen['t2']['cpu_seconds']:.0f}×"))
    return figures


# ---------------------------------------------------------------- report


def measure(quick: bool, t2_day_scale: float, t2_day_limit_ms: int) -> list[Figure]:
    sizes, repeats, limit = ((50, 500), 1, 200) if quick else ((50, 500, 5_000, 50_000), 3, 1_000)
    figures: list[Figure] = []
    for n in sizes:
        figures += queue_figures(n, repeats if n <= 500 else 1, limit)
    if quick:  # a 20-bank day and 20 ms a pass: seconds, not minutes
        return figures + t2_day_figures(0.02, 20, judged=False)
    figures += t2_day_figures(t2_day_scale, t2_day_limit_ms)
    return figures


def show(figures: list[Figure], quick: bool) -> None:
    title = f"paysim LSM {_core.ENGINE_VERSION} vs budgets" + (" (--quick)" if quick else "")
    table = Table(title=title)
    for column in ("figure", "measured", "budget", "× budget", "verdict", "context"):
        table.add_column(column, justify="right" if column in ("measured", "budget", "× budget") else "left")
    for f in figures:
        budget = "" if f.budget is None else ("≥ " if f.at_least else "≤ ") + f"{f.budget:.3g}"
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        table.add_row(f.name, f"{f.measured:.3g} {f.unit}", budget, ratio, f.verdict, f.note)
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped into a file: do not wrap at 80 columns
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--t2-day-scale", type=float, default=0.1, help="share of t2_day's banks (default 0.1)")
    parser.add_argument("--t2-day-limit-ms", type=int, default=200,
                        help="lsm.optimal.time_limit_ms for t2_day under optimal (default 200)")
    args = parser.parse_args()
    started = time.perf_counter()
    figures = measure(args.quick, args.t2_day_scale, args.t2_day_limit_ms)
    show(figures, args.quick)
    print(f"\nwall {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs", file=sys.stderr)
    if args.json:
        rows = [{**asdict(f), "ratio": f.ratio, "verdict": f.verdict} for f in figures]
        tmp = f"{args.json}.tmp"
        with open(tmp, "w") as out:
            json.dump({"engine_version": _core.ENGINE_VERSION, "quick": args.quick, "figures": rows}, out, indent=2)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()

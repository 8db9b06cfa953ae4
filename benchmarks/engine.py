"""Engine performance figures (docs/performance.md#engine), each printed beside its budget.

    python benchmarks/engine.py            # full sizes (several minutes on 2 cores: the Fedwire-scale days)
    python benchmarks/engine.py --quick    # small sizes: a smoke test, not a measurement
    python benchmarks/engine.py --json out.json

Figures: bench_10 through run(), through a Python tick() loop and a tick_n(100) loop, bench_100 through tick(), the
t2_day (1,000 banks, ~400,000 payments in one 600-tick day) engine seconds and peak RSS under t2, and its
engine seconds under t2_classic (the t2 of before issue 10) (measured in a child process so this process's
own memory does not count), the peak RSS of a 10,000-bank day with arrival configs and what
Orchestrator.new adds to it (child process too), the build of a 20,000-bank payment ring, and a
check that per-tick cost does not grow with the payments already settled (first vs last 100-tick
windows of a long run). Then Fedwire scale: Orchestrator.new's time and memory for t2_day, four
times t2_day (4,000 banks, 1.6M payments), fedwire_day (conf/scenario/fedwire_day.yaml: 5,000
banks, 800,000 payments), and each day's engine time over its physical limit (the same arrivals
drawn and settled gross with nothing else: native/engine/examples/arrival_floor.rs). Then memory:
what the engine and its logs hold for t2_day per payment and per bank, with every tick logged and
with `tick_log: {at: day_end}` (docs/performance.md#memory).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from paysim_runner import _core

GIB = 1024**3
MB = 1000**2


@dataclass
class Figure:
    """One measured figure and its budget (docs/performance.md#budgets) (None: context only, no budget)."""

    name: str
    measured: float
    unit: str
    budget: float | None
    at_least: bool  # True: the budget is a floor (throughput); False: a ceiling (time, memory)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.budget is None else self.measured / self.budget

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return "-"
        ok = self.measured >= self.budget if self.at_least else self.measured <= self.budget
        return "PASS" if ok else "MISS"


# ---------------------------------------------------------------- scenarios


def bench_config(n_banks: int, rate: float, days: int, seed: int = 12345) -> dict[str, Any]:
    """The design notes' benchmark config (Normal 100,000 ± 30,000 amounts, 5M balance, 1M credit,
    uniform counterparties), 100 ticks a day, t2 LSM as docs/performance.md#budgets asks."""
    return {
        "ticks_per_day": 100,
        "num_days": days,
        "rng_seed": seed,
        "lsm": {"mode": "t2"},
        "agent_configs": [
            {
                "id": f"BANK_{i:04d}",
                "opening_balance": 5_000_000,
                "credit_limit": 1_000_000,
                "policy": {"type": "Fifo"},
                "arrival_config": {
                    "rate_per_tick": rate,
                    "distribution": {"type": "Normal", "mean": 100_000, "std_dev": 30_000},
                },
            }
            for i in range(n_banks)
        ],
    }


def t2_day_config(scale: float = 1.0, liquidity: float = 0.02, mode: str = "t2") -> dict[str, Any]:
    """1,000 banks (scaled), ~400,000 payments in one 600-tick day, the `mode` LSM (t2) every tick.

    A core of 10 large banks receives most flows (weight 200 each against 1 for every other bank,
    so about two thirds of payments go to the core) and sends larger, more frequent payments.
    Liquidity is tight: each bank holds `liquidity` (2%) of its expected daily outflow as balance and
    as much again as credit, so about a fifth of payments wait in Queue 2 and the LSM has work.
    """
    n_banks = max(20, round(1000 * scale))
    n_core = 10
    target_payments = 400_000 * scale
    ticks = 600
    core_rate, core_mu, peri_mu, sigma = 20.0 * scale, 11.5, 10.0, 1.2
    peri_rate = (target_payments / ticks - n_core * core_rate) / (n_banks - n_core)
    ids = [f"CORE_{i:02d}" if i < n_core else f"PERI_{i:04d}" for i in range(n_banks)]
    agents = []
    for i, bank_id in enumerate(ids):
        core = i < n_core
        rate, mu = (core_rate, core_mu) if core else (peri_rate, peri_mu)
        daily_outflow = rate * ticks * math.exp(mu + sigma**2 / 2)
        agents.append({
            "id": bank_id,
            "opening_balance": int(liquidity * daily_outflow),
            "credit_limit": int(liquidity * daily_outflow),
            "policy": {"type": "Fifo"},
            # Receivers weighted by size: one shared table (the same draws as listing 999
            # weights per bank, which made the config itself O(banks²)).
            "size": 200.0 if core else 1.0,
            "arrival_config": {
                "rate_per_tick": rate,
                "distribution": {"type": "LogNormal", "mean_log": mu, "std_dev_log": sigma},
                "receivers_by_size": True,
                "deadline_offset": 120,
            },
        })
    return {"ticks_per_day": ticks, "num_days": 1, "rng_seed": 1, "lsm": {"mode": mode}, "agent_configs": agents}


# ---------------------------------------------------------------- measurements


def median_rates(repeats: int, measure: Any) -> tuple[float, float]:
    """Median over repeats of (wall-clock rate, CPU-time rate). The budget is judged on wall clock;
    the CPU-time rate shows what the engine does when other processes share the cores."""
    runs = [measure() for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def timed(work: Any, units: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return units / (time.perf_counter() - wall), units / max(1e-9, time.process_time() - cpu)


def run_throughput(cfg: dict[str, Any]) -> tuple[float, float]:
    """Ticks per second of Orchestrator.run() (the engine's whole loop in Rust)."""
    orch = _core.Orchestrator.new(cfg)
    return timed(orch.run, orch.total_ticks())


def tick_loop_throughput(cfg: dict[str, Any]) -> tuple[float, float]:
    """Ticks per second of a Python loop calling tick() (each call returns a dict)."""
    orch = _core.Orchestrator.new(cfg)
    tick = orch.tick
    n = orch.total_ticks()

    def loop() -> None:
        for _ in range(n):
            tick()

    return timed(loop, n)


def tick_n_loop_throughput(cfg: dict[str, Any], chunk: int = 100) -> tuple[float, float]:
    """Ticks per second of a Python loop calling tick_n(chunk): one crossing (and one dict) per
    `chunk` ticks, the loop a caller sampling the figures once a day would write."""
    orch = _core.Orchestrator.new(cfg)
    tick_n = orch.tick_n
    n = orch.total_ticks()

    def loop() -> None:
        for _ in range(-(-n // chunk)):
            tick_n(chunk)

    return timed(loop, n)


def tick_cost_growth(cfg: dict[str, Any], windows: int = 20) -> tuple[float, float, int]:
    """Per-tick cost late in a long run against early in it, as medians over 100-tick windows.

    Two engines of the same config: one fresh (its first 100-tick windows), one aged to the last
    `windows` days of the run (its last 100-tick windows). The windows are timed alternately, so load
    from other processes on a shared machine hits both alike. EOD drops empty the queues daily, so the
    only thing that grows is the history of settled payments.
    Returns (early seconds per tick, late seconds per tick, payments settled before the late windows).
    """
    fresh, aged = _core.Orchestrator.new(cfg), _core.Orchestrator.new(cfg)
    for _ in range(aged.total_ticks() - windows * 100):
        aged.tick()
    settled = int(aged.metrics()["n_settled"])
    early: list[float] = []
    late: list[float] = []
    for _ in range(windows):
        for orch, times in ((fresh, early), (aged, late)):
            started = time.perf_counter()
            for _ in range(100):
                orch.tick()
            times.append((time.perf_counter() - started) / 100)
    return statistics.median(early), statistics.median(late), settled


def day_child(cfg: dict[str, Any]) -> dict[str, Any]:
    """Body of a child process: build and run one day, report Orchestrator.new's time and memory,
    the engine time and the peak RSS of the whole process."""
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resident_before = resident_bytes()
    started = time.perf_counter()
    orch = _core.Orchestrator.new(cfg)
    new_seconds = time.perf_counter() - started
    new_bytes = resident_bytes() - resident_before
    started = time.perf_counter()
    orch.run()
    wall = time.perf_counter() - started
    m = orch.metrics()
    return {
        "banks": len(cfg["agent_configs"]),
        "engine_seconds": m["engine_seconds"],
        "run_wall_seconds": wall,
        "n_payments": m["n_payments"],
        "settlement_rate": m["settlement_rate"],
        "queue_share": m["n_settled_queue"] / max(1, m["n_settled"]),
        "lsm_share": (m["n_settled_bilateral"] + m["n_settled_multilateral"]) / max(1, m["n_settled"]),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "baseline_rss_bytes": baseline_kib * 1024,
        "new_seconds": new_seconds,
        "new_rss_bytes": new_bytes,
    }


def resident_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm), not its peak."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(*args: str) -> dict[str, Any]:
    child = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{child.stderr}")
    figures: dict[str, Any] = json.loads(child.stdout)
    return figures


def t2_day(scale: float, liquidity: float = 0.02, mode: str = "t2") -> dict[str, Any]:
    return _child("--t2-day-child", str(scale), str(liquidity), "--t2-day-mode", mode)


def fedwire_day() -> dict[str, Any]:
    """conf/scenario/fedwire_day.yaml (5,000 banks, ~800,000 payments) through the scenario loader."""
    return _child("--fedwire-day-child")


def fedwire_day_config() -> dict[str, Any]:
    from paysim_runner.config import CONF_DIR, load_config

    return load_config(CONF_DIR / "scenario" / "fedwire_day.yaml").to_rust_dict()


#: The days whose physical limit is measured, by name (their configs are built in a child process).
FLOOR_DAYS = {"t2_day": lambda: t2_day_config(1.0), "fedwire_day": fedwire_day_config}


def floor_seconds(day: str) -> float:
    """The physical limit of `day`: the same arrivals drawn and settled gross, nothing else
    (native/engine/examples/arrival_floor.rs, built in release mode by cargo). A child process
    writes the config, so this process does not grow: Linux keeps a process's peak RSS across
    exec, and every later child would inherit it as its own."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        pass
    try:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--dump-config", day, f.name], check=True)
        out = subprocess.run(["cargo", "run", "--release", "-q", "-p", "paysim-engine", "--example", "arrival_floor",
                              "--", f.name], cwd=root, capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    seconds: float = json.loads(out.stdout)["seconds"]
    return seconds


def wide_day_child(n_banks: int) -> dict[str, Any]:
    """Body of the child process: a bench_config day of `n_banks` uniform-counterparty banks. Reports
    the peak RSS before building, after Orchestrator.new and after run(): memory must grow with the
    banks, not with their square (docs/semantics.md#random-numbers: no receiver table without weights)."""
    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    cfg = bench_config(n_banks, 0.1, 1)
    before_new = peak()
    started = time.perf_counter()
    orch = _core.Orchestrator.new(cfg)
    new_seconds = time.perf_counter() - started
    after_new = peak()
    orch.run()
    return {"banks": n_banks, "n_payments": orch.metrics()["n_payments"], "before_new_bytes": before_new,
            "after_new_bytes": after_new, "new_seconds": new_seconds, "peak_rss_bytes": peak()}


def wide_day(n_banks: int) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--wide-day-child", str(n_banks)], capture_output=True, text=True,
    )
    if child.returncode != 0:
        raise SystemExit(f"wide day child failed:\n{child.stderr}")
    figures: dict[str, Any] = json.loads(child.stdout)
    return figures


def ring_build_seconds(n_banks: int) -> float:
    """Orchestrator.new plus the first tick of a ring of `n_banks` banks, each paying the next once:
    every scheduled payment names two banks, so id lookups must not scan the bank list."""
    ids = [f"RING_{i:05d}" for i in range(n_banks)]
    cfg = {"ticks_per_day": 10, "num_days": 1, "rng_seed": 1, "lsm": {"mode": "none"},
           "agent_configs": [{"id": b, "opening_balance": 100, "credit_limit": 0, "policy": {"type": "Fifo"}}
                             for b in ids],
           "scheduled_payments": [{"sender": b, "receiver": ids[(i + 1) % n_banks], "amount": 50, "arrival_tick": 0}
                                  for i, b in enumerate(ids)]}
    started = time.perf_counter()
    _core.Orchestrator.new(cfg).tick()
    return time.perf_counter() - started


# ---------------------------------------------------------------- gridlocked days (issue 11)


def gridlocked_day(scale: float, liquidity: float) -> dict[str, Any]:
    """t2_day's payments (t2_day_config) at `liquidity`, expired payments kept queued, run tick by tick
    for the Queue 2 profile. Engine seconds are the engine's own (metrics), not the Python loop's."""
    cfg = t2_day_config(scale, liquidity)
    cfg["drop_expired"] = False
    orch = _core.Orchestrator.new(cfg)
    queue2 = [int(orch.tick()["queue2_size"]) for _ in range(orch.total_ticks())]
    m = orch.metrics()
    return {"banks": len(cfg["agent_configs"]), "n_payments": m["n_payments"], "engine_seconds": m["engine_seconds"],
            "settlement_rate": m["settlement_rate"], "max_queue2": max(queue2),
            "ticks_over_100k": sum(q > 100_000 for q in queue2), "ticks": len(queue2),
            "truncated": m["lsm_cycle_search_truncated"]}


def gridlocked_days(t2_day_seconds: float, scale: float) -> list[Figure]:
    """Days whose Queue 2 stays long (issue 11), each as a ratio to t2_day's engine seconds in the same
    run (budgets at full scale only): t2_day's payments with no liquidity and at 1/50 and 1/1,000 of
    it (the extreme gridlock: Queue 2 above 100,000 most of the day), expired payments kept; and 250
    banks with 100,000 payments at t2_day's tight liquidity (normal expiry)."""
    full = scale == 1.0
    figures = []
    cases = [("no liquidity", 0.0, 2.5), ("1/50 of the liquidity", 0.02 / 50, None),
             ("extreme gridlock, 1/1,000 of the liquidity", 0.02 / 1000, 2.5)]
    for name, liquidity, budget in cases:
        day = gridlocked_day(scale, liquidity)
        figures.append(Figure(
            f"t2_day{'' if full else f' x{scale:g}'}, {name}, expired kept ÷ t2_day",
            day["engine_seconds"] / t2_day_seconds, "ratio", budget if full else None, False,
            f"{day['engine_seconds']:.2f} s; {day['n_payments']:,} payments, {day['settlement_rate']:.1%} settled; "
            f"Queue 2 up to {day['max_queue2']:,}, above 100k in {day['ticks_over_100k']} of {day['ticks']} ticks; "
            f"{day['truncated']} cycle searches cut short"))
    small = t2_day(0.25 * scale)
    figures.append(Figure(
        f"{small['banks']} banks, {small['n_payments']:,} payments, tight liquidity ÷ t2_day",
        small["engine_seconds"] / t2_day_seconds, "ratio", 1.0 if full else None, False,
        f"{small['engine_seconds']:.2f} s; {small['settlement_rate']:.1%} settled, "
        f"{small['queue_share']:.1%} from Queue 2"))
    return figures


# ---------------------------------------------------------------- memory of the engine and its logs


T2_DAY_YAML = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "conf", "scenario", "t2_day.yaml")
#: The tick-log options compared (docs/semantics.md#tick-log-sampling): the default, and day ends only.
TICK_LOGS: dict[str, dict[str, Any] | None] = {"every tick": None, "day_end": {"at": "day_end"}}


def t2_day_scenario(quick: bool) -> dict[str, Any]:
    """The engine dict of conf/scenario/t2_day.yaml (1,000 banks, ~400,000 payments, 600 ticks), read
    as the runner reads it; --quick keeps a tenth of each group's banks."""
    import yaml

    from paysim_runner.config import config_from_mapping

    with open(T2_DAY_YAML) as f:
        scenario = yaml.safe_load(f)
    if quick:
        for group in scenario["agent_groups"]:
            group["count"] = max(2, group["count"] // 10)
    return config_from_mapping(scenario).to_rust_dict()


def held_rss_bytes() -> int:
    """Resident bytes now, after handing the heap's free pages back to the system (glibc's
    malloc_trim), so memory freed by building the engine does not count as held."""
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def log_memory_child(config_path: str, tick_log: str) -> dict[str, Any]:
    """Body of the child process: t2_day's engine dict read from `config_path` (JSON, so no
    validation garbage is left in the heap), run with `tick_log` (a key of TICK_LOGS). Reports the
    bytes the engine holds after run() (its state, payments and both logs: resident memory over that
    with the dict alone), the child's peak RSS over the same baseline (Orchestrator.new's reading of
    the dict included), and the peak once both logs are read into numpy, as the runner does before
    it writes Parquet."""
    with open(config_path) as f:
        cfg = json.load(f)
    if TICK_LOGS[tick_log] is not None:
        cfg["tick_log"] = TICK_LOGS[tick_log]
    baseline = held_rss_bytes()
    orch = _core.Orchestrator.new(cfg)
    orch.run()
    held = held_rss_bytes() - baseline
    peak_run = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ticks, transactions = orch.tick_log(), orch.transaction_log()
    return {
        "banks": len(cfg["agent_configs"]),
        "payments": int(orch.metrics()["n_payments"]),
        "transaction_rows": len(transactions["tx_id"]),
        "tick_rows": len(ticks["tick"]),
        "held_bytes": held,
        "peak_bytes": peak_run - baseline,
        "peak_with_numpy_logs_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline,
    }


def log_memory(quick: bool) -> list[Figure]:
    """Bytes per payment and per bank of the engine with its logs, for t2_day under each tick-log
    option, and the tick log's own bytes per row (the difference between the two runs)."""
    import tempfile

    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        config_path = os.path.join(tmp, "t2_day.json")
        with open(config_path, "w") as f:
            json.dump(t2_day_scenario(quick), f)
        for name in TICK_LOGS:
            child = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--log-memory-child", config_path, name],
                capture_output=True, text=True,
            )
            if child.returncode != 0:
                raise SystemExit(f"log memory child failed:\n{child.stderr}")
            runs[name] = json.loads(child.stdout)
    tag = "t2_day.yaml" if not quick else "t2_day.yaml /10 (quick)"
    figures = []
    for name, r in runs.items():
        context = (f"{r['held_bytes'] / MB:.0f} MB held after run() by {r['payments']:,} payments, "
                   f"{r['banks']:,} banks, {r['tick_rows']:,} tick-log rows")
        figures.append(Figure(f"{tag}, tick log {name}: engine + logs per payment",
                              r["held_bytes"] / r["payments"], "bytes", None, False, context))
        figures.append(Figure(f"{tag}, tick log {name}: engine + logs per bank",
                              r["held_bytes"] / r["banks"], "bytes", None, False, "the same bytes per bank"))
        figures.append(Figure(f"{tag}, tick log {name}: peak RSS over the config", r["peak_bytes"] / MB, "MB",
                              None, False, f"Orchestrator.new reading the dict included; "
                              f"{r['peak_with_numpy_logs_bytes'] / MB:.0f} MB once both logs are read into numpy"))
    full, sampled = runs["every tick"], runs["day_end"]
    saved_rows = full["tick_rows"] - sampled["tick_rows"]
    figures.append(Figure(f"{tag}: tick log per row (every tick - day_end, held)",
                          max(1.0, (full["held_bytes"] - sampled["held_bytes"]) / saved_rows), "bytes", None,
                          False, f"{saved_rows:,} rows fewer under day_end; its columns are 140 bytes a row"))
    return figures


# ---------------------------------------------------------------- report


def measure(quick: bool) -> list[Figure]:
    days10, days100, growth_days, repeats, scale = (10, 5, 25, 1, 0.1) if quick else (100, 20, 200, 3, 1.0)
    figures: list[Figure] = []
    throughput = [
        ("bench_10 run() ticks/s", bench_config(10, 0.5, days10), run_throughput, 1_000_000),
        ("bench_10 tick() loop ticks/s", bench_config(10, 0.5, days10), tick_loop_throughput, 200_000),
        ("bench_10 tick_n(100) loop ticks/s", bench_config(10, 0.5, days10), tick_n_loop_throughput, None),
        ("bench_100 tick() loop ticks/s", bench_config(100, 0.1, days100), tick_loop_throughput, 100_000),
    ]
    for name, cfg, how, budget in throughput:
        wall, cpu = median_rates(repeats, functools.partial(how, cfg))
        ticks = cfg["num_days"] * cfg["ticks_per_day"]
        figures.append(Figure(name, wall, "ticks/s", budget, True,
                              f"{ticks:,} ticks, median of {repeats}; {cpu:,.0f}/s per CPU-second"))

    day = t2_day(scale)
    tag = "t2_day" if scale == 1.0 else f"t2_day x{scale:g} (quick: no budget)"
    full = scale == 1.0
    figures.append(Figure(f"{tag} Orchestrator.new", day["new_seconds"], "s", 0.1 if full else None, False,
                          "the engine built from the config dict, before the first tick"))
    figures.append(Figure(f"{tag} Orchestrator.new memory", day["new_rss_bytes"] / MB, "MB", 60.0 if full else None,
                          False, "resident memory the new() call added to the child process"))
    figures.append(Figure(f"{tag} engine seconds", day["engine_seconds"], "s", 0.3 if full else None, False,
                          f"{day['banks']:,} banks, run() wall {day['run_wall_seconds']:.2f} s"))
    figures.append(Figure(f"{tag} peak RSS", day["peak_rss_bytes"] / MB, "MB", 400.0 if full else None, False,
                          f"whole child process; {day['baseline_rss_bytes'] / 2**20:.0f} MiB before building"))
    figures.append(Figure(f"{tag} payments/s", day["n_payments"] / day["engine_seconds"], "payments/s", None, True,
                          f"{day['n_payments']:,} payments, {day['settlement_rate']:.1%} settled: "
                          f"{day['queue_share']:.1%} from Queue 2, {day['lsm_share']:.2%} by LSM"))
    classic = t2_day(scale, mode="t2_classic")
    figures.append(Figure(f"{tag} under t2_classic, engine seconds", classic["engine_seconds"], "s", None, False,
                          f"context: the t2 of before issue 10; t2 takes "
                          f"{day['engine_seconds'] / classic['engine_seconds']:.2f}× as long"))
    if full:
        tighter = t2_day(scale, liquidity=0.01)
        figures.append(Figure("t2_day at half the liquidity, engine seconds", tighter["engine_seconds"], "s", None,
                              False, f"context: {tighter['settlement_rate']:.1%} settled, "
                              f"{tighter['queue_share']:.1%} from Queue 2, {tighter['lsm_share']:.2%} by LSM"))
    figures += scale_figures(day, scale, quick)

    figures.extend(gridlocked_days(day["engine_seconds"], scale))

    wide = wide_day(1_000 if quick else 10_000)
    wide_tag = f"wide day ({wide['banks']:,} banks" + (", quick: no budget)" if quick else ")")
    figures.append(Figure(f"{wide_tag} peak RSS", wide["peak_rss_bytes"] / MB, "MB", None if quick else 300.0, False,
                          f"whole child process, {wide['n_payments']:,} payments in 100 ticks"))
    figures.append(Figure(f"{wide_tag} peak RSS after Orchestrator.new", wide["after_new_bytes"] / MB, "MB", None,
                          False, f"+{(wide['after_new_bytes'] - wide['before_new_bytes']) / MB:.0f} MB over the config "
                          f"alone, built in {wide['new_seconds']:.2f} s"))
    # Children first: the in-process figures below grow this process, whose peak RSS later
    # children would inherit (Linux keeps it across exec).
    figures.extend(log_memory(quick))
    ring = 2_000 if quick else 20_000
    figures.append(Figure(f"{ring:,}-bank ring: Orchestrator.new + first tick", ring_build_seconds(ring), "s", None,
                          False, f"{ring:,} scheduled payments, each naming two banks by id"))

    growth_cfg = bench_config(100, 1.0, growth_days, seed=7)
    first, last, settled = tick_cost_growth(growth_cfg)
    figures.append(Figure("per-tick cost, last/first 100-tick windows", last / first, "ratio", 1.5, False,
                          f"100 banks x 1.0/tick: {first * 1e6:.0f} µs -> {last * 1e6:.0f} µs a tick "
                          f"after {settled:,} settled"))
    return figures


def scale_figures(day: dict[str, Any], scale: float, quick: bool) -> list[Figure]:
    """Fedwire scale (issue 11): four times t2_day, fedwire_day, and each day against its physical
    limit (the same arrivals settled gross with nothing else), all beside `day` of the same run."""
    big_scale = 4 * scale
    big = t2_day(big_scale)
    tag = "4,000 banks / 1.6M payments" if not quick else f"t2_day x{big_scale:g} (quick: no budget)"
    ratio = big["engine_seconds"] / day["engine_seconds"]
    figures = [
        Figure(f"{tag}: run() / t2_day's", ratio, "×", None if quick else 4.5, False,
               f"{big['engine_seconds']:.2f} s against {day['engine_seconds']:.2f} s; {big['n_payments']:,} payments"),
        Figure(f"{tag}: Orchestrator.new", big["new_seconds"], "s", None if quick else 0.5, False,
               f"peak RSS {big['peak_rss_bytes'] / MB:,.0f} MB for the whole process"),
    ]
    if quick:
        return figures
    fed = fedwire_day()
    figures += [
        Figure("fedwire_day new + run", fed["new_seconds"] + fed["engine_seconds"], "s", 1.5, False,
               f"{fed['banks']:,} banks, {fed['n_payments']:,} payments, {fed['settlement_rate']:.1%} settled, "
               f"{fed['queue_share']:.1%} from Queue 2; new {fed['new_seconds']:.3f} s"),
        Figure("fedwire_day peak RSS", fed["peak_rss_bytes"] / GIB, "GiB", 1.0, False, "whole child process"),
    ]
    for name, engine in (("t2_day", day), ("fedwire_day", fed)):
        floor = floor_seconds(name)
        figures.append(Figure(f"{name} engine / physical limit", engine["engine_seconds"] / floor, "×", None, False,
                              f"limit {floor:.3f} s: the same arrivals drawn and settled gross, no queue, no log"))
    return figures


def show(figures: list[Figure], quick: bool) -> None:
    table = Table(title=f"paysim engine {_core.ENGINE_VERSION} vs budgets" + (" (--quick)" if quick else ""))
    for column in ("figure", "measured", "budget", "× budget", "verdict", "context"):
        table.add_column(column, justify="right" if column in ("measured", "budget", "× budget") else "left")
    for f in figures:
        fmt = (lambda v: f"{v:,.0f}") if f.unit in ("ticks/s", "payments/s") else (lambda v: f"{v:.3g}")
        budget = "" if f.budget is None else ("≥ " if f.at_least else "≤ ") + fmt(f.budget)
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        table.add_row(f.name, f"{fmt(f.measured)} {f.unit}", budget, ratio, f.verdict, f.note)
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)  # piped into a file or a README: do not wrap at 80 columns
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--t2-day-child", nargs=2, metavar=("SCALE", "LIQUIDITY"), type=float, help=argparse.SUPPRESS)
    parser.add_argument("--t2-day-mode", default="t2", help=argparse.SUPPRESS)
    parser.add_argument("--wide-day-child", metavar="BANKS", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fedwire-day-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dump-config", nargs=2, metavar=("DAY", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--log-memory-child", nargs=2, metavar=("CONFIG", "TICK_LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.log_memory_child is not None:
        print(json.dumps(log_memory_child(*args.log_memory_child)))
        return
    if args.t2_day_child is not None:
        scale, liquidity = args.t2_day_child
        print(json.dumps(day_child(t2_day_config(scale, liquidity, args.t2_day_mode))))
        return
    if args.dump_config is not None:
        name, path = args.dump_config
        with open(path, "w") as out:
            json.dump(FLOOR_DAYS[name](), out)
        return
    if args.fedwire_day_child:
        print(json.dumps(day_child(fedwire_day_config())))
        return
    if args.wide_day_child is not None:
        print(json.dumps(wide_day_child(args.wide_day_child)))
        return
    figures = measure(args.quick)
    show(figures, args.quick)
    if args.json:
        rows = [{**asdict(f), "ratio": f.ratio, "verdict": f.verdict} for f in figures]
        tmp = f"{args.json}.tmp"
        with open(tmp, "w") as out:
            json.dump({"engine_version": _core.ENGINE_VERSION, "quick": args.quick, "figures": rows}, out, indent=2)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()

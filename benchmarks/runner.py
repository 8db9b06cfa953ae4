"""Runner performance figures (docs/performance.md#runner), each printed beside its budget.

    python benchmarks/runner.py                   # the budgets' sizes: 1,000 and 10,000 runs (a few minutes)
    python benchmarks/runner.py --quick           # 100 and 500 runs: a smoke test, not a measurement
    python benchmarks/runner.py --runs 200 --big-runs 2000

Every sweep is bench_10 and writes its full Parquet logs (runs, ticks, transactions, events), as a
user's sweep would.

1. ``python -m paysim_runner scenario=bench_10 seeds=1000`` on an embedded local Ray with 2 CPUs:
   wall seconds of the whole command (interpreter, Hydra, validation, Ray start-up, runs, Parquet,
   Ray shutdown) against the 30 s budget; Ray start-up, the run phase (first task submitted to last
   batch written, including Ray's cold start of its workers) and the engine's share (the runs' own
   ``engine_seconds``, summed); the same with ``ray.num_cpus=1`` for the speed-up.
2. The same command on a 2-node Ray cluster on this machine (benchmarks/local_cluster.py:
   ``ray start --head`` and one worker node, 1 CPU each) via ``ray.address=127.0.0.1:PORT``.
3. With a warm Ray: the real driver (``driver.run_sweep``, writing Parquet as the command does) on
   a Ray already started in this process with one worker per CPU, 1 and 2 CPUs. Budget: the 2-CPU
   run phase ≤ 3× the engine seconds of its runs. Beside it the driver's own CPU seconds in that
   run phase (the one writer competes with the workers for the CPUs), and the same ratio with no
   tick or transaction log.
4. ``--big-runs`` (10,000) runs on the embedded 2-CPU Ray through benchmarks/driver_probe.py: the
   driver's own peak RSS (≤ 1 GiB; the probe's docstring says why it is the driver alone) and its
   write throughput (Parquet MB and rows per second of the run phase, and while in write_batch).
5. The DuckDB report over the 1,000 runs (``build_report``: SQL, tables, CSV, PNG) against 2 s.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from local_cluster import local_cluster  # benchmarks/, this script's folder, is on sys.path
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "driver_probe.py"
_TIMING = re.compile(r"ran (\d+) runs in ([\d.]+) s wall \(Ray start-up ([\d.]+) s, runs ([\d.]+) s\)")
_CLUSTER = re.compile(r"Ray: connected to cluster \S+ \(([\d.]+) CPUs\)")
_PROBE = re.compile(r"driver probe: (.*)")
GiB = 2**30


@dataclass
class SweepTiming:
    wall: float  # whole command, measured from outside
    ray_start: float
    run_phase: float
    engine: float  # sum of the runs' engine_seconds, read back from the Parquet
    cluster_cpus: float | None = None  # as the driver saw the cluster it joined
    probe: dict[str, float] = field(default_factory=dict)  # benchmarks/driver_probe.py's figures


def engine_seconds(sweep_dir: Path, runs: int) -> float:
    with duckdb.connect() as con:
        total, n = con.execute(
            f"SELECT sum(engine_seconds), count(*) FROM read_parquet('{sweep_dir}/runs/**/*.parquet')"
        ).fetchone()  # type: ignore[misc]
    assert n == runs, (n, runs)
    return float(total)


def run_sweep(output_dir: Path, runs: int, *overrides: str, env: dict[str, str] | None = None,
              probe: bool = False) -> SweepTiming:
    """The command in a subprocess (through driver_probe.py when ``probe``), timed from outside."""
    head = [str(PROBE)] if probe else ["-m", "paysim_runner"]
    cmd = [sys.executable, *head, "scenario=bench_10", f"seeds={runs}", "sweep.name=bench_10",
           f"output_dir={output_dir}", "report=false", "progress=false", *overrides]
    full_env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"COLUMNS": "200"} | (env or {})
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    match = _TIMING.search(proc.stdout)
    if match is None or int(match.group(1)) != runs:
        raise SystemExit(f"unexpected runner output:\n{proc.stdout}")
    cluster = _CLUSTER.search(proc.stdout)
    probed = _PROBE.search(proc.stderr)
    if probe and probed is None:
        raise SystemExit(f"no driver probe line:\n{proc.stderr}")
    return SweepTiming(
        wall, float(match.group(3)), float(match.group(4)), engine_seconds(output_dir / "bench_10", runs),
        float(cluster.group(1)) if cluster else None,
        {k: float(v) for k, v in (kv.split("=") for kv in probed.group(1).split())} if probed else {},
    )


@dataclass
class WarmTiming:
    full: Any  # the driver's SweepResult with every log
    driver_cpu: float  # CPU seconds of this process (the driver, all its threads) during ``full``
    no_logs: Any  # the same runs with logs.ticks=false logs.transactions=false: the runs table only


def warm_driver_sweeps(output_dir: Path, runs: int, cpus: int) -> WarmTiming:
    """The real driver (``driver.run_sweep``: tasks, results through the object store, the driver
    writing every batch's Parquet) on a Ray of ``cpus`` CPUs that this process already started and
    whose workers already run a batch each: ``connect_ray`` reuses this process's Ray, so the run
    phase is a long sweep's steady state, without Ray's start-up or its workers' cold start. Then
    the same runs with no tick or transaction log on the same warm workers, for comparison."""
    import logging

    import ray
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from paysim_runner.config import CONF_DIR
    from paysim_runner.driver import run_sweep as drive
    from paysim_runner.run import BatchContext, run_batch
    from paysim_runner.sweep.plan import build_plan

    def config(name: str, *extra: str) -> dict[str, Any]:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", ["scenario=bench_10", f"seeds={runs}", "sweep.name=bench_10", "report=false",
                                     "progress=false", f"output_dir={output_dir / name}", *extra])
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]

    full = config("full")
    plan = build_plan(full)
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    try:
        task = ray.remote(num_cpus=1)(run_batch)
        ctx = BatchContext.from_plan(plan)
        first = sorted(plan.batches().items())[:cpus]
        ray.get([task.remote(ctx.for_runs(r), b, r) for b, r in first])  # start one worker per CPU
        cpu = time.process_time()
        result = drive(full, console=Console(quiet=True))
        cpu = time.process_time() - cpu
        no_logs = drive(config("nologs", "logs.ticks=false", "logs.transactions=false"), console=Console(quiet=True))
        return WarmTiming(result, cpu, no_logs)
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="bench_10 runs of figures 1-3 and 5 (budgets: 1,000)")
    parser.add_argument("--big-runs", type=int, default=10000, help="bench_10 runs of figure 4 (budget: 10,000)")
    parser.add_argument("--quick", action="store_true", help="100 and 500 runs: a smoke test, not a measurement")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.big_runs = 100, 500
    console = Console()
    loads = [os.getloadavg()[0]]
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as tmp_name:
        tmp = Path(tmp_name)
        two = run_sweep(tmp / "cpu2", args.runs, "ray.num_cpus=2")
        one = run_sweep(tmp / "cpu1", args.runs, "ray.num_cpus=1")
        loads.append(os.getloadavg()[0])

        from paysim_runner.report import build_report

        start = time.perf_counter()
        build_report(tmp / "cpu2" / "bench_10", Console(quiet=True))
        report_seconds = time.perf_counter() - start

        warm = {cpus: warm_driver_sweeps(tmp / f"warm{cpus}", args.runs, cpus) for cpus in (1, 2)}
        loads.append(os.getloadavg()[0])
        with local_cluster(nodes=2, cpus_per_node=1) as cluster:
            clustered = run_sweep(tmp / "cluster", args.runs, f"ray.address={cluster.address}", env=cluster.env)
        loads.append(os.getloadavg()[0])
        big = run_sweep(tmp / "big", args.big_runs, "ray.num_cpus=2", probe=True)
        loads.append(os.getloadavg()[0])

    table = Table(title="paysim runner: bench_10 runs (10 banks, 100 ticks, Poisson 0.5, t2), full logs")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("budget", justify="right")
    table.add_column("", justify="center")

    def row(label: str, measured: str, budget: str = "", ok: bool | None = None) -> None:
        table.add_row(label, measured, budget, "" if ok is None else "[green]ok[/]" if ok else "[red]over[/]")

    def shares(t: SweepTiming, cpus: int) -> str:
        return f"{100 * t.engine / t.wall:.1f} % / {100 * t.engine / (cpus * t.run_phase):.1f} %"

    n = f"{args.runs:,}"
    row(f"{n} runs, embedded Ray, 2 CPUs: wall incl. Ray start-up", f"{two.wall:.1f} s", "≤ 30 s", two.wall <= 30)
    row("  Ray start-up / run phase", f"{two.ray_start:.1f} s / {two.run_phase:.1f} s")
    row("  engine seconds (sum of the runs' engine_seconds)", f"{two.engine:.2f} s")
    row("  engine share of wall / of run phase x 2 CPUs", shares(two, 2))
    row("  wall, 1 CPU", f"{one.wall:.1f} s")
    row("  speed-up 1 -> 2 CPUs: run phase / whole command",
        f"{one.run_phase / two.run_phase:.2f}x / {one.wall / two.wall:.2f}x")
    table.add_section()
    row(f"{n} runs, 2-node cluster (ray start, 1 CPU each): wall", f"{clustered.wall:.1f} s")
    row("  CPUs the driver saw / connect / run phase",
        f"{clustered.cluster_cpus or 0:g} / {clustered.ray_start:.1f} s / {clustered.run_phase:.1f} s")
    row("  engine seconds / share of wall / of run phase x 2 CPUs",
        f"{clustered.engine:.2f} s / {shares(clustered, 2)}")
    table.add_section()
    w1, w2 = warm[1].full, warm[2].full
    row(f"{n} runs, warm Ray, driver.run_sweep: run phase 1 / 2 CPUs", f"{w1.run_seconds:.2f} / {w2.run_seconds:.2f} s")
    row("  speed-up 1 -> 2 CPUs, warm", f"{w1.run_seconds / w2.run_seconds:.2f}x")
    row("  engine seconds of the 2-CPU sweep", f"{w2.engine_seconds:.2f} s")
    row("  driver CPU during the 2-CPU run phase (share of 2 CPUs)",
        f"{warm[2].driver_cpu:.2f} s ({100 * warm[2].driver_cpu / (2 * w2.run_seconds):.0f} %)")
    ratio = w2.run_seconds / w2.engine_seconds
    row("  run phase / engine seconds, 2 CPUs", f"{ratio:.1f}x", "≤ 3x", ratio <= 3)
    bare = warm[2].no_logs
    row("  the same with no tick or transaction log", f"{bare.run_seconds / bare.engine_seconds:.1f}x")
    table.add_section()
    p = big.probe
    peak = p["peak_rss_kib"] * 1024
    row(f"{args.big_runs:,} runs, embedded Ray, 2 CPUs: wall / run phase", f"{big.wall:.1f} s / {big.run_phase:.1f} s")
    row("  driver peak RSS (its own ru_maxrss)", f"{peak / 2**20:,.0f} MiB", "≤ 1 GiB", peak <= GiB)
    row("  Parquet written: MB / rows", f"{p['bytes'] / 1e6:,.0f} MB / {p['rows']:,.0f}")
    row("  write throughput over the run phase: MB/s / rows/s",
        f"{p['bytes'] / 1e6 / big.run_phase:,.1f} / {p['rows'] / big.run_phase:,.0f}")
    row("  time in write_batch (share of run phase)",
        f"{p['write_seconds']:.1f} s ({100 * p['write_seconds'] / big.run_phase:.0f} %)")
    row("  throughput while in write_batch: MB/s / rows/s",
        f"{p['bytes'] / 1e6 / p['write_seconds']:,.1f} / {p['rows'] / p['write_seconds']:,.0f}")
    row("  engine share of run phase x 2 CPUs", f"{100 * big.engine / (2 * big.run_phase):.1f} %")
    table.add_section()
    row(f"DuckDB report over the {n} runs (build_report)", f"{report_seconds:.2f} s", "≤ 2 s", report_seconds <= 2)
    console.print(table)
    console.print(
        f"benchmark took {time.perf_counter() - started:.0f} s; load average (1 min) at start and after each part: "
        + ", ".join(f"{load:.1f}" for load in loads) + f" on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()

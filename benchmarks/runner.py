"""Runner performance figures (docs/performance.md#runner), each printed beside its budget.

    python benchmarks/runner.py                 # 1,000 bench_10 runs (about a minute on 2 cores)
    python benchmarks/runner.py --runs 200      # smaller, for a quick look

1. ``python -m paysim_runner scenario=bench_10 seeds=1000`` on an embedded local Ray with 2 CPUs:
   wall seconds of the whole command (interpreter, Hydra, validation, Ray start-up, runs, Parquet,
   Ray shutdown) against the 30 s budget.
2. Engine seconds (the runs' own ``engine_seconds``, summed) as a share of that wall time.
3. Speed-up from 1 to 2 CPUs: the same sweep with ``ray.num_cpus=1``, comparing the run phase
   (first task submitted to last batch written, including Ray's cold start of its worker processes)
   and the whole command; and, separately, the task throughput with warm workers (the same batches
   on an already started Ray of 1 and of 2 CPUs), which is what a long sweep sees.
4. The DuckDB report over the 1,000 runs (``build_report``: SQL, tables, CSV, PNG) against 2 s.

The sweeps write their full Parquet logs (runs, ticks, transactions), as a user's sweep would.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
_TIMING = re.compile(r"ran (\d+) runs in ([\d.]+) s wall \(Ray start-up ([\d.]+) s, runs ([\d.]+) s\)")


@dataclass
class SweepTiming:
    wall: float  # whole command, measured from outside
    ray_start: float
    run_phase: float


def run_sweep(output_dir: Path, runs: int, cpus: int) -> SweepTiming:
    cmd = [
        sys.executable, "-m", "paysim_runner", "scenario=bench_10", f"seeds={runs}", "sweep.name=bench_10",
        f"ray.num_cpus={cpus}", f"output_dir={output_dir}", "report=false", "progress=false",
    ]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"COLUMNS": "200"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    match = _TIMING.search(proc.stdout)
    if match is None or int(match.group(1)) != runs:
        raise SystemExit(f"unexpected runner output:\n{proc.stdout}")
    return SweepTiming(wall, float(match.group(3)), float(match.group(4)))


def warm_run_phase(output_dir: Path, runs: int, cpus: int) -> float:
    """Seconds to run every batch on a Ray of ``cpus`` CPUs whose workers are already started."""
    import logging

    import ray
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from paysim_runner.config import CONF_DIR
    from paysim_runner.run import BatchContext, run_batch
    from paysim_runner.sweep.plan import build_plan

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", ["scenario=bench_10", f"seeds={runs}", "sweep.name=bench_10",
                                 f"output_dir={output_dir}"])
    plan = build_plan(OmegaConf.to_container(cfg, resolve=True))
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    try:
        task = ray.remote(num_cpus=1)(run_batch)
        ctx = BatchContext.from_plan(plan)
        batches = sorted(plan.batches().items())
        ray.get([task.remote(ctx.for_runs(r), b, r) for b, r in batches[:cpus]])  # start one worker per CPU
        start = time.perf_counter()
        ray.get([task.remote(ctx.for_runs(r), b, r) for b, r in batches])
        return time.perf_counter() - start
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="bench_10 replications (the budget is for 1,000)")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="paysim-bench-") as tmp:
        two = run_sweep(Path(tmp) / "cpu2", args.runs, cpus=2)
        one = run_sweep(Path(tmp) / "cpu1", args.runs, cpus=1)
        sweep_dir = Path(tmp) / "cpu2" / "bench_10"
        with duckdb.connect() as con:
            engine_seconds, n = con.execute(
                f"SELECT sum(engine_seconds), count(*) FROM read_parquet('{sweep_dir}/runs/**/*.parquet')"
            ).fetchone()
        assert n == args.runs

        from paysim_runner.report import build_report

        start = time.perf_counter()
        build_report(sweep_dir, Console(quiet=True))
        report_seconds = time.perf_counter() - start

        warm = {cpus: warm_run_phase(Path(tmp) / f"warm{cpus}", args.runs, cpus) for cpus in (1, 2)}

    table = Table(title=f"paysim runner: {args.runs} bench_10 runs (10 banks, 100 ticks, Poisson 0.5, t2)")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("budget", justify="right")
    table.add_column("", justify="center")

    def verdict(ok: bool) -> str:
        return "[green]ok[/]" if ok else "[red]over[/]"

    table.add_row("wall, 2 CPUs, incl. Ray start-up", f"{two.wall:.1f} s", "≤ 30 s", verdict(two.wall <= 30))
    table.add_row("  of which Ray start-up", f"{two.ray_start:.1f} s", "", "")
    table.add_row("  of which run phase", f"{two.run_phase:.1f} s", "", "")
    table.add_row("engine seconds (sum over runs)", f"{engine_seconds:.2f} s", "", "")
    table.add_row("engine share of wall", f"{100 * engine_seconds / two.wall:.1f} %", "", "")
    table.add_row("engine share of run phase (x2 CPUs)",
                  f"{100 * engine_seconds / (2 * two.run_phase):.1f} %", "", "")
    table.add_row("wall, 1 CPU", f"{one.wall:.1f} s", "", "")
    table.add_row("speed-up 1 -> 2 CPUs, run phase", f"{one.run_phase / two.run_phase:.2f}x", "", "")
    table.add_row("speed-up 1 -> 2 CPUs, whole command", f"{one.wall / two.wall:.2f}x", "", "")
    table.add_row("run phase, warm workers, 1 / 2 CPUs", f"{warm[1]:.2f} / {warm[2]:.2f} s", "", "")
    table.add_row("speed-up 1 -> 2 CPUs, warm workers", f"{warm[1] / warm[2]:.2f}x", "", "")
    table.add_row("DuckDB report (build_report)", f"{report_seconds:.2f} s", "≤ 2 s", verdict(report_seconds <= 2))
    console.print(table)
    console.print(f"load average during the benchmark: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

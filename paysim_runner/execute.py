"""Running a sweep: plain run/batch functions, their Ray task wrapper, and the driver.

``run_one`` and ``run_batch`` are ordinary functions (unit-tested without Ray); a Ray task is just
``run_batch`` executed remotely. A batch writes its own Parquet files and returns a few numbers,
so results never travel through the driver. Files have deterministic names and are replaced
atomically, so a retried task (Ray retries tasks whose worker died) rewrites identical bytes
instead of duplicating runs, and a re-run of the same sweep skips every batch already complete.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from paysim_runner import storage
from paysim_runner.config import CONF_DIR, ConfigError
from paysim_runner.errors import PaysimError
from paysim_runner.schema import STRING_METRICS, runs_schema
from paysim_runner.sweep import Axis, Cell, RunSpec, SweepPlan, build_plan

# --- one run ---------------------------------------------------------------------------------------

@dataclass
class RunOutput:
    row: dict[str, Any]
    ticks: pa.Table | None
    transactions: pa.Table | None


def liquidity_bounds(engine_config: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Per-bank (lower, upper) liquidity bounds of the payment stream ``engine_config`` generates,
    as the engine computes them (``Orchestrator.liquidity_bounds``: the figures its
    ``liquidity_lower_bound`` / ``liquidity_upper_bound`` metrics sum).

    The stream is replayed with every bank on Fifo and no LSM, the cheapest way through the day:
    arrivals do not depend on policies, LSM or balances (SPEC §3 Random numbers).
    """
    from paysim_runner import _core

    config = {
        **engine_config,
        "agent_configs": [{**agent, "policy": {"type": "Fifo"}} for agent in engine_config["agent_configs"]],
        "lsm": {**engine_config.get("lsm", {}), "mode": "none"},
    }
    orch = _core.Orchestrator.new(config)
    orch.run()
    ids = orch.get_agent_ids()
    bounds = orch.liquidity_bounds()
    return dict(zip(ids, bounds["lower"])), dict(zip(ids, bounds["upper"]))


def with_liquidity(engine_config: Mapping[str, Any], fraction: float) -> dict[str, Any]:
    """Open every bank at lower + fraction x (upper - lower) of its own bounds, with no credit."""
    lower, upper = liquidity_bounds(engine_config)
    config = dict(engine_config)
    config["agent_configs"] = [
        {
            **agent,
            "opening_balance": lower[agent["id"]] + int(round(fraction * (upper[agent["id"]] - lower[agent["id"]]))),
            "credit_limit": 0,
        }
        for agent in engine_config["agent_configs"]
    ]
    return config


def run_one(
    engine_config: Mapping[str, Any],
    run: RunSpec,
    cell: Cell,
    *,
    sweep: str,
    liquidity_fraction: float | None = None,
    ticks: bool = True,
    transactions: bool = True,
) -> RunOutput:
    """Build the engine for ``run`` (the cell's config with the run's seed), run it to the end,
    and return its ``runs`` row with its tick and transaction logs as Arrow tables."""
    from paysim_runner import _core

    config = {**engine_config, "rng_seed": run.seed}
    if liquidity_fraction is not None:
        config = with_liquidity(config, liquidity_fraction)
    orch = _core.Orchestrator.new(config)
    orch.run()
    metrics = orch.metrics()
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "sweep": sweep,
        "cell_id": cell.cell_id,
        "cell": cell.label,
        **cell.params,
        "seed": run.seed,
        "rep": run.rep,
    }
    for name in _core.METRIC_NAMES:
        value = metrics[name]
        row[name] = str(value) if name in STRING_METRICS else value
    ids = orch.get_agent_ids()
    return RunOutput(
        row=row,
        ticks=_ticks_table(orch.tick_log(), ids, run) if ticks else None,
        transactions=_transactions_table(orch.transaction_log(), ids, run) if transactions else None,
    )


def _identity(run: RunSpec, n: int) -> dict[str, pa.Array]:
    return {
        "run_id": pa.repeat(pa.scalar(run.run_id, pa.string()), n),
        "cell_id": pa.array(np.full(n, run.cell_id, dtype=np.int32)),
        "rep": pa.array(np.full(n, run.rep, dtype=np.int32)),
    }


def _ticks_table(log: Mapping[str, np.ndarray], bank_ids: Sequence[str], run: RunSpec) -> pa.Table:
    n = len(log["tick"])
    columns: dict[str, pa.Array] = _identity(run, n)
    for name, values in log.items():
        columns[name] = storage.bank_names(values, bank_ids) if name == "bank" else pa.array(values)
    return pa.table(columns)




def _transactions_table(log: Mapping[str, np.ndarray], bank_ids: Sequence[str], run: RunSpec) -> pa.Table:
    n = len(log["tx_id"])
    return pa.table({**_identity(run, n), **storage.transaction_columns(log, bank_ids)})


# --- one batch (the Ray task body) -----------------------------------------------------------------

@dataclass
class BatchContext:
    """What a batch needs to run: its cells' engine dicts and where to write.

    A Ray task gets :meth:`for_runs` of the sweep's context, so it carries only the cells of its own
    runs: a grid of large scenarios (1,000 banks are megabytes of engine dict) is not copied to
    every worker.
    """

    sweep: str
    sweep_dir: str  # absolute: Ray workers do not share the driver's working directory
    cells: dict[int, Cell]
    engine_configs: dict[int, dict[str, Any]]
    liquidity_fractions: dict[int, float | None]
    axes: list[Axis]
    ticks: bool = True
    transactions: bool = True

    @classmethod
    def from_plan(cls, plan: SweepPlan, sweep_dir: Path) -> BatchContext:
        return cls(
            sweep=plan.name,
            sweep_dir=str(sweep_dir.resolve()),
            cells={c.cell_id: c for c in plan.cells},
            engine_configs=plan.engine_configs,
            liquidity_fractions=plan.liquidity_fractions,
            axes=plan.axes,
            ticks=plan.logs.ticks,
            transactions=plan.logs.transactions,
        )

    def for_runs(self, runs: Sequence[RunSpec]) -> BatchContext:
        """This context limited to the cells of ``runs``."""
        ids = {run.cell_id for run in runs}
        return dataclasses.replace(
            self,
            cells={i: c for i, c in self.cells.items() if i in ids},
            engine_configs={i: c for i, c in self.engine_configs.items() if i in ids},
            liquidity_fractions={i: f for i, f in self.liquidity_fractions.items() if i in ids},
        )


class RunFailed(PaysimError, RuntimeError):
    """A run raised; the message names the run, its cell and seed so it can be replayed alone."""


def run_batch(ctx: BatchContext, batch: int, runs: Sequence[RunSpec]) -> dict[str, Any]:
    """Run ``runs`` and write the batch's ticks, transactions and (last) runs files.

    Returns only a summary (batch, runs, engine and wall seconds).
    """
    start = time.perf_counter()
    outputs: list[RunOutput] = []
    for run in runs:
        cell = ctx.cells[run.cell_id]
        try:
            outputs.append(
                run_one(
                    ctx.engine_configs[run.cell_id],
                    run,
                    cell,
                    sweep=ctx.sweep,
                    liquidity_fraction=ctx.liquidity_fractions.get(run.cell_id),
                    ticks=ctx.ticks,
                    transactions=ctx.transactions,
                )
            )
        except Exception as exc:
            raise RunFailed(f"run {run.run_id} [{cell.label}] seed={run.seed}: {type(exc).__name__}: {exc}") from exc
    sweep_dir = Path(ctx.sweep_dir)
    if ctx.ticks:
        storage.write_parquet_atomic(
            pa.concat_tables([o.ticks for o in outputs]), storage.batch_file(sweep_dir, "ticks", batch)
        )
    if ctx.transactions:
        storage.write_parquet_atomic(
            pa.concat_tables([o.transactions for o in outputs]), storage.batch_file(sweep_dir, "transactions", batch)
        )
    runs_table = pa.Table.from_pylist([o.row for o in outputs], schema=runs_schema(ctx.axes))
    storage.write_parquet_atomic(runs_table, storage.batch_file(sweep_dir, "runs", batch))
    return {
        "batch": batch,
        "runs": len(outputs),
        "engine_seconds": float(sum(o.row["engine_seconds"] for o in outputs)),
        "wall_seconds": time.perf_counter() - start,
    }


# --- Ray ---------------------------------------------------------------------------------------

def _remote_run_batch() -> Any:
    import ray

    # max_retries: a worker that dies (OOM, node loss) is retried; the rewrite is idempotent.
    return ray.remote(num_cpus=1, max_retries=3)(run_batch)


def connect_ray(address: str | None, num_cpus: int) -> tuple[bool, str]:
    """Join Ray: the already-initialised instance, a cluster (address / RAY_ADDRESS, incl. "auto"),
    or a new embedded local one. Returns (whether this call started the connection and should end
    it, a one-line description for the user)."""
    import ray

    if ray.is_initialized():
        return False, "Ray: reusing this process's Ray"
    source = "ray.address" if address else "ray.address (from RAY_ADDRESS)"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        probe_ray_address(address, source)
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
        except ConnectionError as exc:
            hint = "" if os.environ.get("RAY_AUTH_MODE") else (
                "; a cluster with token authentication (the default of `ray start`) needs RAY_AUTH_MODE=token"
            )
            raise ConfigError(source, f"cannot connect to Ray at {address!r} ({exc}){hint}") from None
        cpus = ray.cluster_resources().get("CPU", 0)
        return True, f"Ray: connected to cluster {address} ({cpus:g} CPUs)"
    # "local": always a new embedded instance, never a stray `ray start` cluster on this machine.
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    return True, f"Ray: embedded local instance ({num_cpus} CPUs)"


#: Seconds to wait for a TCP connection to a cluster's GCS before giving up. Ray itself retries an
#: unreachable address for minutes; a closed port should be reported at once.
PROBE_TIMEOUT = 5.0


def probe_ray_address(address: str, source: str = "ray.address", timeout: float = PROBE_TIMEOUT) -> None:
    """Fail fast, with one line naming ``source``, when nothing listens at a HOST:PORT address.

    ``auto`` is left to Ray (it reads the address of the cluster `ray start` last started here and
    fails at once when there is none).
    """
    if address in ("auto", "local"):
        return
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(source, f"{address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ConfigError(
            source, f"cannot reach Ray at {address!r} ({reason}); is the cluster running (`ray start --head`)?"
        ) from None


# --- driver ----------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    sweep_dir: Path
    total_runs: int
    skipped_runs: int
    executed_runs: int
    wall_seconds: float
    engine_seconds: float
    ray_start_seconds: float = 0.0
    run_seconds: float = 0.0
    report: Any = None
    report_error: str | None = None
    written: list[Path] = field(default_factory=list)


def prepare(config: Mapping[str, Any], conf_dir: Path = CONF_DIR) -> tuple[SweepPlan, Path, dict[str, Any]]:
    """Validate everything and decide the output folder; writes nothing (ConfigError on any problem)."""
    plan = build_plan(config, conf_dir)
    sweep_dir = Path(str(config["output_dir"])).expanduser().resolve() / plan.name
    check_output_dir(sweep_dir)
    manifest = storage.build_manifest(plan, config, conf_dir.parent)
    old = storage.read_manifest(sweep_dir / storage.MANIFEST)
    if old is not None:
        diffs = storage.fingerprint_differences(old, manifest) if old else ["manifest.json unreadable"]
        if diffs:
            raise ConfigError(
                "output_dir",
                f"{sweep_dir} holds a different sweep (differs in {', '.join(diffs[:5])}); "
                "use another output_dir or sweep.name, or delete that folder",
            )
    elif sweep_dir.exists() and any(sweep_dir.iterdir()):
        raise ConfigError("output_dir", f"{sweep_dir} exists, is not empty and has no manifest.json")
    return plan, sweep_dir, manifest


def check_output_dir(sweep_dir: Path) -> None:
    """The sweep folder, or the deepest part of its path that exists, must be a writable directory.

    Checked before Ray starts, so a typo costs no start-up; ``create_output_dir`` still turns any
    later OSError into the same one-line error.
    """
    existing = sweep_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError("output_dir", f"{existing} is not a directory")
    try:  # an unnamed file (O_TMPFILE where available), gone when closed: nothing is left behind
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ConfigError("output_dir", f"cannot write in {existing} ({exc.strerror or exc})") from None


def create_output_dir(sweep_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Create the sweep folder, sweep away a killed writer's temporaries and write manifest.json."""
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        storage.remove_stale_temp_files(sweep_dir)
        storage.write_json_atomic(manifest, sweep_dir / storage.MANIFEST)
    except OSError as exc:
        where = exc.filename or sweep_dir
        raise ConfigError("output_dir", f"cannot write {where} ({exc.strerror or exc})") from None


def run_sweep(
    config: Mapping[str, Any],
    *,
    conf_dir: Path = CONF_DIR,
    console: Console | None = None,
) -> SweepResult:
    """The main job: validate, join Ray, write the manifest, run missing batches, report.

    Nothing is created on disk until the sweep is valid and Ray is reachable, so a bad config or an
    unreachable cluster leaves no half-made output folder behind.
    """
    console = console or Console()
    started = time.perf_counter()
    plan, sweep_dir, manifest = prepare(config, conf_dir)

    all_batches = plan.batches()
    done = storage.completed_batches(sweep_dir) & set(all_batches) if sweep_dir.is_dir() else set()
    todo = {b: runs for b, runs in all_batches.items() if b not in done}
    skipped = sum(len(all_batches[b]) for b in done)
    total = len(plan.runs)
    timing = ExecTiming()
    owned = False
    how = ""
    if todo:
        ray_cfg = config.get("ray") or {}
        start = time.perf_counter()
        owned, how = connect_ray(ray_cfg.get("address"), int(ray_cfg.get("num_cpus", 2)))
        timing.ray_start_seconds = time.perf_counter() - start
    try:
        create_output_dir(sweep_dir, manifest)
        console.print(
            f"[bold]{plan.name}[/]: {len(plan.cells)} cells x {plan.replications} seeds = {total} runs "
            f"in {len(all_batches)} batches -> {escape(str(sweep_dir))}"
            + (f" (resuming: {skipped} runs already done)" if skipped else ""),
            soft_wrap=True,
        )
        if todo:
            console.print(how, highlight=False)
            _execute(plan, sweep_dir, todo, skipped, bool(config.get("progress", True)), console, timing)
    except BaseException:
        if owned:  # stop the workers first: a live one could still leave a temporary file behind
            _shutdown_ray()
            owned = False
        if sweep_dir.is_dir():
            storage.remove_stale_temp_files(sweep_dir)
        raise
    finally:
        if owned:
            _shutdown_ray()
    wall = time.perf_counter() - started
    result = SweepResult(
        sweep_dir, total, skipped, total - skipped, wall, timing.engine_seconds, timing.ray_start_seconds,
        timing.run_seconds,
    )
    if todo:
        console.print(
            f"ran {total - skipped} runs in {wall:.1f} s wall (Ray start-up {timing.ray_start_seconds:.1f} s, "
            f"runs {timing.run_seconds:.1f} s); engine time {timing.engine_seconds:.1f} s "
            f"({100 * timing.engine_seconds / wall:.0f}% of wall)",
            soft_wrap=True,
        )
    if config.get("report", True):
        result.report = _report(sweep_dir, console, result)
    result.written = _print_written(sweep_dir, result.report, console)
    return result


def _shutdown_ray() -> None:
    import ray

    ray.shutdown()


@dataclass
class ExecTiming:
    engine_seconds: float = 0.0  # sum of the runs' own engine_seconds
    ray_start_seconds: float = 0.0  # joining or starting Ray
    run_seconds: float = 0.0  # first submission to last batch written


def _execute(
    plan: SweepPlan,
    sweep_dir: Path,
    todo: dict[int, list[RunSpec]],
    skipped: int,
    show_progress: bool,
    console: Console,
    timing: ExecTiming,
) -> None:
    """Submit one Ray task per missing batch and follow them with a progress bar (Ray is joined)."""
    import ray

    pending: dict[Any, int] = {}
    try:
        start = time.perf_counter()
        remote = _remote_run_batch()
        ctx = BatchContext.from_plan(plan, sweep_dir)
        pending = {remote.remote(ctx.for_runs(runs), b, runs): b for b, runs in sorted(todo.items())}
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not show_progress,
            transient=False,
        ) as progress:
            task = progress.add_task(plan.name, total=len(plan.runs), completed=skipped)
            while pending:
                # every batch finished so far (at most 0.25 s late), without waiting for all
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.25)
                for ref in ready:
                    pending.pop(ref)
                    summary = ray.get(ref)
                    timing.engine_seconds += summary["engine_seconds"]
                    progress.advance(task, summary["runs"])
        timing.run_seconds = time.perf_counter() - start
    except BaseException as exc:
        for ref in pending:
            ray.cancel(ref, force=True)
        if isinstance(exc, KeyboardInterrupt):
            done = len(storage.completed_batches(sweep_dir))
            console.print(
                f"[yellow]interrupted[/]: {done} of {len(plan.batches())} batches complete in "
                f"{escape(str(sweep_dir))}; run the same command again to resume"
            )
        if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(exc.cause, RunFailed):
            raise exc.cause from None
        raise


def _report(sweep_dir: Path, console: Console, result: SweepResult) -> Any:
    """The DuckDB report (paysim_runner.report), imported late so the runner works without it.

    A failing report must not hide that the runs are complete and where they are, so its error is
    recorded on ``result`` (the CLI exits non-zero) and the written paths are still printed.
    """
    try:
        from paysim_runner.report import build_report
    except ImportError as exc:
        result.report_error = f"report unavailable: {exc}"
        console.print(f"[yellow]{result.report_error}[/]", soft_wrap=True)
        return None
    try:
        return build_report(sweep_dir, console)
    except Exception as exc:
        result.report_error = f"report failed: {type(exc).__name__}: {exc}"
        console.print(f"[red]{result.report_error}[/] (rebuild it with `paysim report {sweep_dir}`)", soft_wrap=True)
        return None


def _print_written(sweep_dir: Path, report: Any, console: Console) -> list[Path]:
    written = [sweep_dir / storage.MANIFEST]
    console.print("[bold]written:[/]")
    console.print(f"  {sweep_dir / storage.MANIFEST}", soft_wrap=True)
    for table, count in storage.list_outputs(sweep_dir).items():
        if count:
            console.print(f"  {sweep_dir / table}/batch=*/{storage.PART_FILE}  ({count} files)", soft_wrap=True)
            written.append(sweep_dir / table)
    for path in getattr(report, "files", None) or []:
        console.print(f"  {path}", soft_wrap=True)
        written.append(Path(path))
    return written


def install_sigterm_handler() -> None:
    """Treat SIGTERM like Ctrl-C so a terminated driver cancels its tasks and cleans up."""

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)

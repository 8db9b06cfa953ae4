"""The body of a sweep: one run and one batch as plain functions, and the tables they build.

``run_one`` and ``run_batch`` are ordinary functions (unit-tested without Ray); the Ray backend
(paysim_runner.ray_backend) runs ``run_batch`` as a remote task and the inline executor calls it
directly, so both produce the same bytes. A batch returns its tables and writes nothing: the
driver is the only writer (``storage.write_batch``), so a cluster's workers need not see
``output_dir``, and a retried task (Ray retries tasks whose worker died) cannot duplicate runs
(docs/runner.md#no-shared-filesystem).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa

from paysim_runner import storage
from paysim_runner.errors import PaysimError
from paysim_runner.schema import STRING_METRICS, runs_schema
from paysim_runner.sweep.grid import Axis, Cell, RunSpec
from paysim_runner.sweep.plan import SweepPlan

# --- one run ---------------------------------------------------------------------------------------

@dataclass
class RunOutput:
    """A run's ``runs`` row and its engine logs (numpy columns, by table: ``ticks`` and
    ``transactions`` when logged, ``events`` always). The logs become Arrow tables once per batch
    (:func:`log_table`): converting run by run costs several times the engine's own time on a
    small day (docs/performance.md#runner)."""

    row: dict[str, Any]
    run: RunSpec
    bank_ids: list[str]
    logs: dict[str, Mapping[str, np.ndarray]]

    @property
    def ticks(self) -> pa.Table | None:
        return log_table("ticks", [self])

    @property
    def transactions(self) -> pa.Table | None:
        return log_table("transactions", [self])

    @property
    def events(self) -> pa.Table:
        """Always built (docs/runner.md#output-layout): a run without events or loans has no rows."""
        table = log_table("events", [self])
        assert table is not None
        return table


def liquidity_bounds(engine_config: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Per-bank (lower, upper) liquidity bounds of the payment stream ``engine_config`` generates,
    as the engine computes them (``Orchestrator.liquidity_bounds``: the figures its
    ``liquidity_lower_bound`` / ``liquidity_upper_bound`` metrics sum).

    The stream is replayed with every bank on Fifo and no LSM, the cheapest way through the day:
    arrivals do not depend on policies, LSM or balances (docs/semantics.md, random numbers).
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
    return dict(zip(ids, bounds["lower"], strict=True)), dict(zip(ids, bounds["upper"], strict=True))


def with_liquidity(engine_config: Mapping[str, Any], fraction: float) -> dict[str, Any]:
    """Open every bank at lower + fraction x (upper - lower) of its own bounds, with no credit."""
    lower, upper = liquidity_bounds(engine_config)
    config = dict(engine_config)
    config["agent_configs"] = [
        {
            **agent,
            "opening_balance": lower[agent["id"]] + round(fraction * (upper[agent["id"]] - lower[agent["id"]])),
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
    logs: dict[str, Mapping[str, np.ndarray]] = {"events": orch.event_log()}
    if ticks:
        logs["ticks"] = orch.tick_log()
    if transactions:
        logs["transactions"] = orch.transaction_log()
    return RunOutput(row=row, run=run, bank_ids=list(orch.get_agent_ids()), logs=logs)


def _tick_columns(log: Mapping[str, np.ndarray], bank_ids: Sequence[str]) -> dict[str, pa.Array]:
    return {name: storage.bank_names(v, bank_ids) if name == "bank" else pa.array(v) for name, v in log.items()}


#: Each log table's columns from the engine's log columns and the banks' ids.
_COLUMNS = {
    "ticks": _tick_columns,
    "transactions": storage.transaction_columns,
    "events": storage.event_columns,
}
#: The columns of each log holding a bank's index (or -1 for none).
_BANK_COLUMNS = {"ticks": {"bank"}, "transactions": storage.BANK_COLUMNS, "events": storage.EVENT_BANK_COLUMNS}


def log_table(table: str, outputs: Sequence[RunOutput]) -> pa.Table | None:
    """One log table of several runs, in run order (None when no run logged it): their numpy
    columns joined, then converted to Arrow once, led by each row's run_id, cell_id and rep. Runs
    whose banks differ (cells of different scenarios) get their bank indexes shifted into one
    joined id list."""
    logged = [o for o in outputs if table in o.logs]
    if not logged:
        return None
    counts = np.array([len(next(iter(o.logs[table].values()))) for o in logged], dtype=np.int64)
    which = np.repeat(np.arange(len(logged)), counts)
    bank_ids = logged[0].bank_ids
    offsets = [0] * len(logged)
    if any(o.bank_ids != bank_ids for o in logged):
        offsets = [int(x) for x in np.cumsum([0] + [len(o.bank_ids) for o in logged[:-1]])]
        bank_ids = [bank for o in logged for bank in o.bank_ids]
    log = {
        name: np.concatenate([_shifted(o.logs[table][name], off) if name in _BANK_COLUMNS[table]
                              else o.logs[table][name] for o, off in zip(logged, offsets, strict=True)])
        for name in logged[0].logs[table]
    }
    identity = {
        "run_id": pa.array([o.run.run_id for o in logged], pa.string()).take(pa.array(which)),
        "cell_id": pa.array(np.array([o.run.cell_id for o in logged], dtype=np.int32)[which]),
        "rep": pa.array(np.array([o.run.rep for o in logged], dtype=np.int32)[which]),
    }
    return pa.table({**identity, **_COLUMNS[table](log, bank_ids)})


def _shifted(codes: np.ndarray, offset: int) -> np.ndarray:
    """Bank indexes moved by ``offset``; -1 (no bank) stays -1."""
    return codes if offset == 0 else np.where(codes >= 0, codes + offset, codes)


# --- one batch (the task body of every executor) ---------------------------------------------------

@dataclass
class BatchContext:
    """What a batch needs to run: its cells' engine dicts and what to log.

    A Ray task gets :meth:`for_runs` of the sweep's context, so it carries only the cells of its own
    runs: a grid of large scenarios (1,000 banks are megabytes of engine dict) is not copied to
    every worker.
    """

    sweep: str
    cells: dict[int, Cell]
    engine_configs: dict[int, dict[str, Any]]
    liquidity_fractions: dict[int, float | None]
    axes: list[Axis]
    ticks: bool = True
    transactions: bool = True

    @classmethod
    def from_plan(cls, plan: SweepPlan) -> BatchContext:
        return cls(
            sweep=plan.name,
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


class BatchSummary(TypedDict):
    """What the driver reports of a batch once it is written."""

    batch: int
    runs: int
    engine_seconds: float  # the runs' own engine_seconds, summed
    wall_seconds: float  # the batch's runs, in the task


@dataclass
class BatchResult:
    """A batch's runs as Arrow tables, keyed by table name (``storage.TABLES``, those logged).

    A task returns it (over Ray, through the object store) and the driver alone writes it
    (``storage.write_batch``), so no worker needs to see ``output_dir`` and a retried task cannot
    write twice.
    """

    summary: BatchSummary
    tables: dict[str, pa.Table]


#: An executor's batch results in completion order; closing it early stops the batches still running.
BatchResults = Generator[BatchResult, None, None]


def run_batch(ctx: BatchContext, batch: int, runs: Sequence[RunSpec]) -> BatchResult:
    """Run ``runs`` and return the batch's ticks, transactions, events and runs tables (ticks and
    transactions only when logged). Writes nothing: the task body of every executor."""
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
    # One conversion per table and batch, in the parallel workers, with one chunk per column: the
    # one driver gets columns Ray rebuilds and Parquet encodes whole (docs/performance.md#runner).
    tables: dict[str, pa.Table] = {}
    for table in _COLUMNS:  # ticks, transactions, events: the order write_batch writes them
        built = log_table(table, outputs)
        if built is not None:
            tables[table] = built
    tables["runs"] = pa.Table.from_pylist([o.row for o in outputs], schema=runs_schema(ctx.axes))
    summary = BatchSummary(
        batch=batch,
        runs=len(outputs),
        engine_seconds=float(sum(o.row["engine_seconds"] for o in outputs)),
        wall_seconds=time.perf_counter() - start,
    )
    return BatchResult(summary, tables)

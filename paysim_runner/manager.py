"""Live simulations held in memory, for the REST API: researchers step them by hand and inject payments.

Each simulation is an independent engine behind its own lock, so concurrent requests on one
simulation are serialized while different simulations proceed in parallel. The engine object must
only ever be touched under its lock: a second call into it while a tick runs would be refused.

Ticks run in the engine without the GIL, in chunks (``budget.run_step``), within the server's
``Budgets``: a time budget per request and a memory budget per simulation and in all.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from paysim_runner import _core, storage
from paysim_runner._core import Orchestrator
from paysim_runner.budget import Budgets, MemoryBudgetExceeded, StepCancelled, log_bytes, run_step, show_bytes
from paysim_runner.errors import (
    ConfigError,
    InvalidPaymentError,
    PaysimError,
    RunFinished,
    UnknownBankError,
)
from paysim_runner.scenario import SimulationConfig, TickLogConfig

DEFAULT_MAX_SIMULATIONS = 64
MAX_TICKS_PER_CALL = 100_000
#: Bound on one tick request's work, in log rows: ticks x (banks + expected arrivals per tick).
#: A request over it is refused instead of holding the server (and its memory) for minutes.
MAX_WORK_PER_CALL = 5_000_000
MAX_PAGE_SIZE = 1_000

#: Tick-result figures that are positions at the end of a tick: the last tick's value is reported.
STOCK_KEYS = tuple(_core.TICK_POSITIONS)
#: Tick-result figures that are flows within a tick: summed over a multi-tick call.
FLOW_KEYS = tuple(name for name, _ in _core.SCHEMAS["tick_result"] if name not in STOCK_KEYS)


class SimulationNotFound(PaysimError, KeyError):
    """No live simulation has this id (never created, or deleted)."""

    def __init__(self, sim_id: str) -> None:
        super().__init__(sim_id)
        self.sim_id = sim_id

    def __str__(self) -> str:
        return f"no simulation with id {self.sim_id!r}"


class SimulationLimitReached(PaysimError, RuntimeError):
    """Creating one more simulation would exceed the bound on live simulations."""


class InvalidScenario(PaysimError, ValueError):
    """The scenario cannot run (engine refusal or a server bound); the message starts with the field path."""


class InvalidPayment(PaysimError, ValueError):
    """A submitted payment names an unknown bank or carries a value the engine refuses; ``field``
    is the payment field, taken from the engine error's ``.loc``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class RequestTooLarge(PaysimError, ValueError):
    """A tick request whose work exceeds the bound; the message says which n would fit."""


@dataclass
class _Simulation:
    """One live engine and what can be read about it without taking its lock."""

    engine: Orchestrator
    bank_ids: tuple[str, ...]
    ticks_per_day: int
    total_ticks: int
    expected_arrivals_per_tick: float
    created_at: float
    current_tick: int = 0  # cached after every tick, so listing never waits on a running tick
    log_bytes: int = 0  # bytes its logs hold, cached after every change, read without the lock
    lock: threading.Lock = field(default_factory=threading.Lock)


class SimulationManager:
    """Registry of live simulations, bounded in number, safe to call from many threads."""

    def __init__(
        self,
        max_simulations: int = DEFAULT_MAX_SIMULATIONS,
        max_ticks_per_call: int = MAX_TICKS_PER_CALL,
        max_work_per_call: int = MAX_WORK_PER_CALL,
        budgets: Budgets | None = None,
    ) -> None:
        for name, value in [
            ("max_simulations", max_simulations),
            ("max_ticks_per_call", max_ticks_per_call),
            ("max_work_per_call", max_work_per_call),
        ]:
            if value < 1:
                raise ValueError(f"{name}: must be at least 1, got {value}")
        self.max_simulations = max_simulations
        self.max_ticks_per_call = max_ticks_per_call
        self.max_work_per_call = max_work_per_call
        self.budgets = budgets or Budgets()
        self._simulations: dict[str, _Simulation] = {}
        self._registry_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------

    def create(self, config: SimulationConfig) -> str:
        """Build an engine at tick 0 from a validated scenario and return its new simulation id.

        A scenario without ``tick_log`` logs day ends only: no endpoint serves the tick log, so its
        rows would only take memory (its sampling changes nothing else, docs/semantics.md).
        """
        self._check_capacity()  # fail fast, before paying for engine construction
        self._check_server_memory()
        if config.tick_log is None:
            config = config.model_copy(update={"tick_log": TickLogConfig(at="day_end")})
        arrivals = sum(a.arrival_config.rate_per_tick for a in config.agents if a.arrival_config is not None)
        if len(config.agents) + arrivals > self.max_work_per_call:
            raise InvalidScenario(
                f"agents: {len(config.agents)} banks with {arrivals:.3g} expected arrivals per tick exceed"
                f" this server's bound of {self.max_work_per_call} log rows per tick request"
            )
        try:
            engine = Orchestrator.new(config.to_rust_dict())
        except ConfigError as exc:
            raise InvalidScenario(str(exc)) from exc
        sim = _Simulation(
            engine=engine,
            bank_ids=tuple(engine.get_agent_ids()),
            ticks_per_day=engine.ticks_per_day(),
            total_ticks=engine.total_ticks(),
            expected_arrivals_per_tick=arrivals,
            created_at=time.time(),
        )
        sim_id = uuid.uuid4().hex
        with self._registry_lock:
            self._check_capacity_locked()  # another thread may have filled the last slot meanwhile
            self._simulations[sim_id] = sim
        return sim_id

    def delete(self, sim_id: str) -> None:
        """Forget a simulation; a tick already running on it finishes, then the engine is freed."""
        with self._registry_lock:
            if self._simulations.pop(sim_id, None) is None:
                raise SimulationNotFound(sim_id)

    def list(self) -> list[dict[str, Any]]:
        """Summaries of the live simulations, oldest first; never blocks on a running tick."""
        with self._registry_lock:
            items = list(self._simulations.items())
        items.sort(key=lambda item: item[1].created_at)
        return [_summary(sim_id, sim) for sim_id, sim in items]

    def summary(self, sim_id: str) -> dict[str, Any]:
        """One simulation's identity and progress, without waiting on a running tick."""
        return _summary(sim_id, self._get(sim_id))

    def __len__(self) -> int:
        with self._registry_lock:
            return len(self._simulations)

    # -- stepping and injecting ----------------------------------------------------------------

    def tick(self, sim_id: str, n: int = 1, cancelled: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """Run n ticks; flows are summed over them, positions are those after the last one.

        All-or-nothing with respect to the end of the run: if fewer than n ticks remain, nothing
        runs and ``RunFinished`` says how many do. Within the budgets it may stop early, after at
        least one tick: ``truncated`` and ``stop_reason`` say so. With the memory budget already
        reached, nothing runs (``MemoryBudgetExceeded``). Once ``cancelled()`` (the client has
        gone) it stops at the next chunk, or gives up waiting for the lock (``StepCancelled``).
        """
        if not 1 <= n <= self.max_ticks_per_call:
            raise ValueError(f"n: must be between 1 and {self.max_ticks_per_call}, got {n}")
        sim = self._get(sim_id)
        work = n * (len(sim.bank_ids) + sim.expected_arrivals_per_tick)
        if work > self.max_work_per_call:
            per_tick = len(sim.bank_ids) + sim.expected_arrivals_per_tick
            raise RequestTooLarge(
                f"n: {n} ticks would log about {work:.3g} rows, over this server's bound of"
                f" {self.max_work_per_call} per request; use n <= {int(self.max_work_per_call // per_tick)}"
            )
        with self._locked(sim, cancelled):
            remaining = sim.total_ticks - sim.engine.current_tick()
            if n > remaining:
                raise RunFinished(too_few_ticks_left(n, remaining, sim.total_ticks))
            self._check_memory(sim)
            start = sim.engine.current_tick()

            def publish() -> None:
                sim.current_tick = sim.engine.current_tick()
                sim.log_bytes = log_bytes(sim.engine)

            try:
                totals, stopped = run_step(
                    sim.engine, n, self.budgets.tick_time_budget, lambda: self._memory_left(sim), cancelled, publish
                )
            finally:
                publish()  # also after an engine error: the ticks before it stay run
        return {
            **totals,
            "first_tick": start,
            "current_tick": sim.current_tick,
            "is_finished": sim.current_tick >= sim.total_ticks,
            "ticks_requested": n,
            "truncated": stopped is not None,
            "stop_reason": stopped,
        }

    def submit_transaction(self, sim_id: str, payment: dict[str, Any]) -> dict[str, Any]:
        """Enter a payment in the sender's Queue 1 now; returns its ``transaction_id`` and arrival tick.

        ``transaction_id`` is the original API's name (docs/api-cli.md#an-api-session) for the engine's
        id, which the transaction log calls ``tx_id``.
        """
        sim = self._get(sim_id)
        with sim.lock:
            if sim.engine.is_finished():
                raise RunFinished(f"the run ended at tick {sim.total_ticks}; no payment can enter it")
            self._check_memory(sim)
            try:
                tx_id = sim.engine.submit_transaction(payment)
            except UnknownBankError as exc:
                raise InvalidPayment(_field(exc.loc), f"{exc.problem} (banks: {_bank_list(sim.bank_ids)})") from exc
            except InvalidPaymentError as exc:
                raise InvalidPayment(_field(exc.loc), exc.problem) from exc
            sim.log_bytes = log_bytes(sim.engine)
            return {"transaction_id": tx_id, "arrival_tick": sim.engine.current_tick()}

    # -- reading -------------------------------------------------------------------------------

    def get_state(self, sim_id: str) -> dict[str, Any]:
        """Where the simulation stands: the next tick to run and every bank's position."""
        sim = self._get(sim_id)
        with sim.lock:
            return {"simulation_id": sim_id, **engine_state(sim.engine)}

    def metrics(self, sim_id: str) -> dict[str, Any]:
        """The run-level figures (docs/semantics.md#metrics) over the ticks run so far."""
        sim = self._get(sim_id)
        with sim.lock:
            return dict(sim.engine.metrics())

    def transactions(self, sim_id: str, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the transaction log in tx order, with banks, codes and -1 sentinels decoded.

        Only the page's rows leave the engine, so a page costs its size, not the log's."""
        if offset < 0:
            raise ValueError(f"offset: must be at least 0, got {offset}")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit: must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        sim = self._get(sim_id)
        with sim.lock:
            total = sim.engine.num_transactions()
            page = sim.engine.transaction_page(offset, limit)
        return {
            "total": total,
            "offset": offset,
            "limit": limit,
            "items": _decode_rows(page, sim.bank_ids),
        }

    def events(self, sim_id: str) -> dict[str, Any]:
        """The event log so far (docs/semantics.md#event-log-event_log-the-events-table), decoded as
        the Parquet ``events`` table is: bank ids, event-type names, null for none."""
        sim = self._get(sim_id)
        with sim.lock:
            log = sim.engine.event_log()
        rows: list[dict[str, Any]] = pa.table(storage.event_columns(log, sim.bank_ids)).to_pylist()
        return {"total": len(rows), "items": rows}

    def memory_used(self) -> int:
        """Bytes the live simulations' logs hold in all, without waiting on a running tick."""
        with self._registry_lock:
            return sum(sim.log_bytes for sim in self._simulations.values())

    # -- internals -----------------------------------------------------------------------------

    @contextmanager
    def _locked(self, sim: _Simulation, cancelled: Callable[[], bool]) -> Iterator[None]:
        """Hold the simulation's lock, waiting for it in short turns so a gone client stops waiting."""
        while not sim.lock.acquire(timeout=0.1):
            if cancelled():
                raise StepCancelled("the client went away while the simulation was busy")
        try:
            yield
        finally:
            sim.lock.release()

    def _memory_left(self, sim: _Simulation) -> int:
        """Bytes this simulation may still add: what both its budget and the server's leave."""
        mine = self.budgets.max_simulation_memory - sim.log_bytes
        return min(mine, self.budgets.max_memory - self.memory_used())

    def _check_memory(self, sim: _Simulation) -> None:
        if sim.log_bytes >= self.budgets.max_simulation_memory:
            raise MemoryBudgetExceeded(
                f"this simulation's logs hold {show_bytes(sim.log_bytes)}, its memory budget of"
                f" {show_bytes(self.budgets.max_simulation_memory)} (PAYSIM_MAX_SIMULATION_MEMORY) is reached;"
                " read what you need and delete it"
            )
        self._check_server_memory()

    def _check_server_memory(self) -> None:
        used = self.memory_used()
        if used >= self.budgets.max_memory:
            raise MemoryBudgetExceeded(
                f"the simulations' logs hold {show_bytes(used)}, this server's memory budget of"
                f" {show_bytes(self.budgets.max_memory)} (PAYSIM_MAX_MEMORY) is reached; delete simulations first"
            )


    def _get(self, sim_id: str) -> _Simulation:
        with self._registry_lock:
            sim = self._simulations.get(sim_id)
        if sim is None:
            raise SimulationNotFound(sim_id)
        return sim

    def _check_capacity(self) -> None:
        with self._registry_lock:
            self._check_capacity_locked()

    def _check_capacity_locked(self) -> None:
        if len(self._simulations) >= self.max_simulations:
            raise SimulationLimitReached(
                f"the limit of {self.max_simulations} live simulations is reached; delete one first"
            )


def run_ticks(engine: Orchestrator, n: int, on_tick: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run n ticks (the caller checked that n remain): flows summed, positions after the last tick.

    Shared by the API and the CLI so both report a multi-tick step the same way.
    """
    start = engine.current_tick()
    totals: dict[str, Any] = dict.fromkeys(FLOW_KEYS, 0)
    last: dict[str, Any] = {}
    for _ in range(n):
        last = dict(engine.tick())
        for key in FLOW_KEYS:
            totals[key] += last[key]
        if on_tick is not None:
            on_tick()
    result = {key: last[key] for key in STOCK_KEYS}
    result.update(totals)
    result.update(
        ticks_run=n, first_tick=start, current_tick=engine.current_tick(), is_finished=engine.is_finished()
    )
    return result


def too_few_ticks_left(n: int, remaining: int, total_ticks: int) -> str:
    ticks = "tick" if n == 1 else "ticks"
    return f"n: cannot run {n} {ticks}, only {remaining} of the run's {total_ticks} ticks remain"


def engine_state(engine: Orchestrator) -> dict[str, Any]:
    """Where a run stands: the next tick to run and every bank's balance, credit used and queues."""
    return {
        "tick": engine.current_tick(),
        "day": engine.current_day(),
        "ticks_per_day": engine.ticks_per_day(),
        "total_ticks": engine.total_ticks(),
        "is_finished": engine.is_finished(),
        "queue2_size": engine.get_queue2_size(),
        "agents": [dict(agent) for agent in engine.agent_states()],
    }


def _summary(sim_id: str, sim: _Simulation) -> dict[str, Any]:
    return {
        "simulation_id": sim_id,
        "tick": sim.current_tick,
        "total_ticks": sim.total_ticks,
        "ticks_per_day": sim.ticks_per_day,
        "banks": list(sim.bank_ids),
        "is_finished": sim.current_tick >= sim.total_ticks,
        "created_at": sim.created_at,
    }


def _decode_rows(page: dict[str, np.ndarray], bank_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """Turn log columns into one dict per payment, readable without the code tables.

    The decoding is storage's, so a row here reads exactly like its row in the Parquet
    ``transactions`` table: bank ids, status names, and null for -1 ticks and "not applicable" codes.
    """
    columns = storage.transaction_columns(page, bank_ids)
    rows: list[dict[str, Any]] = pa.table(columns).to_pylist()
    return rows


def _bank_list(bank_ids: tuple[str, ...], shown: int = 10) -> str:
    listed = ", ".join(bank_ids[:shown])
    return listed if len(bank_ids) <= shown else f"{listed}, ... ({len(bank_ids)} in all)"


def _field(loc: tuple[str | int, ...]) -> str:
    """The payment field an engine error's location names."""
    return str(loc[0]) if loc else "payment"

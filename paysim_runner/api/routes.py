"""The endpoints. Most are plain ``def``, so engine work runs in the server's thread pool and never
stalls the event loop; the manager's per-simulation lock serializes requests on one simulation.
``/health`` is ``async``, so it answers even when every pool thread is busy, and ``tick`` is
``async`` so that it can watch its client while the ticks run in a thread, and stop them once it
has gone."""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from paysim_runner._core import ENGINE_VERSION
from paysim_runner.api.limits import Limits, ScenarioTooLarge, check_scenario_cost
from paysim_runner.api.models import (
    I64_MAX,
    ErrorMessage,
    EventLog,
    Health,
    MetricsResponse,
    PaymentAccepted,
    PaymentRequest,
    Scenario,
    SimulationDeleted,
    SimulationId,
    SimulationList,
    SimulationSummary,
    StateResponse,
    TickResponse,
    TransactionPage,
)
from paysim_runner.manager import MAX_PAGE_SIZE, MAX_TICKS_PER_CALL, SimulationManager

#: OpenAPI's ``responses`` entries for the errors an endpoint can answer with.
Responses = dict[int | str, dict[str, Any]]
_NOT_FOUND: Responses = {404: {"model": ErrorMessage, "description": "Unknown simulation id"}}
_FINISHED: Responses = {409: {"model": ErrorMessage, "description": "The run has too few ticks left"}}
_FULL: Responses = {429: {"model": ErrorMessage, "description": "Too many live simulations"}}
_BUDGET = "; or a memory budget is reached (the message names it)"
#: Seconds between two looks at whether a tick request's client is still there.
DISCONNECT_POLL = 0.05


async def _manager(request: Request) -> SimulationManager:
    """The manager of the app serving the request (``create_app`` puts it on ``app.state``)."""
    manager: SimulationManager = request.app.state.manager
    return manager


async def _limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


Manager = Annotated[SimulationManager, Depends(_manager)]
RequestLimits = Annotated[Limits, Depends(_limits)]

router = APIRouter()


@router.get("/health", response_model=Health)
async def health(manager: Manager) -> Health:
    """Liveness, engine version, how many simulations are live and the memory their logs hold."""
    return Health(
        engine_version=ENGINE_VERSION,
        simulations=len(manager),
        max_simulations=manager.max_simulations,
        memory_used=manager.memory_used(),
        max_memory=manager.budgets.max_memory,
    )


@router.post(
    "/simulations",
    response_model=SimulationSummary,
    responses={**_FULL, 409: {"model": ErrorMessage, "description": "The server's memory budget is reached"}},
)
def create_simulation(config: Scenario, manager: Manager, limits: RequestLimits) -> SimulationSummary:
    """Build a simulation at tick 0 from a scenario (the YAML schema, as JSON); 422 when its logs
    would pass the server's bound on rows by the end of its run."""
    too_large = check_scenario_cost(config, limits.max_scenario_rows)
    if too_large is not None:
        raise ScenarioTooLarge(too_large)
    return SimulationSummary(**manager.summary(manager.create(config)))


@router.get("/simulations", response_model=SimulationList)
def list_simulations(manager: Manager) -> SimulationList:
    """Live simulations, oldest first."""
    return SimulationList(
        simulations=[SimulationSummary(**item) for item in manager.list()],
        max_simulations=manager.max_simulations,
    )


_TICK_CONFLICT: Responses = {409: {"model": ErrorMessage, "description": _FINISHED[409]["description"] + _BUDGET}}


@router.post(
    "/simulations/{simulation_id}/tick", response_model=TickResponse, responses={**_NOT_FOUND, **_TICK_CONFLICT}
)
async def tick(
    simulation_id: SimulationId,
    request: Request,
    manager: Manager,
    n: Annotated[int, Query(ge=1, le=MAX_TICKS_PER_CALL, description="Ticks to run")] = 1,
) -> TickResponse:
    """Run n ticks (none and 409 if fewer remain); past the server's time or memory budget it
    stops early, with ``truncated`` and ``stop_reason`` saying so."""
    gone = threading.Event()
    work = asyncio.ensure_future(run_in_threadpool(manager.tick, simulation_id, n, gone.is_set))
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=DISCONNECT_POLL)
            if not work.done() and await request.is_disconnected():
                gone.set()
        return TickResponse(**work.result())
    finally:
        gone.set()  # also when this request is cancelled: the worker stops at its next chunk


@router.get("/simulations/{simulation_id}/state", response_model=StateResponse, responses=_NOT_FOUND)
def get_state(simulation_id: SimulationId, manager: Manager) -> StateResponse:
    """The next tick to run and every bank's balance, credit used and queues."""
    return StateResponse(**manager.get_state(simulation_id))


@router.post(
    "/simulations/{simulation_id}/transactions",
    response_model=PaymentAccepted,
    responses={**_NOT_FOUND, **_TICK_CONFLICT},
)
def submit_transaction(simulation_id: SimulationId, payment: PaymentRequest, manager: Manager) -> PaymentAccepted:
    """Enter a payment in the sender's Queue 1 now; the next tick processes it. 422 for an unknown bank."""
    accepted = manager.submit_transaction(simulation_id, payment.model_dump())
    return PaymentAccepted(simulation_id=simulation_id, **accepted)


@router.get("/simulations/{simulation_id}/transactions", response_model=TransactionPage, responses=_NOT_FOUND)
def list_transactions(
    simulation_id: SimulationId,
    manager: Manager,
    offset: Annotated[int, Query(ge=0, le=I64_MAX, description="Payments to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 100,
) -> TransactionPage:
    """A page of the transaction log in tx_id order."""
    return TransactionPage(**manager.transactions(simulation_id, offset, limit))


@router.get("/simulations/{simulation_id}/events", response_model=EventLog, responses=_NOT_FOUND)
def list_events(simulation_id: SimulationId, manager: Manager) -> EventLog:
    """The event log so far: scenario events taking effect or ending, and central-bank loans at a close."""
    return EventLog(**manager.events(simulation_id))


@router.get("/simulations/{simulation_id}/metrics", response_model=MetricsResponse, responses=_NOT_FOUND)
def metrics(simulation_id: SimulationId, manager: Manager) -> MetricsResponse:
    """Run-level figures over the ticks run so far: settlement, delay, liquidity, costs."""
    figures = {key: _finite_or_none(value) for key, value in manager.metrics(simulation_id).items()}
    return MetricsResponse(**figures)


@router.delete("/simulations/{simulation_id}", response_model=SimulationDeleted, responses=_NOT_FOUND)
def delete_simulation(simulation_id: SimulationId, manager: Manager) -> SimulationDeleted:
    """Free a simulation; later requests on its id get 404."""
    manager.delete(simulation_id)
    return SimulationDeleted(simulation_id=simulation_id)


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN: an undefined ratio (nothing to divide by) is reported as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

"""REST API over live simulations: tools create a scenario, step it, inject payments and read it over HTTP.

Endpoints are plain ``def`` functions, so engine work runs in the server's thread pool and never
stalls the event loop; the manager's per-simulation lock serializes requests on one simulation.
Every failure the caller can cause maps to a 4xx with a message naming the field; serve with
``paysim serve`` (127.0.0.1:8000 by default).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from fastapi import FastAPI, Path, Query, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from paysim_runner import _core
from paysim_runner._core import ENGINE_VERSION
from paysim_runner.errors import RunFinished
from paysim_runner.manager import (
    DEFAULT_MAX_SIMULATIONS,
    MAX_PAGE_SIZE,
    MAX_TICKS_PER_CALL,
    InvalidPayment,
    InvalidScenario,
    RequestTooLarge,
    SimulationLimitReached,
    SimulationManager,
    SimulationNotFound,
)
from paysim_runner.scenario import SimulationConfig
from paysim_runner.schema import PYTHON_TYPES
from paysim_runner.storage import BANK_COLUMNS

I64_MAX = 2**63 - 1

SimulationId = Annotated[str, Path(description="Id returned by POST /simulations")]


#: Banks one scenario may have over HTTP: agent groups expand quadratically (receiver weights).
MAX_API_BANKS = 1_000


# -- request and response models -------------------------------------------------------------


class Scenario(SimulationConfig):
    """The scenario schema of ``paysim_runner.config`` (the YAML files, as JSON), capped in size.

    ``scheduled_payments_file`` is refused: it names a file on the server, and a client must not be
    able to make the server open files. Payments go inline, as ``scheduled_payments``.
    """

    scheduled_payments_file: SkipJsonSchema[None] = None

    @field_validator("scheduled_payments_file", mode="before")
    @classmethod
    def _no_server_files(cls, value: Any) -> None:
        if value is not None:
            raise PydanticCustomError(
                "server_file",
                "not accepted over HTTP (the server does not open files for clients);"
                " send the payments inline as scheduled_payments",
            )
        return None

    @model_validator(mode="before")
    @classmethod
    def _bounded_bank_count(cls, data: Any) -> Any:
        """Refuse oversized scenarios before agent groups are expanded, not after."""
        if not isinstance(data, dict):
            return data
        agents, groups = data.get("agents"), data.get("agent_groups")
        banks = len(agents) if isinstance(agents, list) else 0
        if isinstance(groups, list):
            counts = (g.get("count") for g in groups if isinstance(g, dict))
            banks += sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool) and c > 0)
        if banks > MAX_API_BANKS:
            raise ValueError(f"agents: {banks} banks; this server accepts at most {MAX_API_BANKS} per scenario")
        return data


class PaymentRequest(BaseModel):
    """A payment order entered by hand; it joins the sender's Queue 1 at the current tick."""

    model_config = ConfigDict(extra="forbid")

    sender: str = Field(min_length=1, description="Paying bank id")
    receiver: str = Field(min_length=1, description="Receiving bank id, not the sender")
    amount: int = Field(gt=0, le=I64_MAX, description="Minor units (cents)")
    deadline_offset: int = Field(50, ge=0, le=2**31 - 1, description="Ticks from now to the deadline tick")
    priority: int = Field(5, ge=0, le=10, description="0-10; 8 and above is urgent")
    divisible: bool = Field(False, description="Whether a Splitting policy may split it")


class SimulationSummary(BaseModel):
    simulation_id: str
    tick: int = Field(description="Next tick to run (= ticks run so far)")
    total_ticks: int
    ticks_per_day: int
    banks: list[str] = Field(description="Bank ids in config order")
    is_finished: bool
    created_at: float = Field(description="Unix time")


class SimulationList(BaseModel):
    simulations: list[SimulationSummary]
    max_simulations: int


def _record_model(
    name: str, doc: str, record: str, notes: dict[str, str] | None = None, **extra: Any
) -> type[BaseModel]:
    """A response model with the fields of the engine's ``record`` (``_core.SCHEMAS``), typed from
    its schema, so OpenAPI lists exactly what the engine returns; ``extra`` adds this API's own."""
    notes = notes or {}
    fields: dict[str, Any] = {
        field: (PYTHON_TYPES[kind], Field(description=notes.get(field))) for field, kind in _core.SCHEMAS[record]
    }
    return create_model(name, __doc__=doc, **fields, **extra)


#: Notes on transaction fields whose meaning the name alone does not give.
_TX_NOTES = {"parent_id": "The split payment this is a part of"}


def _transaction_field(name: str, kind: str) -> Any:
    """A transaction-log column as the API reports it: bank ids, code names (null for the empty
    name: not settled, not dropped) and null for -1 ticks, as in the Parquet table."""
    if name in BANK_COLUMNS:
        return str
    if name in _core.CODES:
        names = _core.CODES[name]
        named = Literal[tuple(n for n in names if n)]  # type: ignore[valid-type]
        return named | None if "" in names else named
    return PYTHON_TYPES[kind]


if TYPE_CHECKING:
    # Built from the engine's schema when the module loads; to a type checker, plain models.
    TickResponse: TypeAlias = BaseModel
    AgentStateModel: TypeAlias = BaseModel
    MetricsResponse: TypeAlias = BaseModel
    TransactionRecord: TypeAlias = BaseModel
else:
    TickResponse = _record_model(
        "TickResponse",
        "Flows are summed over the ticks run by this call; positions are those after its last tick.",
        "tick_result",
        {"tick": "Last tick run", "day": "Day of the last tick run"},
        ticks_run=(int, ...),
        first_tick=(int, Field(description="First tick run by this call")),
        current_tick=(int, Field(description="Next tick to run")),
        is_finished=(bool, ...),
    )

    AgentStateModel = _record_model("AgentStateModel", "Where one bank stands now.", "agent_state")

    MetricsResponse = _record_model(
        "MetricsResponse",
        "Run-level figures (docs/semantics.md) over the ticks run so far; a rate is null when undefined (0/0).",
        "metrics",
    )

    TransactionRecord = create_model(
        "TransactionRecord",
        __doc__="One payment of the transaction log.",
        **{
            name: (_transaction_field(name, kind), Field(description=_TX_NOTES.get(name)))
            for name, kind in _core.SCHEMAS["transaction_log"]
        },
    )


class StateResponse(BaseModel):
    simulation_id: str
    tick: int = Field(description="Next tick to run (= ticks run so far)")
    day: int
    ticks_per_day: int
    total_ticks: int
    is_finished: bool
    queue2_size: int
    agents: list[AgentStateModel]


class PaymentAccepted(BaseModel):
    simulation_id: str
    transaction_id: str = Field(description="The payment's id: the tx_id of its transaction-log row, as a string")
    arrival_tick: int = Field(description="The tick it entered the sender's Queue 1: the next tick to run")


class SimulationDeleted(BaseModel):
    simulation_id: str
    deleted: bool = True


class TransactionPage(BaseModel):
    total: int = Field(description="Payments in the log")
    offset: int
    limit: int
    items: list[TransactionRecord]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    engine_version: str
    simulations: int
    max_simulations: int


class ErrorMessage(BaseModel):
    detail: str


_NOT_FOUND = {404: {"model": ErrorMessage, "description": "Unknown simulation id"}}
_FINISHED = {409: {"model": ErrorMessage, "description": "The run has too few ticks left"}}


# -- the app -----------------------------------------------------------------------------------


def create_app(manager: SimulationManager | None = None) -> FastAPI:
    """Build the app around a manager; ``paysim_runner.api:app`` uses one bounded by PAYSIM_MAX_SIMULATIONS."""
    manager = manager or SimulationManager(
        max_simulations=int(os.environ.get("PAYSIM_MAX_SIMULATIONS", DEFAULT_MAX_SIMULATIONS))
    )
    app = FastAPI(
        title="paysim",
        summary="Step RTGS payment simulations by hand over HTTP",
        version=_package_version(),
    )
    app.state.manager = manager
    _add_error_handlers(app)

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness, engine version and how many simulations are live."""
        return Health(engine_version=ENGINE_VERSION, simulations=len(manager), max_simulations=manager.max_simulations)

    @app.post(
        "/simulations",
        response_model=SimulationSummary,
        responses={429: {"model": ErrorMessage, "description": "Too many live simulations"}},
    )
    def create_simulation(config: Scenario) -> SimulationSummary:
        """Build a simulation at tick 0 from a scenario (the YAML schema, as JSON)."""
        return SimulationSummary(**manager.summary(manager.create(config)))

    @app.get("/simulations", response_model=SimulationList)
    def list_simulations() -> SimulationList:
        """Live simulations, oldest first."""
        return SimulationList(
            simulations=[SimulationSummary(**item) for item in manager.list()],
            max_simulations=manager.max_simulations,
        )

    @app.post(
        "/simulations/{simulation_id}/tick",
        response_model=TickResponse,
        responses={**_NOT_FOUND, **_FINISHED},
    )
    def tick(
        simulation_id: SimulationId,
        n: Annotated[int, Query(ge=1, le=MAX_TICKS_PER_CALL, description="Ticks to run")] = 1,
    ) -> TickResponse:
        """Run n ticks (all or none: 409 if fewer remain)."""
        return TickResponse(**manager.tick(simulation_id, n))

    @app.get("/simulations/{simulation_id}/state", response_model=StateResponse, responses=_NOT_FOUND)
    def get_state(simulation_id: SimulationId) -> StateResponse:
        """The next tick to run and every bank's balance, credit used and queues."""
        return StateResponse(**manager.get_state(simulation_id))

    @app.post(
        "/simulations/{simulation_id}/transactions",
        response_model=PaymentAccepted,
        responses={**_NOT_FOUND, **_FINISHED},
    )
    def submit_transaction(simulation_id: SimulationId, payment: PaymentRequest) -> PaymentAccepted:
        """Enter a payment in the sender's Queue 1 now; the next tick processes it. 422 for an unknown bank."""
        accepted = manager.submit_transaction(simulation_id, payment.model_dump())
        return PaymentAccepted(simulation_id=simulation_id, **accepted)

    @app.get(
        "/simulations/{simulation_id}/transactions",
        response_model=TransactionPage,
        responses=_NOT_FOUND,
    )
    def list_transactions(
        simulation_id: SimulationId,
        offset: Annotated[int, Query(ge=0, le=I64_MAX, description="Payments to skip")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 100,
    ) -> TransactionPage:
        """A page of the transaction log in tx_id order."""
        return TransactionPage(**manager.transactions(simulation_id, offset, limit))

    @app.get("/simulations/{simulation_id}/metrics", response_model=MetricsResponse, responses=_NOT_FOUND)
    def metrics(simulation_id: SimulationId) -> MetricsResponse:
        """Run-level figures over the ticks run so far: settlement, delay, liquidity, costs."""
        figures = {key: _finite_or_none(value) for key, value in manager.metrics(simulation_id).items()}
        return MetricsResponse(**figures)

    @app.delete("/simulations/{simulation_id}", response_model=SimulationDeleted, responses=_NOT_FOUND)
    def delete_simulation(simulation_id: SimulationId) -> SimulationDeleted:
        """Free a simulation; later requests on its id get 404."""
        manager.delete(simulation_id)
        return SimulationDeleted(simulation_id=simulation_id)

    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Map the manager's errors to 4xx answers in FastAPI's own error shapes."""

    def message(code: int):  # noqa: ANN202 - handler factory
        def handler(_: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(status_code=code, content={"detail": str(exc)})

        return handler

    def field_error(loc: list[str | int], msg: str) -> JSONResponse:
        body = {"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content=body)

    @app.exception_handler(StarletteHTTPException)
    async def unreadable_body(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI answers a body it cannot decode (not UTF-8, say) with 400; every invalid body is a 422 here."""
        if exc.status_code == status.HTTP_400_BAD_REQUEST:
            return field_error(["body"], f"cannot decode the request body: {exc.detail}")
        return await http_exception_handler(request, exc)

    app.add_exception_handler(SimulationNotFound, message(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(RunFinished, message(status.HTTP_409_CONFLICT))
    app.add_exception_handler(SimulationLimitReached, message(status.HTTP_429_TOO_MANY_REQUESTS))

    @app.exception_handler(InvalidPayment)
    def invalid_payment(_: Request, exc: InvalidPayment) -> JSONResponse:
        return field_error(["body", exc.field], exc.reason)

    @app.exception_handler(RequestTooLarge)
    def request_too_large(_: Request, exc: RequestTooLarge) -> JSONResponse:
        return field_error(["query", "n"], str(exc).removeprefix("n: "))

    @app.exception_handler(InvalidScenario)
    def invalid_scenario(_: Request, exc: InvalidScenario) -> JSONResponse:
        return field_error(["body"], f"engine rejected the scenario: {exc}")


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN: an undefined ratio (nothing to divide by) is reported as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paysim-runner")
    except PackageNotFoundError:
        return "0.0.0"


app = create_app()

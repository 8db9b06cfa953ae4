"""The API's request and response models: what OpenAPI documents and every answer is checked
against. Record shapes (a tick's result, a bank's state, the metrics, a transaction) are built
from the engine's own schemas (``_core.SCHEMAS``), so they list exactly what the engine returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from paysim_runner import _core
from paysim_runner.scenario import RtgsClass, SimulationConfig
from paysim_runner.scenario_events import StrictCount
from paysim_runner.schema import PYTHON_TYPES
from paysim_runner.storage import BANK_COLUMNS, EVENT_BANK_COLUMNS

#: The engine's amounts and offsets are i64: a larger number is refused here, by field.
I64_MAX = 2**63 - 1

SimulationId = Annotated[str, Path(description="Id returned by POST /simulations")]

#: Banks one scenario may have over HTTP: agent groups expand quadratically (receiver weights).
MAX_API_BANKS = 1_000


class Scenario(SimulationConfig):
    """The scenario schema of ``paysim_runner.scenario`` (the YAML files, as JSON), capped in size.

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
    deadline_offset: StrictCount = Field(50, ge=0, le=2**31 - 1, description="Ticks from now to the deadline tick")
    priority: int = Field(5, ge=0, le=10, description="0-10; 8 and above is urgent")
    rtgs_class: RtgsClass | None = Field(
        None,
        description="T2 class (docs/semantics.md#t2-settlement-rules); absent, from priority:"
        " 10 highly_urgent, 8-9 urgent, below 8 normal",
    )
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
_TX_NOTES = {
    "parent_id": "The split payment this is a part of",
    "pair_key": "With sender, names the same payment in every run that draws or schedules it "
                "(docs/semantics.md#pair-keys); split parts carry their payment's key",
}


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


#: Notes on event-log fields whose meaning the name alone does not give.
_EVENT_NOTES = {
    "event": "Index in the scenario's events list; null for a central-bank loan at a close",
    "bank": "The bank affected: the out or surged bank, the one whose line changed, a transfer's"
            " receiver, the borrower; null for a surge on every bank",
    "counterparty": "A transfer's payer; null otherwise (an injection has none)",
    "amount": "Money moved or lent, or the new credit line; null otherwise",
}


def _event_field(name: str, kind: str) -> Any:
    """An event-log column as the API reports it: bank ids (null for none), event-type names and
    null for -1, as in the Parquet ``events`` table."""
    if name in EVENT_BANK_COLUMNS:
        return str | None
    if name in _core.CODES:
        return Literal[tuple(_core.CODES[name])]
    return PYTHON_TYPES[kind]


if TYPE_CHECKING:
    # Built from the engine's schema when the module loads; to a type checker, plain models.
    TickResponse: TypeAlias = BaseModel
    AgentStateModel: TypeAlias = BaseModel
    MetricsResponse: TypeAlias = BaseModel
    TransactionRecord: TypeAlias = BaseModel
    EventRecord: TypeAlias = BaseModel
else:
    TickResponse = _record_model(
        "TickResponse",
        "Flows are summed over the ticks run by this call; positions are those after its last tick.",
        "tick_result",
        {"tick": "Last tick run", "day": "Day of the last tick run"},
        ticks_run=(int, Field(description="Ticks run by this call: n, or fewer if truncated")),
        ticks_requested=(int, Field(description="n")),
        truncated=(bool, Field(description="Whether the call stopped before n ticks (stop_reason says why)")),
        stop_reason=(
            Literal["time_budget", "memory_budget", "cancelled"] | None,
            Field(
                description="time_budget: the request ran for the server's time budget; memory_budget: the"
                " simulation's or the server's memory budget was reached (the next tick request gets a 409);"
                " null when all n ran (cancelled: the client went away, so nobody sees it)"
            ),
        ),
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

    EventRecord = create_model(
        "EventRecord",
        __doc__="One row of the event log: a scenario event taking effect or ending, or a central-bank"
        " loan at a close (docs/semantics.md#scenario-events).",
        **{
            name: (_event_field(name, kind), Field(description=_EVENT_NOTES.get(name)))
            for name, kind in _core.SCHEMAS["event_log"]
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


class EventLog(BaseModel):
    total: int = Field(description="Rows in the event log")
    items: list[EventRecord] = Field(description="In the order they happened")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    engine_version: str
    simulations: int
    max_simulations: int
    memory_used: int = Field(description="Bytes the live simulations' logs hold")
    max_memory: int = Field(description="This server's memory budget for them, in bytes (PAYSIM_MAX_MEMORY)")


class ErrorMessage(BaseModel):
    detail: str

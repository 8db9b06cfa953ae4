"""Scenario events (docs/semantics.md#scenario-events): typed here so a scenario file is checked
by its schema; the engine checks what needs the banks and the horizon (an unknown bank, a tick
past the end, ``end_tick`` before ``start_tick``) and its errors come back at ``events[i].field``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

#: Counts, sizes and ticks of the scenario schema (here, as ``scenario`` imports this module) take a
#: JSON integer and nothing else: lax parsing also took "1500" and 1001.0, and such a count slipped
#: past the API's bound on banks, which reads the raw counts before parsing.
StrictCount = Annotated[int, Strict()]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Outage(_Event):
    """The bank releases nothing from its Queue 1 in [start_tick, end_tick]; it keeps receiving."""

    type: Literal["outage"]
    bank: str
    start_tick: StrictCount
    end_tick: StrictCount


class CreditLimitChange(_Event):
    """The bank's credit line becomes ``credit_limit`` at ``tick`` (a squeeze or an extension)."""

    type: Literal["credit_limit"]
    bank: str
    tick: StrictCount
    credit_limit: int


class Transfer(_Event):
    """``amount`` moves from ``from`` to ``to`` at ``tick``; without ``from``, a central-bank injection."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_by_alias=True, validate_by_name=True, serialize_by_alias=True
    )

    type: Literal["transfer"]
    from_: str | None = Field(default=None, alias="from")
    to: str
    amount: int
    tick: StrictCount


class ArrivalSurge(_Event):
    """The Poisson rate of ``bank`` (every bank when absent) times ``factor`` in [start_tick, end_tick]."""

    type: Literal["arrival_surge"]
    bank: str | None = None
    start_tick: StrictCount
    end_tick: StrictCount
    factor: float


ScenarioEvent = Annotated[Outage | CreditLimitChange | Transfer | ArrivalSurge, Field(discriminator="type")]

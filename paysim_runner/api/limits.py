"""What one request may cost the server: a bound on its body's bytes, enforced while the body
streams in, and on a scenario's log rows over its whole run, checked before the engine is built."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Any

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paysim_runner.scenario import SimulationConfig

#: A request body's bytes: a few MB holds a 1,000-bank scenario written out bank by bank.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
#: Log rows (ticks × banks plus payments) one scenario may make over its whole run.
DEFAULT_MAX_SCENARIO_ROWS = 100_000_000
_FIELDS = ("max_body_bytes", "max_scenario_rows")


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_scenario_rows: int = DEFAULT_MAX_SCENARIO_ROWS

    @classmethod
    def from_env(cls, **overrides: Any) -> Limits:
        """The defaults, overridden by PAYSIM_MAX_BODY_BYTES and PAYSIM_MAX_SCENARIO_ROWS, then by ``overrides``."""
        names = {name: f"PAYSIM_{name.upper()}" for name in _FIELDS}
        given = {name: int(os.environ[var]) for name, var in names.items() if var in os.environ}
        return replace(cls(**given), **overrides)

    def __post_init__(self) -> None:
        for name in _FIELDS:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")


class ScenarioTooLarge(ValueError):
    """A scenario whose logs would pass the server's bound on rows; the message names the bound."""


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over this server's limit of {limit} bytes"
                         " (paysim serve --max-body-bytes, PAYSIM_MAX_BODY_BYTES)")


class BodyLimit:
    """ASGI middleware: a body declared or streamed past ``max_bytes`` gets a 413.

    A declared ``Content-Length`` over the limit is refused before any of the body is read; a
    chunked body is counted as it arrives, so the server never holds more than the limit plus
    one chunk. Raised from ``receive``, the 413 reaches FastAPI's handlers like any HTTP error.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except BodyTooLarge:  # read outside a route (no handler there): answer here if still possible
            if started:
                raise
            await _too_large(self.max_bytes, send)


async def _too_large(limit: int, send: Send) -> None:
    response = JSONResponse(status_code=413, content={"detail": BodyTooLarge(limit).detail})
    await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def expected_payments(config: SimulationConfig) -> float:
    """Payments expected over the scenario's run: Poisson arrivals, arrival surges included, and
    scheduled payments."""
    ticks = config.simulation.ticks_per_day * config.simulation.num_days
    rates = {a.id: a.arrival_config.rate_per_tick for a in config.agents if a.arrival_config is not None}
    payments = ticks * sum(rates.values()) + len(config.scheduled_payments or ())
    for event in config.events or ():
        if event.type == "arrival_surge" and event.factor > 1:
            rate = sum(rates.values()) if event.bank is None else rates.get(event.bank, 0.0)
            window = min(event.end_tick, ticks - 1) - event.start_tick + 1
            payments += (event.factor - 1) * rate * max(window, 0)
    return payments


def check_scenario_cost(config: SimulationConfig, limit: int) -> str | None:
    """Why the scenario's logs would pass ``limit`` rows (a tick-log row per bank and tick, a
    transaction-log row per payment) by the end of its run, or None when they would not."""
    banks, ticks = len(config.agents), config.simulation.ticks_per_day * config.simulation.num_days
    payments = expected_payments(config)
    total = banks * ticks + payments
    if math.isfinite(total) and total <= limit:
        return None
    return (
        f"this scenario would log about {total:.3g} rows over its run ({banks} banks × {ticks} ticks"
        f" plus {payments:.3g} expected payments); this server accepts at most {limit} per scenario"
        " (PAYSIM_MAX_SCENARIO_ROWS)"
    )

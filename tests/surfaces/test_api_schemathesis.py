"""Property-based fuzzing of the live server from its own OpenAPI schema, with every check
schemathesis has (no 5xx, status codes, content types and bodies as documented, schema-valid
requests accepted and invalid ones refused, ``Allow`` on a 405, ...), 200 cases per operation.

Requests on ``/simulations/{simulation_id}/...`` (except DELETE) are pointed at a real, freshly
created simulation, so tick counts, payments and pages are fuzzed against a running engine rather
than only bouncing off 404s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from paysim_runner.api import app

#: Where a request the schema allows may still get a 422 (schemathesis' positive_data_acceptance,
#: ST202): rules JSON Schema cannot state. A scenario is judged by the engine's own validation, whose
#: rules cross fields (a weight's bank must exist, a deadline follow its arrival, an event name a
#: bank and a tick of the run, an arrival stream need another bank); a payment's banks must be banks
#: of the simulation in the path. Every other operation must accept every request its schema allows.
CROSS_FIELD_RULES = ["POST /simulations", "POST /simulations/{simulation_id}/transactions"]
#: schemathesis' default statuses for a request it built to be valid, and 422.
ACCEPTED_OR_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# The schema is the app's own; the requests go over HTTP to the live server, which serves the same
# schema (checked below). (schemathesis' lazy ``from_fixture`` loader does not run under pytest 9.)
schema = schemathesis.openapi.from_dict(
    app.openapi(),
    config=SchemathesisConfig.from_dict({
        "operations": [
            {"include-name": label,
             "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_422}}}
            for label in CROSS_FIELD_RULES
        ]
    }),
)


def test_served_schema_is_the_apps(server: Any) -> None:
    assert httpx.get(f"{server.url}/openapi.json").json() == app.openapi()


@pytest.fixture
def http(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client


@pytest.fixture
def fresh_simulation(http: httpx.Client, two_banks: Callable[..., dict[str, Any]]) -> Iterator[Callable[[], str]]:
    """A new simulation per generated case; the previous one is deleted so the server never fills up."""
    live: list[str] = []

    def create() -> str:
        while live:
            http.delete(f"/simulations/{live.pop()}")
        response = http.post("/simulations", json=two_banks(ticks_per_day=300, arrivals=True))
        assert response.status_code == 200, response.text
        live.append(response.json()["simulation_id"])
        return live[-1]

    yield create
    while live:
        http.delete(f"/simulations/{live.pop()}")


@pytest.mark.slow  # every check, 200 cases per operation: 7-9 min in all on 2 shared cores
@schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_conforms_to_its_schema(
    case: Any, fresh_simulation: Callable[[], str], http: httpx.Client, server: Any
) -> None:
    if case.path_parameters and "simulation_id" in case.path_parameters and case.method.upper() != "DELETE":
        case.path_parameters["simulation_id"] = fresh_simulation()
    response = case.call(base_url=server.url, timeout=60)  # a hung request fails instead of stalling
    if case.method.upper() == "POST" and case.path == "/simulations" and response.status_code == 200:
        http.delete(f"/simulations/{response.json()['simulation_id']}")  # fuzzing must not fill the server
    case.validate_response(response)  # every check schemathesis has

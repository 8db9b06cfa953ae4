"""Property-based fuzzing of the live server from its own OpenAPI schema: no request gets a 5xx.

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
from schemathesis import checks

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(server: Any) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@pytest.fixture
def fresh_simulation(server: Any, two_banks: Callable[..., dict[str, Any]]) -> Iterator[Callable[[], str]]:
    made: list[str] = []
    with httpx.Client(base_url=server.url, timeout=60.0) as http:

        def create() -> str:
            response = http.post("/simulations", json=two_banks(ticks_per_day=300, arrivals=True))
            assert response.status_code == 201, response.text
            made.append(response.json()["simulation_id"])
            return made[-1]

        yield create
        for sim_id in made:
            http.delete(f"/simulations/{sim_id}")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any, fresh_simulation: Callable[[], str], server: Any) -> None:
    if case.path_parameters and "simulation_id" in case.path_parameters and case.method.upper() != "DELETE":
        case.path_parameters["simulation_id"] = fresh_simulation()
    case.call_and_validate(
        base_url=server.url,
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
        ],
    )

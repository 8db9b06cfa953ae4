"""Hostile bodies over real HTTP (issue 13, defects 3-5): counts that are not integers, numbers that
are not finite, scenarios too costly to build, bodies too large to read, inputs too large to echo.
Each test is one of the issue's reproductions, against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers.surfaces import PAYSIM, LiveServer

Scenario = Callable[..., dict[str, Any]]
CreateSim = Callable[..., str]

#: The body limit of the ``small_server`` fixture, so its tests send kilobytes, not megabytes.
SMALL_LIMIT = 100_000


def _groups(count: Any, ticks_per_day: int = 10) -> dict[str, Any]:
    group = {"id_prefix": "B", "count": count, "balance": 1_000, "policy": {"type": "Fifo"}}
    return {"simulation": {"ticks_per_day": ticks_per_day}, "agent_groups": [group]}


def _errors(response: httpx.Response) -> list[tuple[tuple[Any, ...], str]]:
    assert response.status_code == 422, response.text
    return [(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]]


def _post_raw(client: httpx.Client, path: str, text: str) -> httpx.Response:
    return client.post(path, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("count", ["1500", "4000", 1001.0, 1000.0, True])
def test_a_bank_count_must_be_a_json_integer(client: httpx.Client, count: Any) -> None:
    """A string or float count slipped past the 1,000-bank cap and was built ("4000" took 109 s)."""
    errors = _errors(client.post("/simulations", json=_groups(count)))
    assert [loc for loc, _ in errors] == [("body", "agent_groups", 0, "count")]
    assert "integer" in errors[0][1]


@pytest.mark.parametrize(
    ("path", "value"),
    [(("simulation", "ticks_per_day"), "100"), (("simulation", "num_days"), 1.0),
     (("tick_log",), {"every": "5"}), (("events",), [{"type": "outage", "bank": "BANK_A",
                                                       "start_tick": 1.0, "end_tick": 5}])],
)
def test_ticks_must_be_json_integers(client: httpx.Client, two_banks: Scenario, path: tuple[str, ...],
                                     value: Any) -> None:
    scenario = two_banks()
    target = scenario
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (loc, _), *_ = _errors(client.post("/simulations", json=scenario))
    assert loc[: len(path) + 1] == ("body", *path)


def test_a_payments_deadline_offset_must_be_an_integer(client: httpx.Client, create_sim: CreateSim) -> None:
    sim_id = create_sim()
    payment = {"sender": "BANK_A", "receiver": "BANK_B", "amount": 10, "deadline_offset": "5"}
    errors = _errors(client.post(f"/simulations/{sim_id}/transactions", json=payment))
    assert [loc for loc, _ in errors] == [("body", "deadline_offset")]


def test_a_scenario_too_costly_to_run_is_refused_before_it_is_built(client: httpx.Client) -> None:
    """1,000 banks at 10⁹ ticks a day: 10¹² tick-log rows by the end of the run."""
    errors = _errors(client.post("/simulations", json=_groups(1_000, ticks_per_day=10**9)))
    ((loc, msg),) = errors
    assert loc == ("body",)
    assert "1000 banks × 1000000000 ticks" in msg
    assert "at most 100000000 per scenario" in msg
    assert client.get("/health").json()["simulations"] == 0


def test_an_arrival_surge_counts_in_a_scenarios_cost(client: httpx.Client, two_banks: Scenario) -> None:
    """A day of 10⁵ ticks at one payment per tick fits; at 1,000 times the rate all day (10⁸ payments), not."""
    scenario = two_banks(ticks_per_day=100_000, arrivals=True)
    surge = {"type": "arrival_surge", "start_tick": 0, "end_tick": 10, "factor": 1_000.0}
    scenario["events"] = [surge]
    created = client.post("/simulations", json=scenario)
    assert created.status_code == 200, created.text
    client.delete(f"/simulations/{created.json()['simulation_id']}")
    scenario["events"] = [{**surge, "end_tick": 99_999}]
    ((loc, msg),) = _errors(client.post("/simulations", json=scenario))
    assert loc == ("body",)
    assert "plus 1e+08 expected payments" in msg


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize(
    ("field", "loc"),
    [('"rate_per_tick": 0.5', ("agents", 0, "arrival_config", "rate_per_tick")),
     ('"balance": 1000000', ("agents", 0, "balance")),
     ('"min": 1000', ("agents", 0, "arrival_config", "distribution", "Uniform", "min"))],
)
def test_a_non_finite_number_is_422_at_its_field(
    client: httpx.Client, two_banks: Scenario, number: str, field: str, loc: tuple[Any, ...]
) -> None:
    """FastAPI's own 422 failed with a 500 while echoing NaN (JSON has none) back."""
    text = json.dumps(two_banks(arrivals=True))
    name = field.split(":")[0]
    assert field in text
    response = _post_raw(client, "/simulations", text.replace(field, f"{name}: {number}", 1))
    assert [got for got, _ in _errors(response)] == [("body", *loc)]


@pytest.mark.parametrize("number", ["NaN", "1e400"])
def test_a_non_finite_amount_of_a_payment_is_422(client: httpx.Client, create_sim: CreateSim, number: str) -> None:
    sim_id = create_sim()
    text = f'{{"sender": "BANK_A", "receiver": "BANK_B", "amount": {number}}}'
    errors = _errors(_post_raw(client, f"/simulations/{sim_id}/transactions", text))
    assert [loc for loc, _ in errors] == [("body", "amount")]


def test_a_large_bad_input_is_not_echoed(client: httpx.Client, two_banks: Scenario) -> None:
    """A bad 50 MB body had its 50 MB echoed back; here a 1 MB one (under the limit) gets a short answer."""
    scenario = two_banks()
    scenario["agents"][0]["policy"] = {"type": "X" * 1_000_000}
    scenario["agents"][1]["extra"] = ["Y" * 1000] * 1000
    response = client.post("/simulations", json=scenario)
    locs = [loc for loc, _ in _errors(response)]
    assert ("body", "agents", 0, "policy", "type") in locs
    assert ("body", "agents", 1, "extra") in locs
    assert len(response.content) < 2_000


def test_a_body_declared_over_the_limit_is_413(client: httpx.Client, two_banks: Scenario) -> None:
    """49.6 MB of scheduled payments was read and kept (2.2 GB peak); 5 MB is past the 4 MiB default."""
    scenario = two_banks()
    payment = {"sender": "BANK_A", "receiver": "BANK_B", "amount": 1, "arrival_tick": 0}
    scenario["scheduled_payments"] = [payment] * 80_000
    body = json.dumps(scenario).encode()
    assert len(body) > 5_000_000
    response = client.post("/simulations", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert "4194304 bytes" in response.json()["detail"]
    assert client.get("/health").json()["simulations"] == 0


@pytest.fixture(scope="module")
def small_server() -> Iterator[LiveServer]:
    live = LiveServer(env={"PAYSIM_MAX_BODY_BYTES": str(SMALL_LIMIT)})
    yield live
    live.stop()


def test_the_body_limit_is_configurable(small_server: LiveServer, two_banks: Scenario) -> None:
    scenario = two_banks()
    assert httpx.post(f"{small_server.url}/simulations", json=scenario).status_code == 200
    scenario["agents"][0]["id"] = "A" * SMALL_LIMIT
    response = httpx.post(f"{small_server.url}/simulations", json=scenario)
    assert response.status_code == 413
    assert str(SMALL_LIMIT) in response.json()["detail"]


def test_a_chunked_body_is_stopped_while_it_streams(small_server: LiveServer) -> None:
    """No Content-Length: the server counts the chunks as they come and answers 413 past the limit,
    without waiting for the rest. The client sends just over the limit and never ends its body, so a
    server that read the whole body first would never answer (the socket's timeout fails the test)."""
    address = urlsplit(small_server.url)
    chunk = b"[" + b"1," * 8_000 + b"\n"
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(
            b"POST /simulations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(SMALL_LIMIT // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_long_unknown_id_is_not_echoed_whole(client: httpx.Client) -> None:
    response = client.get(f"/simulations/{'z' * 50_000}/state")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("no simulation with id 'zzz")
    assert len(response.content) < 1_000


def test_paysim_serve_takes_the_body_limit(two_banks: Scenario) -> None:
    """``paysim serve --max-body-bytes`` sets the limit of the server it starts."""
    with socket.socket() as probe:  # a free port; the server binds it right after
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(PAYSIM), "serve", "--port", str(port), "--max-body-bytes", "2000", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.post(f"{url}/simulations", json=two_banks()).status_code == 200
        scenario = two_banks()
        scenario["agents"][0]["id"] = "A" * 2_000
        response = httpx.post(f"{url}/simulations", json=scenario)
        assert response.status_code == 413
        assert "2000 bytes" in response.json()["detail"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)

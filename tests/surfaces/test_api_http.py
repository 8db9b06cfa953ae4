"""The REST API over real HTTP: uvicorn in its own process on 127.0.0.1, httpx as the client."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from paysim_runner._core import METRIC_NAMES
from paysim_runner.config import SimulationConfig

Scenario = Callable[..., dict[str, Any]]
CreateSim = Callable[..., str]


def _field_errors(response: httpx.Response) -> list[tuple[tuple[Any, ...], str]]:
    assert response.status_code == 422, response.text
    return [(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]]


def test_health(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["max_simulations"] >= 1
    assert body["engine_version"]


def test_create_list_and_delete(client: httpx.Client, two_banks: Scenario) -> None:
    created = client.post("/simulations", json=two_banks(ticks_per_day=50, num_days=2))
    assert created.status_code == 200
    body = created.json()
    sim_id = body["simulation_id"]
    assert body["banks"] == ["BANK_A", "BANK_B"]
    assert (body["tick"], body["ticks_per_day"], body["total_ticks"]) == (0, 50, 100)
    assert sim_id in [s["simulation_id"] for s in client.get("/simulations").json()["simulations"]]

    deleted = client.delete(f"/simulations/{sim_id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"simulation_id": sim_id, "deleted": True}
    for method, path in [
        ("GET", "state"), ("POST", "tick"), ("GET", "metrics"), ("GET", "transactions"), ("GET", "events"),
    ]:
        gone = client.request(method, f"/simulations/{sim_id}/{path}")
        assert gone.status_code == 404, (method, path)
        assert sim_id in gone.json()["detail"]
    assert client.delete(f"/simulations/{sim_id}").status_code == 404
    assert sim_id not in [s["simulation_id"] for s in client.get("/simulations").json()["simulations"]]


def test_tick_and_tick_n(client: httpx.Client, create_sim: CreateSim, two_banks: Scenario) -> None:
    sim_id = create_sim(two_banks(arrivals=True))
    one = client.post(f"/simulations/{sim_id}/tick").json()
    assert (one["tick"], one["ticks_run"], one["current_tick"]) == (0, 1, 1)
    ten = client.post(f"/simulations/{sim_id}/tick", params={"n": 10}).json()
    assert (ten["tick"], ten["first_tick"], ten["ticks_run"], ten["current_tick"]) == (10, 1, 10, 11)
    assert ten["num_arrivals"] >= ten["num_settlements"] >= 0
    state = client.get(f"/simulations/{sim_id}/state").json()
    assert state["tick"] == 11
    assert state["day"] == 0
    assert state["total_ticks"] == 100
    assert state["queue2_size"] == ten["queue2_size"]
    assert sum(a["queue1_size"] for a in state["agents"]) == ten["queue1_size"]


def test_state(client: httpx.Client, create_sim: CreateSim, two_banks: Scenario) -> None:
    sim_id = create_sim(two_banks(balance=750_000))
    state = client.get(f"/simulations/{sim_id}/state").json()
    assert state["simulation_id"] == sim_id
    assert (state["tick"], state["day"], state["is_finished"], state["queue2_size"]) == (0, 0, False, 0)
    assert [(a["id"], a["balance"], a["opening_balance"], a["credit_used"]) for a in state["agents"]] == [
        ("BANK_A", 750_000, 750_000, 0),
        ("BANK_B", 750_000, 750_000, 0),
    ]


def test_submitted_payment_settles(client: httpx.Client, create_sim: CreateSim) -> None:
    sim_id = create_sim()
    accepted = client.post(
        f"/simulations/{sim_id}/transactions",
        json={"sender": "BANK_A", "receiver": "BANK_B", "amount": 250_000, "priority": 9},
    )
    assert accepted.status_code == 200, accepted.text
    tx = accepted.json()
    assert tx["arrival_tick"] == 0

    result = client.post(f"/simulations/{sim_id}/tick").json()
    assert (result["num_arrivals"], result["num_settlements"], result["value_settled"]) == (1, 1, 250_000)
    balances = {a["id"]: a["balance"] for a in client.get(f"/simulations/{sim_id}/state").json()["agents"]}
    assert balances == {"BANK_A": 750_000, "BANK_B": 1_250_000}

    page = client.get(f"/simulations/{sim_id}/transactions").json()
    assert page["total"] == 1
    (row,) = page["items"]
    assert str(row["tx_id"]) == tx["transaction_id"]
    assert "tx_id" not in tx
    assert (row["sender"], row["receiver"], row["amount"], row["priority"]) == ("BANK_A", "BANK_B", 250_000, 9)
    assert (row["status"], row["settled_via"], row["settle_tick"], row["drop_reason"]) == ("settled", "rtgs", 0, None)

    metrics = client.get(f"/simulations/{sim_id}/metrics").json()
    assert set(metrics) == set(METRIC_NAMES)
    assert (metrics["n_payments"], metrics["n_settled"], metrics["value_settled_rtgs"]) == (1, 1, 250_000)
    assert metrics["settlement_rate"] == 1.0


def test_transactions_are_paged(client: httpx.Client, create_sim: CreateSim) -> None:
    sim_id = create_sim()
    for amount in range(1, 8):
        client.post(f"/simulations/{sim_id}/transactions", json={"sender": "BANK_B", "receiver": "BANK_A",
                                                                  "amount": amount})
    pages = [client.get(f"/simulations/{sim_id}/transactions", params={"offset": o, "limit": 3}).json()
             for o in (0, 3, 6)]
    assert [p["total"] for p in pages] == [7, 7, 7]
    assert [row["amount"] for p in pages for row in p["items"]] == list(range(1, 8))
    assert all(row["status"] == "queue1" for p in pages for row in p["items"])  # not yet ticked
    too_big = client.get(f"/simulations/{sim_id}/transactions", params={"limit": 100_000})
    assert ("query", "limit") in [loc for loc, _ in _field_errors(too_big)]


def test_invalid_config_is_422_naming_the_field(client: httpx.Client, two_banks: Scenario) -> None:
    scenario = two_banks()
    scenario["simulation"]["ticks_per_day"] = 0
    locs = [loc for loc, _ in _field_errors(client.post("/simulations", json=scenario))]
    assert ("body", "simulation", "ticks_per_day") in locs

    scenario = two_banks()
    scenario["agents"][1]["policy"] = {"type": "Fifoo"}
    errors = _field_errors(client.post("/simulations", json=scenario))
    assert any(loc[:4] == ("body", "agents", 1, "policy") for loc, _ in errors), errors

    scenario = two_banks()
    scenario["agents"][0]["balanse"] = 5  # a typo must not pass silently
    assert ("body", "agents", 0, "balanse") in [loc for loc, _ in _field_errors(client.post("/simulations",
                                                                                          json=scenario))]
    scenario = two_banks()
    scenario["agents"][1]["balance"] = 10**16  # above the engine's bound on money
    errors = _field_errors(client.post("/simulations", json=scenario))
    assert any("balance" in str(loc) + msg for loc, msg in errors), errors

    assert client.post("/simulations", content=b"{not json", headers={"content-type": "application/json"}
                       ).status_code == 422
    assert client.post("/simulations", json=[1, 2]).status_code == 422


def test_server_files_are_refused(client: httpx.Client, two_banks: Scenario, tmp_path: Path) -> None:
    """A client cannot make the server open a file: scheduled_payments_file is a 422 naming the field."""
    payments = tmp_path / "payments.csv"
    payments.write_text("sender,receiver,amount,arrival_tick\nBANK_A,BANK_B,1000,3\n")
    scenario = two_banks()
    SimulationConfig.model_validate({**scenario, "scheduled_payments_file": str(payments)})  # a usable file
    refused = client.post("/simulations", json={**scenario, "scheduled_payments_file": str(payments)})
    ((loc, msg),) = _field_errors(refused)
    assert loc == ("body", "scheduled_payments_file")
    assert "scheduled_payments" in msg
    assert "HTTP" in msg
    assert "scheduled_payments_file" not in client.get("/openapi.json").json()["components"]["schemas"][
        "Scenario"]["properties"]

    inline = {**scenario, "scheduled_payments": [{"sender": "BANK_A", "receiver": "BANK_B", "amount": 1000,
                                                  "arrival_tick": 3}]}
    created = client.post("/simulations", json=inline)
    assert created.status_code == 200, created.text
    sim_id = created.json()["simulation_id"]
    assert client.post(f"/simulations/{sim_id}/tick", params={"n": 4}).json()["value_settled"] == 1000
    client.delete(f"/simulations/{sim_id}")


def test_unknown_bank_is_422(client: httpx.Client, create_sim: CreateSim) -> None:
    sim_id = create_sim()
    response = client.post(f"/simulations/{sim_id}/transactions",
                           json={"sender": "BANK_A", "receiver": "BANK_X", "amount": 10})
    ((loc, msg),) = _field_errors(response)
    assert loc == ("body", "receiver")
    assert "BANK_X" in msg
    self_payment = client.post(f"/simulations/{sim_id}/transactions",
                               json={"sender": "BANK_A", "receiver": "BANK_A", "amount": 10})
    ((loc, msg),) = _field_errors(self_payment)
    assert loc == ("body", "receiver")
    assert "must differ from sender" in msg
    bad_amount = client.post(f"/simulations/{sim_id}/transactions",
                             json={"sender": "BANK_A", "receiver": "BANK_B", "amount": 0})
    assert ("body", "amount") in [loc for loc, _ in _field_errors(bad_amount)]
    assert client.get(f"/simulations/{sim_id}/transactions").json()["total"] == 0


def test_n_is_bounded(client: httpx.Client, create_sim: CreateSim, two_banks: Scenario) -> None:
    sim_id = create_sim(two_banks(ticks_per_day=1_000_000))
    for n in (0, -1, 100_001):
        response = client.post(f"/simulations/{sim_id}/tick", params={"n": n})
        assert ("query", "n") in [loc for loc, _ in _field_errors(response)], n
    assert client.get(f"/simulations/{sim_id}/state").json()["tick"] == 0


def test_ticking_past_the_end_is_409(client: httpx.Client, create_sim: CreateSim, two_banks: Scenario) -> None:
    sim_id = create_sim(two_banks(ticks_per_day=5))
    refused = client.post(f"/simulations/{sim_id}/tick", params={"n": 6})
    assert refused.status_code == 409
    assert "only 5 of the run's 5 ticks remain" in refused.json()["detail"]
    assert client.post(f"/simulations/{sim_id}/tick", params={"n": 5}).json()["is_finished"] is True
    assert client.post(f"/simulations/{sim_id}/tick").status_code == 409
    late = client.post(f"/simulations/{sim_id}/transactions", json={"sender": "BANK_A", "receiver": "BANK_B",
                                                                    "amount": 1})
    assert late.status_code == 409


def test_concurrent_ticks_on_one_simulation(
    server: Any, client: httpx.Client, create_sim: CreateSim, two_banks: Scenario
) -> None:
    """Several threads tick one simulation at once; every tick requested is run exactly once."""
    sim_id = create_sim(two_banks(ticks_per_day=10_000, arrivals=True))
    requests = [(thread, n) for thread in range(6) for n in (1, 3, 5, 2)]

    def tick(request: tuple[int, int]) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=60.0) as own:
            response = own.post(f"/simulations/{sim_id}/tick", params={"n": request[1]})
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(tick, requests))
    expected = sum(n for _, n in requests)
    assert client.get(f"/simulations/{sim_id}/state").json()["tick"] == expected
    spans = sorted((r["first_tick"], r["current_tick"]) for r in results)
    assert spans[0][0] == 0
    assert spans[-1][1] == expected
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # no overlap, no gap


def test_openapi_describes_every_endpoint(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) == {
        "/health", "/simulations", "/simulations/{simulation_id}/tick", "/simulations/{simulation_id}/state",
        "/simulations/{simulation_id}/transactions", "/simulations/{simulation_id}/metrics",
        "/simulations/{simulation_id}/events", "/simulations/{simulation_id}",
    }
    tick = paths["/simulations/{simulation_id}/tick"]["post"]
    assert {"200", "404", "409", "422"} <= set(tick["responses"])
    n = next(p for p in tick["parameters"] if p["name"] == "n")
    assert (n["schema"]["minimum"], n["schema"]["maximum"]) == (1, 100_000)
    assert "MetricsResponse" in schema["components"]["schemas"]


def test_docs_are_served_offline(client: httpx.Client) -> None:
    """/docs loaded Swagger UI from a CDN, a blank page on an offline network: every asset it names
    is now a path on this server, and is served."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert "http:" not in page.text
    assert "https:" not in page.text
    assets = dict(re.findall(r'(?:src|href)="(/[^/"][^"]*\.(js|css|png))"', page.text))
    assert sorted(assets.values()) == ["css", "js", "png"], page.text  # the script, the stylesheet, the icon
    for asset, kind in assets.items():
        served = client.get(asset)
        assert served.status_code == 200, asset
        # .js is text/javascript or application/javascript, as the machine's MIME table says
        expected = {"js": "javascript", "css": "text/css", "png": "image/png"}[kind]
        assert expected in served.headers["content-type"], (asset, served.headers["content-type"])
    assert "url: '/openapi.json'" in page.text


def test_a_wrong_method_lists_every_method_of_the_path(client: httpx.Client) -> None:
    """Starlette's 405 named only the first route that matched the path (``Allow: POST`` on
    /simulations): schemathesis' ST205."""
    for method, path, allowed in [
        ("OPTIONS", "/simulations", "GET, HEAD, POST"),
        ("PUT", "/simulations/abc/transactions", "GET, HEAD, POST"),
        ("PATCH", "/simulations/abc", "DELETE"),
        ("OPTIONS", "/simulations/abc/tick", "POST"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed, (method, path)

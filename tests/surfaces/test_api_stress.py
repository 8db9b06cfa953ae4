"""T2 rules and scenario events over real HTTP (uvicorn on 127.0.0.1, httpx): a stress scenario
goes through POST /simulations, its outage shows in the state and its events at /events, and a
payment's class is chosen by the caller (docs/api-cli.md#an-api-session)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Scenario = Callable[..., dict[str, Any]]
CreateSim = Callable[..., str]


def _stress(two_banks: Scenario) -> dict[str, Any]:
    """BANK_A is out in ticks 2-5 with two payments due; BANK_B may not send a normal payment to
    BANK_A beyond what it received from it (bilateral limit 0), but its urgent one goes through."""
    scenario = two_banks(ticks_per_day=20)
    scenario["agents"][1]["limits"] = {"bilateral": {"BANK_A": 0}}
    scenario["rtgs"] = {"queue": "t2"}
    scenario["scheduled_payments"] = [
        {"sender": "BANK_A", "receiver": "BANK_B", "amount": 100, "arrival_tick": 2, "deadline_tick": 19},
        {"sender": "BANK_A", "receiver": "BANK_B", "amount": 200, "arrival_tick": 3, "deadline_tick": 19},
        {"sender": "BANK_B", "receiver": "BANK_A", "amount": 300, "arrival_tick": 1, "deadline_tick": 19,
         "priority": 9, "rtgs_class": "normal"},
        {"sender": "BANK_B", "receiver": "BANK_A", "amount": 400, "arrival_tick": 1, "deadline_tick": 19,
         "rtgs_class": "urgent"},
    ]
    scenario["events"] = [
        {"type": "outage", "bank": "BANK_A", "start_tick": 2, "end_tick": 5},
        {"type": "transfer", "to": "BANK_B", "amount": 7, "tick": 3},
        {"type": "credit_limit", "bank": "BANK_B", "tick": 4, "credit_limit": 5_000},
    ]
    return scenario


def _agents(client: httpx.Client, sim_id: str) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in client.get(f"/simulations/{sim_id}/state").json()["agents"]}


def _events(client: httpx.Client, sim_id: str) -> list[tuple[Any, ...]]:
    body = client.get(f"/simulations/{sim_id}/events").json()
    assert body["total"] == len(body["items"])
    return [(e["tick"], e["event"], e["event_type"], e["bank"], e["counterparty"], e["amount"]) for e in body["items"]]


def test_an_outage_holds_the_banks_queue1_and_the_limit_waits_for_its_receipts(
    client: httpx.Client, create_sim: CreateSim, two_banks: Scenario
) -> None:
    sim_id = create_sim(_stress(two_banks))
    assert _events(client, sim_id) == []

    during = client.post(f"/simulations/{sim_id}/tick", params={"n": 6}).json()  # ticks 0-5
    assert during["value_settled"] == 400  # only BANK_B's urgent payment: the normal one is over its limit
    agents = _agents(client, sim_id)
    assert agents["BANK_A"]["queue1_size"] == 2  # out: its payments stay in Queue 1
    assert agents["BANK_A"]["balance"] == 1_000_400
    assert agents["BANK_B"]["queue2_size"] == 1
    assert agents["BANK_B"]["credit_limit"] == 5_000
    assert agents["BANK_B"]["balance"] == 1_000_000 - 400 + 7
    assert _events(client, sim_id) == [
        (2, 0, "outage_start", "BANK_A", None, None),
        (3, 1, "injection", "BANK_B", None, 7),
        (4, 2, "credit_limit", "BANK_B", None, 5_000),
    ]

    after = client.post(f"/simulations/{sim_id}/tick").json()  # tick 6: BANK_A is back
    assert after["value_settled"] == 100 + 200 + 300  # its receipts bring BANK_B back within its limit
    agents = _agents(client, sim_id)
    assert (agents["BANK_A"]["queue1_size"], agents["BANK_B"]["queue2_size"]) == (0, 0)
    assert sum(a["balance"] for a in agents.values()) == 2_000_007  # the injection is new money
    assert _events(client, sim_id)[-1] == (6, 0, "outage_end", "BANK_A", None, None)


def test_a_transfer_between_banks_names_its_payer(
    client: httpx.Client, create_sim: CreateSim, two_banks: Scenario
) -> None:
    scenario = two_banks(ticks_per_day=5)
    scenario["events"] = [{"type": "transfer", "from": "BANK_A", "to": "BANK_B", "amount": 50, "tick": 1}]
    sim_id = create_sim(scenario)
    client.post(f"/simulations/{sim_id}/tick", params={"n": 2})
    assert _events(client, sim_id) == [(1, 0, "transfer", "BANK_B", "BANK_A", 50)]
    assert {k: a["balance"] for k, a in _agents(client, sim_id).items()} == {"BANK_A": 999_950, "BANK_B": 1_000_050}


def test_a_submitted_payments_class_overrides_its_priority(
    client: httpx.Client, create_sim: CreateSim, two_banks: Scenario
) -> None:
    """BANK_A holds 600 of its 1,000 back for urgent payments: a priority-9 payment sent as normal
    waits, a priority-2 payment sent as urgent settles, and without a class priority 9 is urgent."""
    scenario = two_banks(balance=1_000)
    scenario["agents"][0]["reservations"] = {"urgent": 600}
    sim_id = create_sim(scenario)
    submitted = [
        {"amount": 500, "priority": 9, "rtgs_class": "normal"},
        {"amount": 300, "priority": 2, "rtgs_class": "urgent"},
        {"amount": 100, "priority": 9},
    ]
    for payment in submitted:
        accepted = client.post(f"/simulations/{sim_id}/transactions",
                               json={"sender": "BANK_A", "receiver": "BANK_B", **payment})
        assert accepted.status_code == 200, accepted.text
    client.post(f"/simulations/{sim_id}/tick")
    rows = client.get(f"/simulations/{sim_id}/transactions").json()["items"]
    assert [(r["amount"], r["status"]) for r in rows] == [(500, "queue2"), (300, "settled"), (100, "settled")]


def test_an_unknown_class_is_422_at_the_field(client: httpx.Client, create_sim: CreateSim) -> None:
    sim_id = create_sim()
    refused = client.post(f"/simulations/{sim_id}/transactions",
                          json={"sender": "BANK_A", "receiver": "BANK_B", "amount": 5, "rtgs_class": "express"})
    assert refused.status_code == 422, refused.text
    assert ("body", "rtgs_class") in [tuple(e["loc"]) for e in refused.json()["detail"]]
    assert client.get(f"/simulations/{sim_id}/transactions").json()["total"] == 0


@pytest.mark.parametrize(("event", "field", "fragment"), [
    ({"type": "outage", "bank": "BANK_X", "start_tick": 1, "end_tick": 3}, "bank", "BANK_X"),
    ({"type": "outage", "bank": "BANK_A", "start_tick": 5, "end_tick": 3}, "end_tick", "start_tick"),
    ({"type": "transfer", "from": "BANK_Z", "to": "BANK_A", "amount": 5, "tick": 1}, "from", "BANK_Z"),
])
def test_a_bad_event_is_422_naming_its_field(
    client: httpx.Client, two_banks: Scenario, event: dict[str, Any], field: str, fragment: str
) -> None:
    response = client.post("/simulations", json={**two_banks(), "events": [event]})
    assert response.status_code == 422, response.text
    ((loc, msg),) = [(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]]
    assert loc == ("body", "events", 0, field)
    assert fragment in msg


def test_an_event_of_an_unknown_type_is_422_at_the_event(client: httpx.Client, two_banks: Scenario) -> None:
    response = client.post("/simulations", json={**two_banks(), "events": [{"type": "meteor", "tick": 1}]})
    assert response.status_code == 422, response.text
    locs = [tuple(e["loc"]) for e in response.json()["detail"]]
    assert all(loc[:3] == ("body", "events", 0) for loc in locs), locs


def test_events_of_an_unknown_simulation_is_404(client: httpx.Client) -> None:
    response = client.get("/simulations/nope/events")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]

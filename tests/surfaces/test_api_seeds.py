"""The design notes' own API tests (docs/testing.md#errors-in-the-design-notes)
(``api/tests/api/test_endpoints.py``), replayed against the live server.

Same requests, same scenarios and exactly the design notes' assertions (status codes, keys, tick numbers),
sent over real HTTP to uvicorn instead of through the design notes' in-process TestClient: this is the
HTTP contract docs/api-cli.md#endpoints calls "the original endpoints".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture
def client(server: Any) -> Iterator[httpx.Client]:
    """An HTTP client that deletes, afterwards, every simulation the test created."""
    with httpx.Client(base_url=server.url, timeout=60.0) as http:
        before = {s["simulation_id"] for s in http.get("/simulations").json()["simulations"]}
        yield http
        for item in http.get("/simulations").json()["simulations"]:
            if item["simulation_id"] not in before:
                http.delete(f"/simulations/{item['simulation_id']}")


def test_create_simulation(client: httpx.Client) -> None:
    """POST /simulations should create simulation."""
    config = {
        "simulation": {"ticks_per_day": 100, "num_days": 1, "seed": 12345},
        "agents": [
            {"id": "BANK_A", "balance": 1_000_000, "credit_limit": 500_000, "policy": {"type": "Fifo"}},
        ],
    }

    response = client.post("/simulations", json=config)

    assert response.status_code == 200
    data = response.json()
    assert "simulation_id" in data


def test_advance_tick(client: httpx.Client) -> None:
    """POST /simulations/{id}/tick should advance simulation."""
    create_response = client.post("/simulations", json=_minimal_config())
    sim_id = create_response.json()["simulation_id"]

    response = client.post(f"/simulations/{sim_id}/tick")

    assert response.status_code == 200
    data = response.json()
    assert data["tick"] == 0


def test_advance_multiple_ticks(client: httpx.Client) -> None:
    """POST /simulations/{id}/tick?n=10 should advance 10 ticks."""
    create_response = client.post("/simulations", json=_minimal_config())
    sim_id = create_response.json()["simulation_id"]

    response = client.post(f"/simulations/{sim_id}/tick?n=10")

    assert response.status_code == 200
    data = response.json()
    assert data["tick"] == 9  # 0-indexed


def test_get_state(client: httpx.Client) -> None:
    """GET /simulations/{id}/state should return state."""
    create_response = client.post("/simulations", json=_minimal_config())
    sim_id = create_response.json()["simulation_id"]

    response = client.get(f"/simulations/{sim_id}/state")

    assert response.status_code == 200
    data = response.json()
    assert "agents" in data
    assert len(data["agents"]) == 1


def test_submit_transaction(client: httpx.Client) -> None:
    """POST /simulations/{id}/transactions should submit transaction."""
    create_response = client.post("/simulations", json=_two_agent_config())
    sim_id = create_response.json()["simulation_id"]

    tx_spec = {
        "sender": "BANK_A",
        "receiver": "BANK_B",
        "amount": 100_000,
        "deadline_offset": 50,
        "priority": 5,
    }

    response = client.post(f"/simulations/{sim_id}/transactions", json=tx_spec)

    assert response.status_code == 200
    data = response.json()
    assert "transaction_id" in data


def test_delete_simulation(client: httpx.Client) -> None:
    """DELETE /simulations/{id} should delete simulation."""
    create_response = client.post("/simulations", json=_minimal_config())
    sim_id = create_response.json()["simulation_id"]

    response = client.delete(f"/simulations/{sim_id}")

    assert response.status_code == 200

    # Verify deleted
    state_response = client.get(f"/simulations/{sim_id}/state")
    assert state_response.status_code == 404


def test_invalid_config_returns_422(client: httpx.Client) -> None:
    """Invalid config should return 422 Unprocessable Entity."""
    invalid_config = {
        "simulation": {"ticks_per_day": 0, "num_days": 1, "seed": 12345},  # Invalid: 0 ticks
        "agents": [],  # Invalid: no agents
    }

    response = client.post("/simulations", json=invalid_config)

    assert response.status_code == 422


def _minimal_config() -> dict[str, Any]:
    return {
        "simulation": {"ticks_per_day": 100, "num_days": 1, "seed": 12345},
        "agents": [
            {"id": "BANK_A", "balance": 1_000_000, "credit_limit": 500_000, "policy": {"type": "Fifo"}},
        ],
    }


def _two_agent_config() -> dict[str, Any]:
    return {
        "simulation": {"ticks_per_day": 100, "num_days": 1, "seed": 12345},
        "agents": [
            {"id": "BANK_A", "balance": 1_000_000, "credit_limit": 500_000, "policy": {"type": "Fifo"}},
            {"id": "BANK_B", "balance": 2_000_000, "credit_limit": 0, "policy": {"type": "Fifo"}},
        ],
    }

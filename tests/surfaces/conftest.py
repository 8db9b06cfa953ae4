"""Fixtures for the interactive surfaces: a real uvicorn server over HTTP, scenarios, the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.helpers.surfaces import PAYSIM, LiveServer, two_banks


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer()
    yield live
    live.stop()
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it, so -SIGTERM means a clean stop
    assert live.process.returncode in (0, -signal.SIGTERM), "uvicorn had to be killed"


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60.0) as http:
        yield http


@pytest.fixture
def create_sim(client: httpx.Client) -> Iterator[Callable[..., str]]:
    """POST a scenario and return its id; every simulation made is deleted afterwards."""
    made: list[str] = []

    def create(scenario: dict[str, Any] | None = None) -> str:
        response = client.post("/simulations", json=scenario or two_banks())
        assert response.status_code == 200, response.text
        made.append(response.json()["simulation_id"])
        return made[-1]

    yield create
    for sim_id in made:
        client.delete(f"/simulations/{sim_id}")


@pytest.fixture(name="two_banks")
def two_banks_fixture() -> Callable[..., dict[str, Any]]:
    return two_banks


@pytest.fixture
def paysim_script() -> Path:
    assert PAYSIM.exists(), f"console script {PAYSIM} missing: install the project (make install)"
    return PAYSIM


@pytest.fixture
def paysim(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``paysim`` console script in tmp_path and capture its output."""
    assert PAYSIM.exists(), f"console script {PAYSIM} missing: install the project (make install)"

    def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PAYSIM), *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
            env={**os.environ, **(env or {})},
        )

    return run


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario dict as YAML (default: two banks, random arrivals) and return its path."""

    def write(scenario: dict[str, Any] | None = None, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(scenario or two_banks(arrivals=True), sort_keys=False))
        return path

    return write


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real sweep (lsm.mode none vs t2, 3 seeds) written by RUNNER's own driver on its inline
    executor, so no Ray is needed to lay out the files."""
    from rich.console import Console

    from paysim_runner.driver import run_sweep

    config = {
        "scenario": two_banks(ticks_per_day=40, balance=30_000, arrivals=True),
        "output_dir": str(tmp_path_factory.mktemp("results")),
        "seeds": 3,
        "root_seed": 11,
        "batch_size": 2,
        "progress": False,
        "report": False,
        "sweep": {"name": "lsm_demo", "axes": {"lsm": {"mode": ["none", "t2"]}}, "fixed": {},
                  "compare": {"axis": "lsm.mode", "baseline": "none"}},
    }
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir


@pytest.fixture(scope="module")
def outage_sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real sweep whose BANK_A is out from tick 5 or 20 to 30 (the axis ``events.0.start_tick``),
    2 seeds, run inline like ``sweep_dir``."""
    from rich.console import Console

    from paysim_runner.driver import run_sweep

    scenario = two_banks(ticks_per_day=40, balance=30_000, arrivals=True)
    scenario["events"] = [{"type": "outage", "bank": "BANK_A", "start_tick": 5, "end_tick": 30}]
    config = {
        "scenario": scenario,
        "output_dir": str(tmp_path_factory.mktemp("results")),
        "seeds": 2,
        "root_seed": 11,
        "batch_size": 2,
        "progress": False,
        "report": False,
        "sweep": {"name": "outage_demo", "axes": {"events.0.start_tick": [5, 20]}, "fixed": {}},
    }
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir

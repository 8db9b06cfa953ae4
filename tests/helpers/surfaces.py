"""Helpers for the interactive surfaces: a two-bank scenario, a real uvicorn server over HTTP, the real CLI
and the checks of its answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

PAYSIM = Path(sys.executable).with_name("paysim")  # the console script pip installed beside python


def two_banks(
    ticks_per_day: int = 100,
    num_days: int = 1,
    balance: int = 1_000_000,
    arrivals: bool = False,
    seed: int = 7,
) -> dict[str, Any]:
    """A two-bank scenario (the design notes' BANK_A/BANK_B), optionally with random arrivals both ways."""

    def bank(bank_id: str, other: str) -> dict[str, Any]:
        agent: dict[str, Any] = {"id": bank_id, "balance": balance, "credit_limit": 0, "policy": {"type": "Fifo"}}
        if arrivals:
            agent["arrival_config"] = {
                "rate_per_tick": 0.5,
                "distribution": {"type": "Uniform", "min": 1_000, "max": 50_000},
                "counterparty_weights": {other: 1.0},
                "deadline_offset": 20,
            }
        return agent

    return {
        "simulation": {"ticks_per_day": ticks_per_day, "num_days": num_days, "seed": seed},
        "agents": [bank("BANK_A", "BANK_B"), bank("BANK_B", "BANK_A")],
    }


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Non-zero exit, nothing on stdout, exactly one line on stderr starting with 'error:'."""
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


class LiveServer:
    """uvicorn serving paysim_runner.api:app in its own process, on a socket bound to a free port."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        fd = self._sock.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "paysim_runner.api:app", "--fd", str(fd), "--log-level", "warning"],
            pass_fds=(fd,),
            env={**os.environ, **(env or {})},
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with status {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._sock.close()

"""REST API load figures (docs/performance.md#rest-api), each printed beside its budget.

    python benchmarks/api.py             # about two minutes on 2 cores
    python benchmarks/api.py --quick     # a smoke run: fewer requests and cycles

A real uvicorn serving ``paysim_runner.api:app`` on 127.0.0.1, driven over HTTP by httpx, every
phase bounded in time:

1. requests/s and p50/p99 latency of ``GET /health``, ``POST tick?n=1`` and ``POST tick?n=100`` on
   bench_10 (one client, one request at a time: latency, not the server's peak throughput);
2. ``/health``'s p50/p99 while one expensive tick runs in another client (t2_day's 1,000 banks
   with no liquidity, ``n=150``: the issue's reproduction); budget p99 < 100 ms;
3. the server's RSS after 1,000 create/tick/delete cycles of bench_10 against its RSS at the start,
   taken after one such cycle (the first loads numpy and pyarrow, about 15 MiB, once per server):
   budget within 10 %, no leak. The RSS before any cycle is printed too.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "paysim_runner" / "conf" / "scenario"


def scenario(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    for group in data.get("agent_groups", []):
        group.update(changes)
    return data


class Server:
    """uvicorn on a free loopback port, in its own process (its RSS is read from /proc)."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "paysim_runner.api:app", "--host", "127.0.0.1", "--port",
             str(self.port), "--log-level", "warning"], cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("uvicorn did not start within 60 s")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def latencies(call: Callable[[], httpx.Response], count: int, budget_s: float) -> list[float]:
    """Seconds of up to ``count`` calls, stopping after ``budget_s``; every call must succeed."""
    out: list[float] = []
    stop = time.monotonic() + budget_s
    while len(out) < count and time.monotonic() < stop:
        start = time.perf_counter()
        response = call()
        out.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text[:200]}")
    return out


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class Bench10:
    """A bench_10 simulation that is replaced when its day runs out."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.sim = self._new()

    def _new(self) -> str:
        response = self.client.post("/simulations", json=scenario("bench_10"))
        response.raise_for_status()
        return str(response.json()["simulation_id"])

    def tick(self, n: int) -> httpx.Response:
        response = self.client.post(f"/simulations/{self.sim}/tick", params={"n": n})
        if response.status_code == 409:  # the day is over: a fresh one
            self.client.delete(f"/simulations/{self.sim}")
            self.sim = self._new()
            response = self.client.post(f"/simulations/{self.sim}/tick", params={"n": n})
        return response


def health_during_long_tick(server: Server, budget_s: float) -> tuple[list[float], float, int]:
    """/health latencies while another client runs the expensive tick; its seconds and status."""
    with httpx.Client(base_url=server.url, timeout=300) as client:
        created = client.post("/simulations", json=scenario("t2_day", balance=0, credit_limit=0))
        created.raise_for_status()
        sim = created.json()["simulation_id"]
        outcome: dict[str, Any] = {}

        def long_tick() -> None:
            start = time.perf_counter()
            with httpx.Client(base_url=server.url, timeout=300) as other:
                outcome["status"] = other.post(f"/simulations/{sim}/tick", params={"n": 150}).status_code
            outcome["seconds"] = time.perf_counter() - start

        worker = threading.Thread(target=long_tick)
        worker.start()
        time.sleep(0.5)  # the tick is under way
        seen: list[float] = []
        while worker.is_alive() and len(seen) < 2000:
            seen += latencies(lambda: client.get("/health", timeout=10), 1, budget_s)
            time.sleep(0.02)
        worker.join()
        client.delete(f"/simulations/{sim}")
    return seen, float(outcome.get("seconds", 0.0)), int(outcome.get("status", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and 200 cycles: a smoke run")
    args = parser.parse_args()
    requests, cycles = (200, 200) if args.quick else (2000, 1000)
    console = Console()
    server = Server()
    idle_rss = server.rss_mib()
    try:
        table = Table(title=f"REST API on 127.0.0.1 ({os.cpu_count()} CPUs), one client at a time")
        for col in ("request", "requests", "req/s", "p50 ms", "p99 ms", "budget"):
            table.add_column(col, justify="left" if col in ("request", "budget") else "right")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            bench = Bench10(client)
            for label, call in (("GET /health", lambda: client.get("/health")),
                                ("POST tick?n=1 (bench_10)", lambda: bench.tick(1)),
                                ("POST tick?n=100 (bench_10)", lambda: bench.tick(100))):
                seen = latencies(call, requests, budget_s=30)
                table.add_row(label, f"{len(seen):,}", f"{len(seen) / sum(seen):,.0f}", f"{p(seen, 50) * 1e3:.2f}",
                              f"{p(seen, 99) * 1e3:.2f}", "")
            client.delete(f"/simulations/{bench.sim}")

        seen, long_s, status = health_during_long_tick(server, budget_s=10)
        p99 = p(seen, 99) * 1e3
        table.add_row(f"GET /health during a {long_s:.1f} s tick (HTTP {status})", f"{len(seen):,}",
                      f"{len(seen) / sum(seen):,.0f}", f"{p(seen, 50) * 1e3:.2f}", f"{p99:.2f}",
                      f"p99 < 100 ms: {'met' if p99 < 100 else 'MISSED'} ({p99 / 100:.2f}x)")
        console.print(table)

        with httpx.Client(base_url=server.url, timeout=60) as client:

            def cycle() -> None:
                sim = client.post("/simulations", json=scenario("bench_10")).json()["simulation_id"]
                client.post(f"/simulations/{sim}/tick", params={"n": 100}).raise_for_status()
                client.delete(f"/simulations/{sim}").raise_for_status()

            cycle()
            start_rss = server.rss_mib()
            start = time.perf_counter()
            for _ in range(cycles):
                cycle()
            seconds = time.perf_counter() - start
        end = server.rss_mib()
        growth = end / start_rss - 1
        verdict = "met" if abs(growth) <= 0.10 else "MISSED"
        console.print(
            f"server RSS after {cycles:,} create/tick(100)/delete cycles ({seconds:.1f} s): {end:.1f} MiB, "
            f"at the start {start_rss:.1f} MiB -> {growth:+.1%} (budget within 10 %: {verdict}); "
            f"before the first cycle {idle_rss:.1f} MiB"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()

"""A real multi-node Ray cluster on this machine for benchmarks/runner.py: ``ray start --head`` and
worker nodes joining it with ``ray start --address=...``, each with ``--num-cpus``.

Every node runs with ``--block`` in its own process group (a new session), so stopping the cluster
ends exactly the processes started here: ``ray stop`` would end every Ray on the machine, other
people's too. The head gets its own short ``--temp-dir`` under /tmp (Ray's socket paths have a
length limit), which the worker nodes share, so no other ``ray.init()`` here takes this cluster for
"the current cluster". Ray ≥ 2.59 enables token authentication for ``ray start``: the token is
given in the environment to every node and must be given to the driver (``Cluster.env``), so none
depends on ~/.ray/auth_token. The pattern is tests/runner/test_cluster.py's.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

RAY = Path(shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray")


@dataclass
class Cluster:
    address: str  # 127.0.0.1:PORT, for ray.address=
    env: dict[str, str]  # the token authentication a driver of this cluster needs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(RAY), "start", *args, "--node-ip-address=127.0.0.1", "--block", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the node's process group (``--block``: the launcher stops the node's processes),
    then SIGKILL to whatever of it outlived the launcher."""
    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _cluster_cpus(address: str, env: dict[str, str]) -> float:
    """The cluster's CPUs as `ray status` reports them (0 while it cannot answer yet)."""
    proc = subprocess.run([str(RAY), "status", f"--address={address}"], env=env, capture_output=True, text=True)
    match = re.search(r"/([\d.]+) CPU", proc.stdout)
    return float(match.group(1)) if proc.returncode == 0 and match else 0.0


def _wait_until(
    ready: Callable[[], bool], what: str, nodes: list[subprocess.Popen[bytes]], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(node.poll() is not None for node in nodes):
            raise RuntimeError(f"a `ray start` node exited while waiting for {what}")
        if ready():
            return
        time.sleep(0.5)
    raise TimeoutError(f"Ray cluster: timed out after {timeout:.0f} s waiting for {what}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[Cluster]:
    """A head and ``nodes - 1`` worker nodes, up once `ray status` counts every node's CPUs."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env.update(auth)
    temp_dir = tempfile.mkdtemp(prefix="psb", dir="/tmp")
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(_start(["--head", f"--port={port}", f"--num-cpus={cpus_per_node}",
                               "--include-dashboard=false", f"--temp-dir={temp_dir}"], env))
        _wait_until(lambda: _listening(port), f"the head to listen on {port}", started)
        for _ in range(nodes - 1):
            started.append(_start([f"--address={address}", f"--num-cpus={cpus_per_node}"], env))
        want = float(nodes * cpus_per_node)
        _wait_until(lambda: _cluster_cpus(address, env) >= want, f"{want:g} CPUs in `ray status`", started)
        yield Cluster(address, auth)
    finally:
        for proc in reversed(started):  # worker nodes first, then the head
            _stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)



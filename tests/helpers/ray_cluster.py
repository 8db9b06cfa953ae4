"""A real Ray cluster on this machine, node by node, for the tests that drive
``python -m paysim_runner ray.address=127.0.0.1:PORT`` (tests/runner/test_cluster.py,
tests/runner/test_multinode.py).

Every node is a ``ray start ... --block`` in its own process group, with its own short
``--temp-dir`` and free ports, so stopping it ends exactly the processes a test started (``ray
stop`` would end every Ray on the machine), no other ``ray.init()`` on the machine mistakes it for
"the current cluster", and two nodes on one machine never reach for the same default port. A worker
node can run in a mount namespace of its own with an empty tmpfs over a folder, which its processes
then cannot see: a cluster without a shared filesystem, on one machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.helpers import REPO
from tests.helpers.runner import runner_env

RAY = Path(shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray")

#: The cluster's token (Ray ≥ 2.59 enables token authentication for `ray start`): given to every
#: node and to the driver explicitly, so none depends on ~/.ray/auth_token, which `ray start` writes
#: on a fresh machine while the driver may already be looking for it.
CLUSTER_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}

#: What a worker node started with ``hidden=`` writes into its tmpfs over that folder, so a test can
#: tell that folder as the node sees it from the folder as the driver sees it.
NODE_MARKER = ".written-by-a-worker-node"

#: Run by :func:`wait_for_nodes` in a child Python (a process can be connected to one Ray only).
_COUNT_NODES = """
import sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
while sum(node["Alive"] for node in ray.nodes()) < int(sys.argv[2]):
    time.sleep(0.2)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"Ray head did not listen on {port}")


@contextlib.contextmanager
def ray_node(
    num_cpus: int, *role: str, hidden: Path | None = None, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``ray start <role> --block`` as its own process group, stopped with every process of that
    group on leaving the block. With ``hidden``, in a mount namespace of its own with an empty tmpfs
    over that folder, holding only :data:`NODE_MARKER` (root only). Yields at once: the caller
    waits for the node (:func:`head_node`, :func:`wait_for_nodes`)."""
    temp_dir = tempfile.mkdtemp(prefix="psr", dir="/tmp")  # short: Ray's socket paths have a length limit
    ports = ("node-manager", "object-manager", "dashboard-agent-listen", "dashboard-agent-grpc", "runtime-env-agent",
             "metrics-export")
    cmd = [
        str(RAY), "start", *role, "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}",
        *(f"--{name}-port={free_port()}" for name in ports), f"--temp-dir={temp_dir}", "--block",
        "--disable-usage-stats",
    ]
    if hidden is not None:
        folder = shlex.quote(str(hidden))
        script = f"mount -t tmpfs tmpfs {folder} && touch {folder}/{NODE_MARKER} && exec {shlex.join(cmd)}"
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]  # no mount leaks out
    log = Path(temp_dir) / "ray-start.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env={**runner_env(), **CLUSTER_AUTH, **(env or {})}, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield proc
    except BaseException:  # a node that did not come up: its own words, in the failure's captured stderr
        print(f"{shlex.join(cmd)}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGTERM)  # --block: the launcher stops the node's processes
            proc.wait(timeout=3)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything of this node that outlived the launcher
        proc.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)


@contextlib.contextmanager
def head_node(num_cpus: int, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """A head node without a dashboard, once it listens; yields its address, ``127.0.0.1:PORT``."""
    port = free_port()
    with ray_node(num_cpus, "--head", f"--port={port}", "--include-dashboard=false", env=env) as proc:
        wait_for_port(port, proc)
        yield f"127.0.0.1:{port}"


def wait_for_nodes(address: str, workers: Sequence[subprocess.Popen[bytes]], timeout: float = 180) -> None:
    """Until the head at ``address`` and every worker node in ``workers`` are alive in the cluster."""
    counter = subprocess.Popen(
        [sys.executable, "-c", _COUNT_NODES, address, str(len(workers) + 1)], cwd=REPO,
        env={**runner_env(), **CLUSTER_AUTH}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while counter.poll() is None:
            if any(w.poll() is not None for w in workers):
                raise RuntimeError("a worker node's ray start exited")
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {len(workers)} worker nodes joined {address}")
            time.sleep(0.25)
    finally:
        counter.kill()
        counter.wait(timeout=30)
    if counter.returncode != 0:
        raise RuntimeError(f"could not count the nodes of {address} (exit {counter.returncode})")

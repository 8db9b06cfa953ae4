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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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

#: What ``ray start`` prints once its node has registered with the cluster.
STARTED = b"Ray runtime started."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RayNode:
    proc: subprocess.Popen[bytes]  # the `ray start` launcher, leader of the node's process group
    log: Path  # its output

    def wait_until_up(self, timeout: float = 180) -> None:
        """Until the node has joined the cluster (a busy 2-core machine can take 30 s and more)."""
        deadline = time.monotonic() + timeout
        while STARTED not in self.log.read_bytes():
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ray start did not start its node in {timeout} s")
            time.sleep(0.1)

    def running(self, task: str) -> int:
        """How many processes of this node run the Ray task ``task`` (Ray titles such a worker
        ``ray::<task>``). Only for a node in its own mount namespace, which tells its processes apart,
        workers included (Ray gives each a process group of its own)."""
        namespace = os.readlink(f"/proc/{self.proc.pid}/ns/mnt")
        count = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
                theirs = os.readlink(f"/proc/{pid}/ns/mnt")
            except OSError:  # a process that ended meanwhile
                continue
            if title.startswith(f"ray::{task}".encode()) and theirs == namespace:
                count += 1
        return count


@contextlib.contextmanager
def ray_node(
    num_cpus: int, *role: str, hidden: Path | None = None, env: Mapping[str, str] | None = None
) -> Iterator[RayNode]:
    """``ray start <role> --block`` as its own process group, stopped with every process of that
    group on leaving the block. With ``hidden``, in a mount namespace of its own with an empty tmpfs
    over that folder, holding only :data:`NODE_MARKER` (root only). Yields at once, before the node
    is up (:meth:`RayNode.wait_until_up`)."""
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
    node = RayNode(proc, log)
    try:
        yield node
    except BaseException:  # a node that did not come up: its own words, in the failure's captured stderr
        print(f"{shlex.join(cmd)}\n{node.log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(node.proc.pid, signal.SIGTERM)  # --block: the launcher stops the node's processes
            node.proc.wait(timeout=3)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.proc.pid, signal.SIGKILL)  # anything of this group that outlived the launcher
        node.proc.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)


@contextlib.contextmanager
def head_node(num_cpus: int, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """A head node without a dashboard, once it is up; yields its address, ``127.0.0.1:PORT``."""
    port = free_port()
    with ray_node(num_cpus, "--head", f"--port={port}", "--include-dashboard=false", env=env) as node:
        node.wait_until_up()
        yield f"127.0.0.1:{port}"

"""Sweeps on a Ray cluster whose worker nodes cannot see ``output_dir`` (issue 12): one as it should
go, one that loses a worker node mid-sweep; each writes what the same sweep writes inline.

The cluster is real and on this machine (tests/helpers/ray_cluster.py): a head with no CPUs, so
no batch runs where the driver's files are, and two worker nodes, each in a mount namespace of its
own with an empty tmpfs over the folder that holds every output of this module. A batch reaches
the disk only through the driver (``run.run_batch`` returns its tables, ``storage.write_batch``
writes them), which is what these tests prove. Root only, for the mount namespaces.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from paysim_runner import storage
from tests.helpers.ray_cluster import CLUSTER_AUTH, NODE_MARKER, RayNode, head_node, ray_node
from tests.helpers.runner import file_bytes, read_table, run_runner, runner_process

pytestmark = [pytest.mark.slow, pytest.mark.ray]  # three nodes up and down, four sweeps: 80-150 s

SWEEP = ("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo]", "report=false", "progress=false")
#: 2 cells x 3 seeds in 3 batches.
SMALL = (*SWEEP, "seeds=3", "batch_size=2")
#: 2 cells x 10 seeds of a three-day fifty-bank day in 10 batches: most still to come when the first
#: is written, on two nodes of two CPUs.
LONG = (*SWEEP, "scenario=fifty_bank_core_periphery", "scenario.simulation.num_days=3", "seeds=10", "batch_size=2")
LONG_BATCHES = 10


@dataclass
class Cluster:
    address: str
    hidden: Path  # what no worker node sees: every output of this module is under it
    workers: list[RayNode]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A head with no CPUs and two hidden worker nodes of two CPUs each, shared by the module (a node
    takes 10-60 s to join): test_a_sweep_survives_losing_a_worker_node kills one, so it is the
    module's last test."""
    hidden = tmp_path_factory.mktemp("multinode")
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(head_node(num_cpus=0))
        workers = []
        # One after the other: `ray start` gives up on a node not joined within 30 s, which two nodes
        # starting at once on a busy 2-core machine have missed.
        for _ in range(2):
            workers.append(stack.enter_context(ray_node(2, f"--address={address}", hidden=hidden)))
            workers[-1].wait_until_up()
        yield Cluster(address, hidden, workers)


def assert_same_results(sweep_dir: Path, reference: Path) -> None:
    """``sweep_dir`` holds what ``reference`` holds: ticks, transactions and events byte for byte, runs
    value for value but the wall-clock ``engine_seconds``, and the same batch records but for the
    runs file's size and sha256."""
    for table in ("ticks", "transactions", "events"):
        assert file_bytes(sweep_dir, table) == file_bytes(reference, table), table
    runs, expected = (read_table(d, "runs") for d in (sweep_dir, reference))
    assert runs.schema.equals(expected.schema, check_metadata=True)
    assert runs.drop_columns(["engine_seconds"]).equals(expected.drop_columns(["engine_seconds"]))
    assert _records(sweep_dir) == _records(reference)


def _records(sweep_dir: Path) -> dict[str, object]:
    records: dict[str, object] = {}
    for path in sorted((sweep_dir / storage.RECORDS).iterdir()):
        record = json.loads(path.read_text())
        del record["files"]["runs"]["sha256"], record["files"]["runs"]["bytes"]  # engine_seconds in them
        records[path.name] = record
    return records


def _node_at_work(
    sweep_dir: Path, driver: subprocess.Popen[str], nodes: list[RayNode], timeout: float = 180
) -> RayNode:
    """The first of ``nodes`` seen running a batch once the sweep ``driver`` runs has written its first
    batch, before it has written its last. (Ray may give one node all the batches for a while.)"""
    deadline = time.monotonic() + timeout
    while True:
        busy = [node for node in nodes if node.running("run_batch")] if storage.completed_batches(sweep_dir) else []
        if busy:
            break
        if driver.poll() is not None:
            raise AssertionError(f"the sweep ended first: {driver.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"in {timeout} s, no batch was written while a worker node ran one")
        time.sleep(0.02)
    assert len(storage.completed_batches(sweep_dir)) < LONG_BATCHES
    return busy[0]


def test_worker_nodes_that_cannot_see_output_dir_write_the_inline_bytes(cluster: Cluster) -> None:
    out = cluster.hidden / "no-shared-filesystem"
    with runner_process(*SMALL, "executor=inline", f"output_dir={out / 'inline'}") as inline:
        on_ray = run_runner(*SMALL, f"ray.address={cluster.address}", f"output_dir={out / 'ray'}", env=CLUSTER_AUTH)
        inline_stderr = inline.communicate(timeout=240)[1]
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert inline.returncode == 0, inline_stderr[-3000:]
    assert f"Ray: connected to cluster {cluster.address} (4 CPUs)" in on_ray.stdout  # the workers' CPUs only
    assert_same_results(out / "ray" / "lsm_vs_fifo", out / "inline" / "lsm_vs_fifo")

    # Every worker node saw its own empty folder, not the driver's: /proc/PID/root resolves a path in
    # the mount namespace of PID.
    assert os.listdir(cluster.hidden) == [out.name]
    for node in cluster.workers:
        assert os.readlink(f"/proc/{node.proc.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        assert os.listdir(f"/proc/{node.proc.pid}/root{cluster.hidden}") == [NODE_MARKER]


def test_a_sweep_survives_losing_a_worker_node(cluster: Cluster) -> None:
    out = cluster.hidden / "node-loss"
    sweep_dir = out / "ray" / "lsm_vs_fifo"
    on_cluster = (f"ray.address={cluster.address}", f"output_dir={out / 'ray'}")
    with (
        runner_process(*LONG, *on_cluster, env=CLUSTER_AUTH) as on_ray,
        runner_process(*LONG, "executor=inline", f"output_dir={out / 'inline'}") as inline,
    ):
        doomed = _node_at_work(sweep_dir, on_ray, cluster.workers)
        # The node's launcher, raylet and agents at once, in the middle of a batch; its workers (each
        # in a process group of its own) end as their raylet is gone. Ray's default health checks (5
        # missed, 3 s apart) take about 15 s to declare the node dead: shorter ones declared a live
        # node dead while it started on a busy 2-core machine, so they are left alone.
        os.killpg(doomed.proc.pid, signal.SIGKILL)
        stderr = on_ray.communicate(timeout=240)[1]
        inline_stderr = inline.communicate(timeout=240)[1]
    assert doomed.proc.wait(timeout=30) == -signal.SIGKILL
    assert on_ray.returncode == 0, stderr[-3000:]
    assert inline.returncode == 0, inline_stderr[-3000:]

    manifest = json.loads((sweep_dir / storage.MANIFEST).read_text())
    written = Counter(read_table(sweep_dir, "runs")["run_id"].to_pylist())
    assert written == Counter(run["run_id"] for run in manifest["runs"])  # every run exactly once
    assert_same_results(sweep_dir, out / "inline" / "lsm_vs_fifo")

"""A real local Ray cluster (``ray start --head`` on 127.0.0.1) runs a sweep driven by
``python -m paysim_runner ray.address=127.0.0.1:PORT``.

The driver runs as a subprocess: a process already connected to the session's Ray cannot join a
second cluster. The head runs with ``--block`` in its own process group and its own ``--temp-dir``,
so stopping it ends exactly the processes this test started (``ray stop`` would end every Ray on
the machine) and no other ``ray.init()`` on the machine mistakes it for "the current cluster".
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.helpers import REPO
from tests.helpers.runner import run_runner, runner_env

RAY = Path(shutil.which("ray", path=str(Path(os.sys.executable).parent)) or "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"Ray head did not listen on {port}")


#: The cluster's token (Ray ≥ 2.59 enables token authentication for `ray start`): given to the head
#: and to the driver explicitly, so neither depends on ~/.ray/auth_token, which `ray start` writes on
#: a fresh machine while the driver may already be looking for it.
CLUSTER_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


@pytest.fixture
def ray_head() -> Iterator[str]:
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="psr", dir="/tmp")  # short: Ray's socket paths have a length limit
    proc = subprocess.Popen(
        [str(RAY), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
         "--include-dashboard=false", f"--temp-dir={temp_dir}", "--block", "--disable-usage-stats"],
        cwd=REPO, env={**runner_env(), **CLUSTER_AUTH}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc)
        yield f"127.0.0.1:{port}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # --block: the launcher stops the head's processes
            proc.wait(timeout=3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything of this head that outlived the launcher
        proc.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow  # a `ray start --head` cluster up and down: 15-20 s
def test_sweep_on_a_ray_cluster(tmp_path: Path, ray_head: str) -> None:
    # The driver is given the cluster's token, as a user of such a cluster must be.
    proc = run_runner(
        "+sweep=lsm_vs_fifo",
        "sweep.axes.policy=[fifo,deadline]",
        "seeds=2",
        "batch_size=3",
        f"ray.address={ray_head}",
        "output_dir=results",  # relative to the working directory, as Hydra leaves it (no chdir)
        env=CLUSTER_AUTH,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Ray: connected to cluster {ray_head} (1 CPUs)" in proc.stdout
    assert os.listdir(tmp_path) == ["results"]  # Hydra wrote no outputs/, .hydra/ or log file
    sweep_dir = (tmp_path / "results" / "lsm_vs_fifo").resolve()  # the link to the latest lsm_vs_fifo folder
    with duckdb.connect() as con:
        n, cells = con.execute(
            f"SELECT count(*), count(DISTINCT cell) FROM read_parquet('{sweep_dir}/runs/**/*.parquet')"
        ).fetchone()
    assert (n, cells) == (8, 4)
    assert json.loads((sweep_dir / "manifest.json").read_text())["config"]["ray"]["address"] == ray_head
    assert (sweep_dir / "report.md").is_file()
    assert str(sweep_dir / "report.md") in proc.stdout

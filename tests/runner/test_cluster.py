"""A real local Ray cluster (``ray start --head`` on 127.0.0.1) runs a sweep driven by
``python -m paysim_runner ray.address=127.0.0.1:PORT``.

The driver runs as a subprocess: a process already connected to the session's Ray cannot join a
second cluster. The head is started and stopped by tests/helpers/ray_cluster.py (its own process
group, ``--temp-dir`` and ports).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.helpers.ray_cluster import CLUSTER_AUTH, head_node
from tests.helpers.runner import run_runner


@pytest.fixture
def ray_head() -> Iterator[str]:
    with head_node(num_cpus=1) as address:
        yield address


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

"""Helpers for the runner tests: Hydra-composed configs exactly as ``python -m paysim_runner`` sees them,
the runner in a subprocess, and its Parquet output read back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from paysim_runner.config import CONF_DIR
from tests.helpers import REPO


def hydra_config(*overrides: str) -> dict[str, Any]:
    """The resolved config of ``python -m paysim_runner <overrides>``."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def small_sweep(output_dir: Path, *extra: str) -> dict[str, Any]:
    """lsm_vs_fifo cut down to 2 cells x 3 seeds in batches of 2 (3 batches)."""
    return hydra_config(
        "+sweep=lsm_vs_fifo",
        "sweep.axes.policy=[fifo]",
        "seeds=3",
        "batch_size=2",
        f"output_dir={output_dir}",
        "progress=false",
        *extra,
    )


def runner_cmd(*overrides: str) -> list[str]:
    """The command line of ``python -m paysim_runner <overrides>`` with this interpreter."""
    return [sys.executable, "-m", "paysim_runner", *overrides]


def runner_env() -> dict[str, str]:
    """This environment without RAY_ADDRESS (a child must not join a cluster someone else started), wide
    enough that rich does not wrap the lines the tests look for."""
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    env["COLUMNS"] = "200"
    return env


def run_runner(
    *overrides: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``python -m paysim_runner <overrides>`` in a subprocess (its own Ray), from ``cwd``."""
    return subprocess.run(
        runner_cmd(*overrides), cwd=cwd, env={**runner_env(), **(env or {})}, capture_output=True, text=True,
        timeout=timeout,
    )


@contextmanager
def runner_process(
    *overrides: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> Iterator[subprocess.Popen[str]]:
    """``python -m paysim_runner <overrides>`` running in a subprocess (output piped) while the block
    does something else; killed if it still runs when the block ends."""
    proc = subprocess.Popen(
        runner_cmd(*overrides), cwd=cwd, env={**runner_env(), **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)  # closes the pipes (a no-op once the block has read them)


def read_table(sweep_dir: Path, table: str, drop: Sequence[str] = ()) -> Any:
    """All batches of one table as one pyarrow table sorted like the run list."""
    files = sorted((sweep_dir / table).glob("batch=*/part.parquet"))
    t = pq.ParquetDataset(files).read() if files else None
    if t is not None and drop:
        t = t.drop_columns(list(drop))
    return t


def file_bytes(sweep_dir: Path, table: str) -> dict[str, bytes]:
    """batch directory name -> the bytes of its Parquet file, to show a rerun rewrote nothing."""
    return {p.parent.name: p.read_bytes() for p in sorted((sweep_dir / table).glob("batch=*/part.parquet"))}


def minimal_scenario(**extra: Any) -> dict[str, Any]:
    """The smallest valid scenario in the schema's spelling (two Fifo banks of 100), plus ``extra`` keys."""
    return {
        "simulation": {"ticks_per_day": 10, "seed": 3},
        "agents": [
            {"id": "A", "balance": 100, "policy": {"type": "Fifo"}},
            {"id": "B", "balance": 100, "policy": {"type": "Fifo"}},
        ],
        **extra,
    }

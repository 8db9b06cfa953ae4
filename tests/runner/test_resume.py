"""Resume: a sweep interrupted by Ctrl-C and then by a killed driver completes on re-run with the
same outputs as an uninterrupted sweep, and nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from paysim_runner import storage
from paysim_runner.driver import run_sweep
from tests.helpers import REPO
from tests.helpers.runner import file_bytes, hydra_config, read_table, run_runner, runner_cmd, runner_env

pytestmark = pytest.mark.slow  # two sweeps on Ray, one killed and resumed: 35-40 s

#: 2 cells x 30 seeds of a 3-day, 50-bank scenario, one run per batch: long enough to interrupt.
SWEEP = (
    "+sweep=lsm_vs_fifo",
    "scenario=fifty_bank_core_periphery",
    "scenario.simulation.num_days=3",
    "sweep.axes.policy=[fifo]",
    "seeds=30",
    "batch_size=1",
    "ray.num_cpus=1",
    "report=false",
)
TOTAL_BATCHES = 60


def _interrupt(output_dir: Path, sig: int, at_least: int) -> tuple[int, int]:
    """Start the driver, wait for ``at_least`` complete batches, send ``sig``; return (exit code, batches)."""
    sweep_dir = output_dir / "lsm_vs_fifo"
    proc = subprocess.Popen(
        runner_cmd(*SWEEP, f"output_dir={output_dir}"), cwd=REPO, env=runner_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(storage.completed_batches(sweep_dir)) < at_least:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the sweep never got going"
            time.sleep(0.02)
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        _end_session(proc.pid)
        proc.wait(timeout=30)
    return proc.returncode, len(storage.completed_batches(sweep_dir))


def _end_session(sid: int) -> None:
    """SIGKILL every process of the driver's session (its embedded Ray, whose workers each have their
    own process group): a killed driver cannot stop them, and a worker left alive could still
    finish a batch after we counted."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.getsid(int(entry)) == sid:
                        alive.append(int(entry))
                except (ProcessLookupError, PermissionError):
                    continue
        alive = [pid for pid in alive if not _zombie(pid)]
        if not alive:
            return
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    raise AssertionError(f"processes of session {sid} survived SIGKILL")


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _no_temporaries(sweep_dir: Path) -> bool:
    return not [p for p in sweep_dir.rglob("*") if p.name.startswith(".")]


def test_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path: Path, ray_session: Any) -> None:
    resumed_dir = tmp_path / "resumed"
    sweep_dir = resumed_dir / "lsm_vs_fifo"

    code, after_ctrl_c = _interrupt(resumed_dir, signal.SIGINT, at_least=1)
    assert code == 130
    assert 1 <= after_ctrl_c < TOTAL_BATCHES
    assert _no_temporaries(sweep_dir)
    first_files = file_bytes(sweep_dir, "runs")

    code, after_kill = _interrupt(resumed_dir, signal.SIGKILL, at_least=after_ctrl_c + 2)
    assert code == -signal.SIGKILL
    assert after_ctrl_c + 2 <= after_kill < TOTAL_BATCHES
    # batches finished before an interruption are never rewritten
    kept = file_bytes(sweep_dir, "runs")
    assert all(kept[b] == data for b, data in first_files.items())

    # ray.num_cpus only says how to run, not what: resuming on more CPUs is the same sweep
    done = run_runner(*SWEEP, f"output_dir={resumed_dir}", "ray.num_cpus=2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"resuming: {after_kill} runs already done" in done.stdout, done.stdout[:2000]
    assert len(storage.completed_batches(sweep_dir)) == TOTAL_BATCHES
    assert _no_temporaries(sweep_dir)
    final = file_bytes(sweep_dir, "runs")
    assert all(final[b] == data for b, data in kept.items())

    # the same sweep, uninterrupted (in-process, on the session's Ray)
    clean_dir = tmp_path / "clean"
    cfg = hydra_config(*SWEEP, f"output_dir={clean_dir}", "progress=false")
    run_sweep(cfg, console=Console(quiet=True))
    clean_sweep = clean_dir / "lsm_vs_fifo"

    # ticks and transactions: byte for byte; runs: every column but the wall-clock engine_seconds
    for table in ("ticks", "transactions"):
        assert file_bytes(sweep_dir, table) == file_bytes(clean_sweep, table), table
    resumed = read_table(sweep_dir, "runs", drop=["engine_seconds"])
    clean = read_table(clean_sweep, "runs", drop=["engine_seconds"])
    assert resumed.num_rows == TOTAL_BATCHES == len(set(resumed["run_id"].to_pylist()))
    assert resumed.equals(clean)

"""The driver under faults, as real processes: a second driver on a folder in use is refused in one
line naming the folder and the holder's pid; SIGTERM says how to resume as Ctrl-C does; a full disk
is one line, not a traceback."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from paysim_runner import storage
from paysim_runner.config import ConfigError
from paysim_runner.sweep.plan import build_plan
from paysim_runner.sweep.resources import check_memory
from paysim_runner.sweep_lock import LOCK_FILE
from tests.helpers import REPO
from tests.helpers.runner import hydra_config, run_runner, runner_cmd, runner_env

SWEEP = (
    "+sweep=lsm_vs_fifo", "scenario=fifty_bank_core_periphery", "scenario.simulation.num_days=3",
    "sweep.axes.policy=[fifo]", "seeds=30", "batch_size=1", "executor=inline", "report=false", "progress=false",
)


def _started_sweep(tmp_path: Path, stderr: int) -> subprocess.Popen[str]:
    """SWEEP as a driver process, returned once its first batch is complete."""
    proc = subprocess.Popen(runner_cmd(*SWEEP, f"output_dir={tmp_path}"), cwd=REPO, env=runner_env(),
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    deadline = time.monotonic() + 120
    while not storage.completed_batches(tmp_path / "lsm_vs_fifo"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate(timeout=30)
            raise AssertionError(f"the sweep never got going: {out}{err or ''}")
        time.sleep(0.02)
    return proc


def test_a_second_sweep_on_a_folder_in_use_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = _started_sweep(tmp_path, subprocess.STDOUT)
    sweep_dir = (tmp_path / "lsm_vs_fifo").resolve()  # the link to the folder the sweep made
    try:
        assert (sweep_dir / LOCK_FILE).read_text().strip() == str(first.pid)
        # the same sweep: before the lock it "resumed" alongside, deleting the first's temporary files
        second = run_runner(*SWEEP, f"output_dir={tmp_path}")
        assert first.poll() is None, "the first sweep must still be running"
        assert second.returncode == 2, second.stdout + second.stderr
        assert second.stderr.strip() == (
            f"error: output_dir: {sweep_dir} is in use by another sweep (pid {first.pid}); wait for it to "
            "finish or use another output_dir"
        )
        assert first.wait(timeout=240) == 0, first.stdout.read() if first.stdout else ""
    finally:
        first.kill()
        first.communicate(timeout=30)
    assert len(storage.completed_batches(sweep_dir)) == 60
    # freed when the holder exits: the same sweep now resumes with nothing to do
    again = run_runner(*SWEEP, f"output_dir={tmp_path}")
    assert again.returncode == 0, again.stderr
    assert "resuming: 60 runs already done" in again.stdout


def test_sigterm_prints_the_same_interrupted_line_as_ctrl_c(tmp_path: Path) -> None:
    proc = _started_sweep(tmp_path, subprocess.PIPE)
    sweep_dir = (tmp_path / "lsm_vs_fifo").resolve()
    try:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    done = len(storage.completed_batches(sweep_dir))
    assert 1 <= done < 60
    assert (f"interrupted: {done} of 60 batches complete in {sweep_dir}; run the same command again to resume"
            in stdout), stdout
    assert not list(sweep_dir.rglob("*.tmp"))


def test_a_full_disk_is_one_line_saying_how_to_resume(tmp_path: Path) -> None:
    """A 256 KiB tmpfs over the output folder, in a mount namespace of its own (root only)."""
    out = tmp_path / "small"
    out.mkdir()
    script = f'mount -t tmpfs -o size=256k tmpfs {out} && exec "$@"'
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                           *runner_cmd(*SWEEP, f"output_dir={out}")],
                          cwd=REPO, env=runner_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: output_dir: cannot write {out}/lsm_vs_fifo"), lines[0]
    assert "(No space left on device)" in lines[0], lines[0]
    assert "run the same command again to resume" in lines[0], lines[0]


def test_a_sweep_too_big_for_memory_is_refused_before_it_starts(tmp_path: Path) -> None:
    proc = run_runner("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo]", "seeds=2",
                      "scenario.simulation.ticks_per_day=1000000000", f"output_dir={tmp_path}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: logs.ticks: cell lsm_mode=none,policy=fifo: a batch would need about "), lines[0]
    assert "GiB, mostly for its tick log (10,000,000,000 rows per run" in lines[0], lines[0]
    assert not (tmp_path / "lsm_vs_fifo").exists()


def test_payments_too_many_for_memory_are_refused_without_the_tick_log(tmp_path: Path) -> None:
    """The engine holds every payment whether it is logged or not: no tick log is no way around the guard."""
    plan = build_plan(hydra_config("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo]", "seeds=2", "logs.ticks=false",
                                   "scenario.simulation.ticks_per_day=1000000000", f"output_dir={tmp_path}"))
    with pytest.raises(ConfigError) as info:
        check_memory(plan)
    message = str(info.value)
    assert message.startswith("scenario: cell lsm_mode=none,policy=fifo: a batch would need about "), message
    assert "GiB, mostly for its payments (about " in message, message
    assert "use fewer ticks" in message, message
    check_memory(build_plan(hydra_config("+sweep=lsm_vs_fifo", "logs.ticks=false", f"output_dir={tmp_path}")))

"""One sweep per folder: a second driver on a folder in use is refused in one line naming the
folder and the holder's pid, and neither mixes runs into nor deletes temporaries of the first."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from paysim_runner import storage
from paysim_runner.sweep_lock import LOCK_FILE
from tests.helpers import REPO
from tests.helpers.runner import run_runner, runner_cmd, runner_env

SWEEP = (
    "+sweep=lsm_vs_fifo", "scenario=fifty_bank_core_periphery", "scenario.simulation.num_days=3",
    "sweep.axes.policy=[fifo]", "seeds=30", "batch_size=1", "executor=inline", "report=false", "progress=false",
)


def test_a_second_sweep_on_a_folder_in_use_is_refused_naming_the_holder(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "lsm_vs_fifo"
    first = subprocess.Popen(runner_cmd(*SWEEP, f"output_dir={tmp_path}"), cwd=REPO, env=runner_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not storage.completed_batches(sweep_dir):
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            assert time.monotonic() < deadline, "the first sweep never got going"
            time.sleep(0.05)
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

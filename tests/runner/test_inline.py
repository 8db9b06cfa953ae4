"""The inline executor (``executor="inline"``): the same sweep as on Ray, run one batch after another
in the driver with no Ray, writes the same bytes, and a sweep may resume on either executor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from paysim_runner import storage
from paysim_runner.driver import run_sweep
from tests.helpers.runner import file_bytes, run_runner, small_sweep


def _manifest(sweep_dir: Path) -> dict[str, Any]:
    return json.loads((sweep_dir / storage.MANIFEST).read_text())


def test_inline_writes_the_bytes_ray_writes(tmp_path: Path, ray_session: Any) -> None:
    on_ray = run_sweep(small_sweep(tmp_path / "ray"), console=Console(quiet=True))
    inline = run_sweep(small_sweep(tmp_path / "inline"), executor="inline", console=Console(quiet=True))
    assert (on_ray.executed_runs, inline.executed_runs) == (6, 6)

    for table in ("ticks", "transactions"):
        assert file_bytes(inline.sweep_dir, table) == file_bytes(on_ray.sweep_dir, table), table
    # runs: every value, type and schema metadata but the wall-clock engine_seconds, batch by batch
    assert sorted(file_bytes(inline.sweep_dir, "runs")) == sorted(file_bytes(on_ray.sweep_dir, "runs"))
    for batch in range(3):
        mine, theirs = (pq.read_table(storage.batch_file(r.sweep_dir, "runs", batch)) for r in (inline, on_ray))
        assert mine.schema.equals(theirs.schema, check_metadata=True)
        assert mine.drop_columns(["engine_seconds"]).equals(theirs.drop_columns(["engine_seconds"]))
        assert min(mine["engine_seconds"].to_pylist()) > 0

    # the manifests differ only in where and how the sweep ran
    ray_manifest, inline_manifest = _manifest(on_ray.sweep_dir), _manifest(inline.sweep_dir)
    assert inline_manifest["config"]["executor"] == "inline"
    assert ray_manifest["config"]["executor"] == "ray"
    where_and_how = {"output_dir", "executor"}
    for manifest in (ray_manifest, inline_manifest):
        manifest["config"] = {k: v for k, v in manifest["config"].items() if k not in where_and_how}
    assert inline_manifest == ray_manifest


def test_a_sweep_run_inline_is_complete_for_ray(tmp_path: Path) -> None:
    """The executor says how, not what: an inline sweep resumes on Ray with nothing left to run (so
    Ray is never started), and a half-done one finishes inline where it stopped."""
    config = small_sweep(tmp_path)
    first = run_sweep(config, executor="inline", console=Console(quiet=True))
    before = {t: file_bytes(first.sweep_dir, t) for t in storage.TABLES}
    again = run_sweep(config, executor="ray", console=Console(quiet=True))
    assert (again.executed_runs, again.skipped_runs) == (0, 6)
    assert {t: file_bytes(first.sweep_dir, t) for t in storage.TABLES} == before

    storage.batch_file(first.sweep_dir, "runs", 2).unlink()  # batch 2 never completed
    resumed = run_sweep(config, executor="inline", console=Console(quiet=True))
    assert (resumed.executed_runs, resumed.skipped_runs) == (2, 4)
    for table in ("ticks", "transactions"):
        assert file_bytes(first.sweep_dir, table) == before[table], table


@pytest.mark.slow  # a whole sweep through `python -m paysim_runner`: 3-4.5 s
def test_executor_inline_from_the_command_line_never_joins_ray(tmp_path: Path) -> None:
    """RAY_ADDRESS names a closed port: the Ray executor fails on it at once (test_main), the inline
    one never looks at it."""
    proc = run_runner(
        "+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo]", "seeds=2", "batch_size=3", "executor=inline",
        "output_dir=results", cwd=tmp_path, env={"RAY_ADDRESS": "127.0.0.1:1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "inline: batches run one after another in this process (no Ray)" in proc.stdout
    assert "Ray start-up" not in proc.stdout
    assert "ran 4 runs in " in proc.stdout
    sweep_dir = tmp_path / "results" / "lsm_vs_fifo"
    assert storage.completed_batches(sweep_dir) == {0, 1}
    assert (sweep_dir / "report.md").is_file()
    assert _manifest(sweep_dir)["config"]["executor"] == "inline"

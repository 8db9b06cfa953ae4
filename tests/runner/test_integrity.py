"""Resume and report trust only verified files: a changed input file refuses the resume, and a
truncated or bit-flipped batch file is recomputed on resume and refused by the report (issue 12)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from paysim_runner import storage
from paysim_runner.config import ConfigError
from paysim_runner.driver import create_output_dir, prepare, run_sweep
from paysim_runner.report.model import ReportError
from tests.helpers.runner import file_bytes, read_table, small_sweep

ROWS = "".join(f"BANK_A,BANK_B,{1000 + i},{i}\nBANK_B,BANK_A,{900 + i},{i + 1}\n" for i in range(20))


def _csv_sweep(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    csv = tmp_path / "day.csv"
    csv.write_text("sender,receiver,amount,arrival_tick\n" + ROWS)
    return small_sweep(tmp_path / "out", "scenario=two_bank", f"+scenario.scheduled_payments_file={csv}"), csv


def test_the_manifest_records_the_sha256_of_the_scheduled_payments_file(tmp_path: Path) -> None:
    config, csv = _csv_sweep(tmp_path)
    manifest = prepare(config)[2]
    assert manifest["input_files"] == {str(csv.resolve()): hashlib.sha256(csv.read_bytes()).hexdigest()}


def test_a_halved_scheduled_payments_file_refuses_the_resume(tmp_path: Path) -> None:
    config, csv = _csv_sweep(tmp_path)
    _, sweep_dir, manifest = prepare(config)
    create_output_dir(sweep_dir, manifest)
    prepare(config)  # unchanged: resumable
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[: len(lines) // 2]))
    with pytest.raises(ConfigError) as info:
        prepare(config)
    assert str(info.value) == (
        f"output_dir: {sweep_dir} holds a different sweep (differs in the contents of {csv.resolve()}); "
        "use another output_dir or sweep.folder, or delete that folder"
    )


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _flip_bit], ids=["truncated", "bit-flipped"])
@pytest.mark.parametrize("table", ["ticks", "runs"])
def test_resume_recomputes_exactly_the_damaged_batch(tmp_path: Path, damage: Any, table: str) -> None:
    config = small_sweep(tmp_path / "out", "report=false")
    quiet = Console(quiet=True)
    sweep_dir = run_sweep(config, executor="inline", console=quiet).sweep_dir
    before = {t: file_bytes(sweep_dir, t) for t in ("ticks", "runs")}
    expected = read_table(sweep_dir, "runs", drop=["engine_seconds"])
    damage(storage.batch_file(sweep_dir, table, 1))
    assert storage.completed_batches(sweep_dir) == {0, 2}

    result = run_sweep(config, executor="inline", console=quiet)
    assert result.executed_runs == 2  # batch 1 only (2 runs of the 6)
    assert storage.completed_batches(sweep_dir) == {0, 1, 2}
    assert read_table(sweep_dir, "runs", drop=["engine_seconds"]).equals(expected)
    assert file_bytes(sweep_dir, "ticks") == before["ticks"]  # no engine_seconds there: byte-equal
    for other in ("batch=00000", "batch=00002"):  # untouched batches are not rewritten
        assert file_bytes(sweep_dir, "runs")[other] == before["runs"][other]


@pytest.mark.parametrize("damage", [_truncate, _flip_bit], ids=["truncated", "bit-flipped"])
def test_the_report_refuses_a_damaged_batch_file_naming_it(tmp_path: Path, damage: Any) -> None:
    from paysim_runner.report import build_report

    sweep_dir = run_sweep(small_sweep(tmp_path / "out", "report=false"), executor="inline",
                          console=Console(quiet=True)).sweep_dir
    damaged = storage.batch_file(sweep_dir, "transactions", 2)
    damage(damaged)
    with pytest.raises(ReportError) as info:
        build_report(sweep_dir, Console(quiet=True))
    message = str(info.value)
    assert "\n" not in message, message
    assert str(damaged) in message, message


def test_the_report_refuses_a_parquet_file_no_batch_record_names(tmp_path: Path) -> None:
    from paysim_runner.report import build_report

    sweep_dir = run_sweep(small_sweep(tmp_path / "out", "report=false"), executor="inline",
                          console=Console(quiet=True)).sweep_dir
    stray = storage.batch_file(sweep_dir, "runs", 7)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(storage.batch_file(sweep_dir, "runs", 0).read_bytes())
    with pytest.raises(ReportError) as info:
        build_report(sweep_dir, Console(quiet=True))
    assert str(stray) in str(info.value)
    assert "in no batch record" in str(info.value)


def test_paysim_report_on_a_flipped_bit_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Before: the flipped bit changed a reported mean, exit 0."""
    sweep_dir = run_sweep(small_sweep(tmp_path / "out", "report=false"), executor="inline",
                          console=Console(quiet=True)).sweep_dir
    damaged = storage.batch_file(sweep_dir, "runs", 0)
    _flip_bit(damaged)
    proc = subprocess.run([sys.executable, "-m", "paysim_runner.cli", "report", str(sweep_dir)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(damaged) in lines[0], proc.stderr
    assert not (sweep_dir / "report.md").exists()

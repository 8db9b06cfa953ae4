"""benchmarks/driver_probe.py, which benchmarks/runner.py trusts for the driver's peak RSS and
write throughput, runs the real command and reports what the driver actually wrote (inline
executor: no Ray, so the figures are this one process's)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from paysim_runner import storage
from tests.helpers import REPO
from tests.helpers.runner import runner_env

PROBE = REPO / "benchmarks" / "driver_probe.py"


def test_probe_reports_the_bytes_and_rows_the_batch_records_hold(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PROBE), "scenario=bench_10", "seeds=5", "batch_size=2", "executor=inline",
         f"output_dir={tmp_path}", "report=false", "progress=false"],
        cwd=REPO, env=runner_env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ran 5 runs" in proc.stdout  # the real command ran, with its own output
    line = re.search(r"driver probe: (.*)", proc.stderr)
    assert line is not None, proc.stderr[-2000:]
    probe = dict(kv.split("=") for kv in line.group(1).split())

    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "single" / storage.RECORDS).glob("*.json"))]
    assert len(records) == 3  # batches of 2, 2 and 1 runs
    files = [f for record in records for f in record["files"].values()]
    assert int(probe["bytes"]) == sum(f["bytes"] for f in files) > 0
    assert int(probe["rows"]) == sum(f["rows"] for f in files) > 5 * 1000  # 1,000 tick rows a run
    assert float(probe["write_seconds"]) > 0
    assert 50 * 1024 < int(probe["peak_rss_kib"]) < 4 * 2**20  # KiB: a Python with pyarrow, not bytes or MiB

"""benchmarks/lsm.py stays runnable: its --quick mode produces every figure of docs/performance.md#lsm (no timing is
asserted here; the budgets are judged by the script's full run, not by tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lsm.py"


def test_quick_lsm_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "lsm.json"
    child = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(out.read_text())
    names = [f["name"] for f in report["figures"]]
    for expected in ("queue 50: optimal LSM tick", "queue 50: t2 share of optimum", "queue 500: optimal LSM tick",
                     "queue 500: t2 share of optimum", "engine seconds, t2", "engine seconds, t2_classic",
                     "engine seconds, optimal", "optimal / t2 engine time"):
        assert any(expected in name for name in names), expected
    for figure in report["figures"]:
        assert figure["measured"] > 0, figure["name"]
        assert figure["verdict"] in ("PASS", "MISS", "-")
    queue_500 = next(f for f in report["figures"] if f["name"] == "queue 500: optimal LSM tick")
    assert queue_500["budget"] == 50.0  # the 500-payment budget is judged even in quick mode
    assert "queue 500: optimal LSM tick" in child.stdout  # the table is printed too

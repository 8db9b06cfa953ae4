"""benchmarks/engine.py stays runnable: its --quick mode produces every figure of docs/performance.md (no timing is
asserted here; the budgets of docs/performance.md#budgets are judged by the script's full run, not by tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "engine.py"


def test_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    child = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(out.read_text())
    names = [f["name"] for f in report["figures"]]
    for expected in ("bench_10 run()", "bench_10 tick() loop", "bench_100 tick() loop", "engine seconds",
                     "peak RSS", "payments/s", "per-tick cost", "wide day", "Orchestrator.new", "-bank ring",
                     "run() / t2_day's", "Orchestrator.new memory",
                     "tick log every tick: engine + logs per payment", "tick log day_end: engine + logs per bank",
                     "no liquidity, expired kept", "extreme gridlock", "tight liquidity ÷ t2_day"):
        assert any(expected in name for name in names), expected
    assert any(name.startswith("bench_10 tick_n(") for name in names)
    for figure in report["figures"]:
        assert figure["measured"] > 0
        assert figure["verdict"] in ("PASS", "MISS", "-")
    assert "bench_10 run()" in child.stdout  # the table is printed too

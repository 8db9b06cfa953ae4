"""The report's headline figures: which ones a sweep gets by its shape, and the intraday and
per-bank numbers behind them, checked against a recomputation from the Parquet files (numpy)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import matplotlib.image
import numpy as np
import pyarrow.dataset as ds
import pytest
from rich.console import Console

from paysim_runner.report import CellSummary, Estimate, PairedSummary, Report, build_report
from paysim_runner.report.curves import TOP_BANKS, Curves, query_curves
from paysim_runner.report.figures import render_figures
from paysim_runner.report.source import load_manifest
from tests.helpers.results import run_real_sweep
from tests.report.test_report_sweep import OPENING, SCENARIO, TICKS_PER_DAY

METRICS = ("settlement_rate", "value_settlement_rate", "delay_indicator", "liquidity_used", "cost_total",
           "cost_delay")


def _report(axes: dict[str, list[object]], compare: list[dict[str, object]]) -> Report:
    """A report of the cartesian grid of ``axes`` with made-up estimates (no SQL)."""
    grid: list[dict[str, object]] = [{}]
    for axis, values in axes.items():
        grid = [{**g, axis: v} for g in grid for v in values]
    est = Estimate(n=3, mean=0.5, sd=0.1, ci_low=0.4, ci_high=0.6, half_width=0.1)
    cells = [CellSummary(i, ",".join(f"{a}={v}" for a, v in p.items()), p, 3, 3, dict.fromkeys(METRICS, est))
             for i, p in enumerate(grid)]
    paired = [PairedSummary(c["axis"], c["baseline"], cell.cell_id, cell.cell, 0, cells[0].cell, 3,
                            dict.fromkeys(METRICS, est))
              for c in compare for cell in cells[1:2]]
    return Report(Path("."), "s", list(axes), compare, cells, paired, {}, plots=None)


def test_a_numeric_axis_gets_curves_and_no_stacked_bars() -> None:
    report = _report({"liquidity_fraction": [0.0, 0.5, 1.0], "lsm_mode": ["none", "t2"]},
                     [{"axis": "lsm_mode", "baseline": "none"}])
    names = [f.name for f in render_figures(report, Curves())]
    assert names == ["cell_means.png", "paired_lsm_mode.png", "cost_vs_liquidity_fraction.png",
                     "liquidity_delay.png"]


def test_categorical_axes_get_stacked_cost_bars_and_one_forest_plot_per_comparison() -> None:
    report = _report({"lsm_mode": ["none", "t2"], "policy": ["fifo", "deadline"]},
                     [{"axis": "lsm_mode", "baseline": "none"}, {"axis": "policy", "baseline": "fifo"}])
    names = [f.name for f in render_figures(report, Curves())]
    assert names == ["cell_means.png", "paired_lsm_mode.png", "paired_policy.png", "cost_breakdown.png"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    return run_real_sweep(out, "fig", SCENARIO, {"lsm": {"mode": ["none", "t2"]}}, seeds=3,
                          compare={"axis": "lsm.mode", "baseline": "none"})


def _table(sweep: Path, name: str) -> dict[str, np.ndarray]:
    data = ds.dataset(sweep / name, format="parquet", partitioning="hive").to_table()
    return {c: data.column(c).to_numpy(zero_copy_only=False) for c in data.column_names}


def test_intraday_curves_equal_the_recomputation_from_ticks(sweep: Path) -> None:
    ticks = _table(sweep, "ticks")
    opening = np.array([OPENING[b] for b in ticks["bank"]])
    in_use = np.maximum(opening - ticks["balance"], 0)
    per_run: dict[tuple[int, str, int], dict[str, float]] = defaultdict(lambda: {"q": 0.0, "l": 0.0})
    for cell, run, tick, q, used in zip(ticks["cell_id"], ticks["run_id"], ticks["tick"], ticks["queue2_value"],
                                        in_use, strict=True):
        per_run[(int(cell), str(run), int(tick))]["q"] += q
        per_run[(int(cell), str(run), int(tick))]["l"] += used
    curves = query_curves(sweep, load_manifest(sweep))
    assert len(curves.intraday) == 2 * 2 * TICKS_PER_DAY  # cells x metrics x ticks
    assert any(r["mean"] > 0 for r in curves.intraday if r["metric"] == "queue2_value")
    for r in curves.intraday:
        key = "q" if r["metric"] == "queue2_value" else "l"
        values = np.array([v[key] for (c, _, t), v in per_run.items() if c == r["cell_id"] and t == r["tick"]])
        assert r["n"] == len(values) == 3
        assert r["mean"] == pytest.approx(values.mean())
        assert r["sd"] == pytest.approx(values.std(ddof=1), abs=1e-9)


def test_per_bank_views_rank_the_banks_by_recomputed_figures(sweep: Path) -> None:
    ticks = _table(sweep, "ticks")
    opening = np.array([OPENING[b] for b in ticks["bank"]])
    in_use = np.maximum(opening - ticks["balance"], 0)
    peaks: dict[str, list[float]] = defaultdict(list)
    for bank in OPENING:
        for run in np.unique(ticks["run_id"]):
            peaks[bank].append(float(in_use[(ticks["bank"] == bank) & (ticks["run_id"] == run)].max()))
    curves = query_curves(sweep, load_manifest(sweep))
    ranked = sorted(OPENING, key=lambda b: (-np.mean(peaks[b]), b))[:TOP_BANKS]
    assert [r["bank"] for r in curves.bank_liquidity] == ranked
    for r in curves.bank_liquidity:
        assert r["mean"] == pytest.approx(np.mean(peaks[r["bank"]]))
    delays = [r["mean"] for r in curves.bank_delay]
    assert sorted(OPENING) == sorted(r["bank"] for r in curves.bank_delay)
    assert delays == sorted(delays, reverse=True)
    assert all(0.0 <= d <= 1.0 for d in delays)


def test_every_figure_is_a_png_linked_from_report_md(sweep: Path) -> None:
    report = build_report(sweep, console=Console(quiet=True))
    pngs = sorted(p.name for p in report.files if p.suffix == ".png")
    assert pngs == ["banks.png", "cell_means.png", "cost_breakdown.png", "intraday.png", "paired_lsm_mode.png"]
    md = (sweep / "report.md").read_text()
    assert sorted(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)) == pngs  # relative links, each once
    for name in pngs:
        image = matplotlib.image.imread(sweep / name)
        assert image[..., :3].std() > 0  # not blank
    assert "### intraday" in md
    assert "### bank delay" in md

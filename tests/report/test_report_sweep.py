"""The report over real engine sweeps, checked against an independent recomputation from the
``transactions`` and ``ticks`` tables (pyarrow + numpy, no DuckDB)."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from rich.console import Console

from paysim_runner.report import (
    COST_COMPONENTS,
    HEADLINE_METRICS,
    REPORT_METRICS,
    CellSummary,
    Estimate,
    Report,
    build_report,
    liquidity_axis,
    open_views,
)
from paysim_runner.report.build import compute_report
from paysim_runner.report.source import load_manifest
from paysim_runner.report.tables import cells_csv, paired_csv
from paysim_runner.report.terminal import _terminal_number
from tests.helpers.results import run_real_sweep

T_0975_4 = 2.776445  # Student t, 97.5% quantile, 4 dof: five seeds per cell
SEEDS = 5
TICKS_PER_DAY = 40
BANKS = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"]
OPENING = {"BANK_A": 120_000, "BANK_B": 60_000, "BANK_C": 90_000, "BANK_D": 30_000}

#: Four banks short of liquidity, divisible lognormal payments with deadlines inside the day, so
#: runs have queueing, LSM settlements, splits, deadline drops and end-of-day drops to account for.
SCENARIO: dict[str, Any] = {
    "simulation": {"ticks_per_day": TICKS_PER_DAY, "num_days": 1, "seed": 1},
    "agents": [
        {
            "id": bank,
            "balance": OPENING[bank],
            "credit_limit": 20_000,
            "policy": {"type": "Fifo"},
            "arrival_config": {
                "rate_per_tick": 0.5,
                "distribution": {"type": "LogNormal", "mean_log": 10.5, "std_dev_log": 0.7},
                "deadline_offset": 12,
                "divisible": True,
            },
        }
        for bank in BANKS
    ],
    "costs": {
        "liquidity_cost_per_unit_per_tick": 0.0001,
        "delay_cost_per_tick": 0.00001,
        "collateral_cost_per_unit_per_tick": 0.00001,
        "split_friction_cost": 3.0,
        "deadline_penalty": 500.0,
        "eod_penalty": 1000.0,
    },
}
AXES = {"lsm": {"mode": ["none", "t2"]}, "policy": ["fifo", "splitting"]}
#: Paired differences along both axes: LSM t2 against none, and splitting against fifo.
COMPARE = [{"axis": "lsm.mode", "baseline": "none"}, {"axis": "policy", "baseline": "fifo"}]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    return run_real_sweep(out, "crn", SCENARIO, AXES, seeds=SEEDS, compare=COMPARE)


@pytest.fixture(scope="module")
def report(sweep: Path) -> Report:
    return build_report(sweep, console=Console(quiet=True))


def _read(sweep: Path, table: str) -> dict[str, np.ndarray]:
    data = ds.dataset(sweep / table, format="parquet", partitioning="hive").to_table()
    return {name: data.column(name).to_numpy(zero_copy_only=False) for name in data.column_names}


def recompute_from_transactions(sweep: Path) -> dict[str, dict[str, float]]:
    """Per run: settlement rate, value settlement rate and delay indicator by docs/semantics.md#metrics.

    The settlement rate counts original payments: a split payment is settled once all its parts
    are. Values and the delay indicator count what moves, so split parents are left out there
    (their parts carry the value). The delay indicator is Σv·(settle − arrival) / Σv·(eod − arrival),
    eod the last tick of the arrival's day; a payment that never settled counts as settling at that
    eod (maximal delay).
    """
    everything = ds.dataset(sweep / "transactions", format="parquet", partitioning="hive").to_table()
    rid_all = everything["run_id"].to_numpy(zero_copy_only=False)
    status_all = everything["status"].to_numpy(zero_copy_only=False)
    parent = everything["parent_id"].fill_null(-1).to_numpy()
    tx_id = everything["tx_id"].to_numpy()
    original_settled: dict[str, list[bool]] = defaultdict(list)
    for i in np.flatnonzero(parent == -1):
        if status_all[i] == "split":
            parts = (rid_all == rid_all[i]) & (parent == tx_id[i])
            original_settled[str(rid_all[i])].append(bool((status_all[parts] == "settled").all()))
        else:
            original_settled[str(rid_all[i])].append(status_all[i] == "settled")
    tx = everything.filter(pc.not_equal(everything["status"], "split"))
    run_id = tx["run_id"].to_numpy(zero_copy_only=False)
    status = tx["status"].to_numpy(zero_copy_only=False)
    amount = tx["amount"].to_numpy().astype(np.float64)
    arrival = tx["arrival_tick"].to_numpy().astype(np.float64)
    settle_tick = tx["settle_tick"].fill_null(-1).to_numpy().astype(np.float64)
    settled = status == "settled"
    eod = (arrival // TICKS_PER_DAY + 1) * TICKS_PER_DAY - 1
    settle = np.where(settled, settle_tick, eod)
    out: dict[str, dict[str, float]] = {}
    for rid in np.unique(run_id):
        m = run_id == rid
        out[str(rid)] = {
            "settlement_rate": float(np.mean(original_settled[str(rid)])),
            "value_settlement_rate": amount[m & settled].sum() / amount[m].sum(),
            "delay_indicator": (amount[m] * (settle[m] - arrival[m])).sum() / (amount[m] * (eod[m] - arrival[m])).sum(),
        }
    return out


def recompute_from_ticks(sweep: Path) -> dict[str, dict[str, float]]:
    """Per run: liquidity used (Σ banks of max over ticks of opening − balance, floored at 0) and
    each cost component (Σ over ticks and banks)."""
    ticks = _read(sweep, "ticks")
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for rid in np.unique(ticks["run_id"]):
        m = ticks["run_id"] == rid
        used = 0
        for bank in BANKS:
            b = m & (ticks["bank"] == bank)
            used += max(0, int((OPENING[bank] - ticks["balance"][b]).max()))
        out[str(rid)]["liquidity_used"] = used
        for c in COST_COMPONENTS:
            out[str(rid)][c] = float(ticks[c][m].sum())
        out[str(rid)]["cost_total"] = sum(out[str(rid)][c] for c in COST_COMPONENTS)
    return out


def _runs(sweep: Path) -> dict[str, tuple[int, int]]:
    runs = _read(sweep, "runs")
    return {str(r): (int(c), int(p)) for r, c, p in zip(runs["run_id"], runs["cell_id"], runs["rep"], strict=True)}


def _check_estimate(estimate: Estimate, values: list[float]) -> None:
    values_arr = np.asarray(values, dtype=np.float64)
    assert estimate.n == len(values_arr)
    assert estimate.mean == pytest.approx(values_arr.mean(), rel=1e-9, abs=1e-12)
    half = T_0975_4 * values_arr.std(ddof=1) / math.sqrt(len(values_arr))  # t from the tables, 7 digits
    assert estimate.ci_high - estimate.mean == pytest.approx(half, rel=1e-6, abs=1e-12)
    assert estimate.mean - estimate.ci_low == pytest.approx(half, rel=1e-6, abs=1e-12)


def test_the_sweep_exercises_what_the_recomputation_must_get_right(sweep: Path) -> None:
    tx = _read(sweep, "transactions")
    statuses = set(tx["status"])
    assert {"settled", "dropped", "split"} <= statuses
    assert {"deadline", "eod"} <= set(r for r in tx["drop_reason"] if r is not None)
    assert {"rtgs", "queue"} <= set(v for v in tx["settled_via"] if v is not None)
    assert set(v for v in tx["settled_via"] if v is not None) & {"bilateral", "multilateral"}


def test_cell_statistics_equal_the_recomputation_from_transactions(sweep: Path, report: Report) -> None:
    per_run = recompute_from_transactions(sweep)
    runs = _runs(sweep)
    assert set(per_run) == set(runs)
    for cell in report.cells:
        assert cell.n_runs == SEEDS
        ids = [r for r, (c, _) in runs.items() if c == cell.cell_id]
        for metric in ("settlement_rate", "value_settlement_rate", "delay_indicator"):
            _check_estimate(cell.stats[metric], [per_run[r][metric] for r in ids])


def test_costs_equal_the_recomputation_from_ticks(sweep: Path, report: Report) -> None:
    per_run = recompute_from_ticks(sweep)
    runs = _runs(sweep)
    for cell in report.cells:
        ids = [r for r, (c, _) in runs.items() if c == cell.cell_id]
        for metric in ("cost_total", *COST_COMPONENTS):
            _check_estimate(cell.stats[metric], [per_run[r][metric] for r in ids])


def test_liquidity_used_equals_the_runs_table_and_bounds_the_tick_balances(sweep: Path, report: Report) -> None:
    """The engine tracks each bank's lowest balance within a tick too, which the end-of-tick balances
    of ``ticks`` cannot show: they give a lower bound of the run's liquidity used."""
    per_run = recompute_from_ticks(sweep)
    runs = _read(sweep, "runs")
    used = dict(zip(runs["run_id"], runs["liquidity_used"], strict=True))
    for rid, figures in per_run.items():
        assert used[rid] >= figures["liquidity_used"]
    for cell in report.cells:
        _check_estimate(cell.stats["liquidity_used"],
                        [used[r] for r, c in zip(runs["run_id"], runs["cell_id"], strict=True) if c == cell.cell_id])


def test_paired_differences_equal_the_recomputation_by_replication(sweep: Path, report: Report) -> None:
    per_run = recompute_from_transactions(sweep)
    runs = _runs(sweep)
    by_cell_rep = {(c, p): r for r, (c, p) in runs.items()}
    assert report.compare == [{"axis": "lsm_mode", "baseline": "none"}, {"axis": "policy", "baseline": "fifo"}]
    # t2 against none under each policy, splitting against fifo under each LSM mode
    assert [(p.axis, p.cell, p.baseline_cell) for p in report.paired] == [
        ("lsm_mode", "lsm_mode=t2,policy=fifo", "lsm_mode=none,policy=fifo"),
        ("lsm_mode", "lsm_mode=t2,policy=splitting", "lsm_mode=none,policy=splitting"),
        ("policy", "lsm_mode=none,policy=splitting", "lsm_mode=none,policy=fifo"),
        ("policy", "lsm_mode=t2,policy=splitting", "lsm_mode=t2,policy=fifo"),
    ]
    for pair in report.paired:
        treated, base = report.cell(pair.cell_id), report.cell(pair.baseline_cell_id)
        other = "policy" if pair.axis == "lsm_mode" else "lsm_mode"
        assert base.params[pair.axis] == pair.baseline != treated.params[pair.axis]
        assert treated.params[other] == base.params[other]
        assert pair.n_pairs == SEEDS
        for metric in ("settlement_rate", "value_settlement_rate", "delay_indicator"):
            treated_runs = [per_run[by_cell_rep[(pair.cell_id, rep)]] for rep in range(SEEDS)]
            base_runs = [per_run[by_cell_rep[(pair.baseline_cell_id, rep)]] for rep in range(SEEDS)]
            diffs = [t[metric] - b[metric] for t, b in zip(treated_runs, base_runs, strict=True)]
            _check_estimate(pair.diffs[metric], diffs)


def test_common_random_numbers_same_arrivals_in_every_cell(sweep: Path) -> None:
    """What makes the pairing meaningful: replication r sees the same payment orders everywhere."""
    with open_views(sweep) as con:
        distinct = con.execute(
            """SELECT rep, count(DISTINCT fingerprint) FROM (
                 SELECT rep, cell_id,
                        string_agg(sender || receiver || arrival_tick || ':' || amount, ',' ORDER BY tx_id)
                          AS fingerprint
                 FROM transactions WHERE parent_id IS NULL GROUP BY rep, cell_id)
               GROUP BY rep ORDER BY rep"""
        ).fetchall()
    assert distinct == [(rep, 1) for rep in range(SEEDS)]


def test_views_answer_the_readme_queries(sweep: Path) -> None:
    with open_views(sweep) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (4 * SEEDS,)
        by_means = con.execute(
            "SELECT settled_via, count(*) FROM transactions WHERE status = 'settled' GROUP BY ALL ORDER BY 1"
        ).fetchall()
        assert sum(n for _, n in by_means) > 0
        peak = con.execute(
            "SELECT bank, max(credit_used) FROM ticks GROUP BY bank ORDER BY bank"
        ).fetchall()
        assert [b for b, _ in peak] == BANKS
        assert all(0 <= used <= 20_000 for _, used in peak)


def test_report_files_over_a_real_sweep(sweep: Path, report: Report) -> None:
    names = {p.name for p in report.files}
    # two categorical axes: stacked cost bars, no trade-off curve; both compared axes get a forest plot
    assert names == {"report_cells.csv", "report_paired.csv", "report.html", "cell_means.png", "paired_lsm_mode.png",
                     "paired_policy.png", "cost_breakdown.png", "intraday.png", "banks.png", "report.md"}
    image = matplotlib.image.imread(sweep / "cost_breakdown.png")
    assert image.shape[0] > 100
    assert image[..., :3].std() > 0
    md = (sweep / "report.md").read_text()
    assert "| lsm_mode=t2,policy=fifo − lsm_mode=none,policy=fifo | 5 |" in md
    # one paired section per compare entry, each listing only its own pairs
    lsm_part, policy_part = md.split("## Paired differences against `lsm_mode` = `none`")[1].split(
        "## Paired differences against `policy` = `fifo`")
    assert "policy=splitting − lsm_mode=none,policy=splitting" in lsm_part
    assert "lsm_mode=t2,policy=splitting − lsm_mode=t2,policy=fifo | 5 |" in policy_part.split("## Figures")[0]
    assert "policy=splitting − lsm_mode=t2,policy=fifo" not in lsm_part
    with (sweep / "report_paired.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["axis"], r["baseline"]) for r in rows} == {("lsm_mode", "none"), ("policy", "fifo")}
    assert len(rows) == 4 * len(REPORT_METRICS)
    assert "liquidity_delay.png" not in md  # no liquidity axis in this sweep


def test_the_same_runs_give_the_same_figures_to_the_last_digit(sweep: Path) -> None:
    """Means and sds over many Parquet batches: a parallel sum would add them in a varying order."""
    manifest = load_manifest(sweep)
    builds = [compute_report(sweep, manifest) for _ in range(4)]
    assert len({cells_csv(r) for r in builds}) == 1
    assert len({paired_csv(r) for r in builds}) == 1


def test_terminal_shows_one_paired_table_per_compared_axis(sweep: Path) -> None:
    console = Console(record=True, width=120)
    build_report(sweep, console=console)
    text = console.export_text()
    lsm, policy = text.split("paired differences vs lsm_mode=none")[1].split("paired differences vs policy=fifo")
    assert lsm.count("splitting") == 1  # t2 − none under fifo and under splitting
    assert "t2" in lsm
    assert policy.count("splitting") == 2  # splitting − fifo under none and under t2


def test_terminal_figures_are_never_folded_at_80_columns(sweep: Path) -> None:
    """Every figure of the terminal tables appears whole on one line of an 80-column terminal."""
    console = Console(record=True, width=80)
    report = build_report(sweep, console=console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    fragments = {part.strip() for line in text.splitlines() for part in line.split("│")}
    expected = set()
    shown = [(c.stats, REPORT_METRICS) for c in report.cells] + [(p.diffs, HEADLINE_METRICS) for p in report.paired]
    for estimates, metrics in shown:
        for metric in metrics:
            e = estimates[metric]
            mark = "*" if metrics is HEADLINE_METRICS and e.excludes_zero else ""  # paired rows mark significance
            expected |= {_terminal_number(e.mean, metric) + mark, "±" + _terminal_number(e.half_width, metric)}
    assert expected <= fragments, sorted(expected - fragments)


def test_liquidity_sweep_gets_the_liquidity_delay_curve(tmp_path: Path) -> None:
    scenario = {**SCENARIO, "agents": [{**a, "arrival_config": {**a["arrival_config"], "deadline_offset": 100}}
                                        for a in SCENARIO["agents"]]}
    axes = {"liquidity_fraction": [0.0, 0.5, 1.0], "lsm": {"mode": ["none", "t2"]}}
    sweep = run_real_sweep(tmp_path, "ld", scenario, axes,
                           seeds=3, compare={"axis": "lsm.mode", "baseline": "none"}, fixed={"policy": "fifo"})
    report = build_report(sweep, console=Console(quiet=True))
    assert (sweep / "liquidity_delay.png") in report.files
    image = matplotlib.image.imread(sweep / "liquidity_delay.png")
    assert image.shape[1] > 500
    assert image[..., :3].std() > 0
    at_upper = [c for c in report.cells if c.params["liquidity_fraction"] == 1.0]
    assert all(c.stats["delay_indicator"].mean == 0.0 for c in at_upper)
    md = (sweep / "report.md").read_text()
    assert "![Liquidity–delay curve over `liquidity_fraction`](liquidity_delay.png)" in md


def test_the_liquidity_delay_curve_is_drawn_over_the_axis_the_sweep_declares(tmp_path: Path) -> None:
    """No guessing from axis names: an axis named like a balance is not a liquidity level unless the
    sweep says so (``plot: {liquidity_delay: {x: AXIS}}``)."""
    axes = {"agents.*.balance": [30_000, 120_000], "lsm": {"mode": ["none", "t2"]}}
    plain = run_real_sweep(tmp_path / "plain", "bal", SCENARIO, axes, seeds=2)
    report = build_report(plain, console=Console(quiet=True))
    assert report.plots == {}
    assert not (plain / "liquidity_delay.png").exists()

    declared = run_real_sweep(tmp_path / "declared", "bal", SCENARIO, axes, seeds=2,
                              plot={"liquidity_delay": {"x": "agents.*.balance"}})
    report = build_report(declared, console=Console(quiet=True))
    assert report.plots == {"liquidity_delay": {"x": "agents_all_balance"}}
    assert (declared / "liquidity_delay.png") in report.files
    assert "over `agents_all_balance`" in (declared / "report.md").read_text()


def test_manifests_without_plots_fall_back_to_the_liquidity_axis_names() -> None:
    def report(axes: list[str], plots: dict | None) -> Report:
        cells = [CellSummary(i, f"c{i}", {a: float(i) for a in axes}, 1, 1, {}) for i in range(3)]
        return Report(Path("."), "s", axes, [], cells, [], {}, plots=plots)

    assert liquidity_axis(report(["balance_scale", "x"], None)) == "balance_scale"
    assert liquidity_axis(report(["liquidity_fraction"], None)) == "liquidity_fraction"
    assert liquidity_axis(report(["opening_balance_level"], None)) is None  # a fragment is not enough
    assert liquidity_axis(report(["liquidity_fraction"], {})) is None  # the sweep declared no curve


def test_a_sweep_without_axes_and_one_seed_reports_means_without_intervals(tmp_path: Path) -> None:
    sweep = run_real_sweep(tmp_path, "single", SCENARIO, {}, seeds=1)
    console = Console(record=True, width=160)
    report = build_report(sweep, console=console)
    (cell,) = report.cells
    assert (cell.cell, cell.n_runs, report.paired) == ("base", 1, [])
    per_run = recompute_from_transactions(sweep)
    (figures,) = per_run.values()
    for metric in ("settlement_rate", "value_settlement_rate", "delay_indicator"):
        e = cell.stats[metric]
        assert (e.n, e.sd, e.ci_low, e.ci_high) == (1, None, None, None)
        assert e.mean == pytest.approx(figures[metric])
    assert "no ±: one run, no interval" in console.export_text()
    assert not (sweep / "report_paired.csv").exists()
    assert "(n=1, no CI)" in (sweep / "report.md").read_text()

"""The participant-outage experiment (experiments/participant_outage/), on a small grid: the outage
does what docs/semantics.md#scenario-events says, the pairs share their payments, and the paired
figures and files are what the README reads."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from tests.helpers.experiments import load_experiment

SEEDS = 3
DESIGNS = (("none", "fifo_bypass"), ("t2", "t2"))
STARTS = (10, 50)
#: The loaded run.py, its results, the files it wrote and its output folder.
Experiment = tuple[ModuleType, list[Any], list[Path], Path]




def _grid(module: ModuleType) -> list[Any]:
    results: list[Any] = module.run_grid(SEEDS, designs=DESIGNS, starts=STARTS)
    return results


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    module = load_experiment("participant_outage")
    out = tmp_path_factory.mktemp("participant_outage")
    results = _grid(module)
    return module, results, module.write_outputs(out, results, SEEDS), out


@pytest.fixture(scope="module")
def day(experiment: Experiment) -> Any:
    return sys.modules["outage_day"].make_day(0)


def _index(day: Any) -> int:
    """The failed bank's index in the logs (config order)."""
    return [a["id"] for a in day.config["agent_configs"]].index(day.failed_bank)


def _pairs(results: list[Any], start: int) -> list[tuple[Any, Any]]:
    base = {(r.rep, r.lsm_mode, r.rtgs_queue): r for r in results if r.outage_start is None}
    return [(r, base[(r.rep, r.lsm_mode, r.rtgs_queue)]) for r in results if r.outage_start == start]


def test_the_grid_has_one_row_per_run(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    assert len(results) == SEEDS * len(DESIGNS) * (1 + len(STARTS))


def test_the_failed_bank_is_the_days_largest_sender(day: Any) -> None:
    sent: dict[str, int] = {}
    for p in day.config["scheduled_payments"]:
        sent[p["sender"]] = sent.get(p["sender"], 0) + p["amount"]
    assert day.failed_bank == max(sent, key=lambda bank: sent[bank])


def test_every_run_of_a_seed_fails_the_same_bank(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    assert all(len({r.failed_bank for r in results if r.rep == rep}) == 1 for rep in range(SEEDS))


def test_the_failed_bank_releases_nothing_during_the_outage(day: Any) -> None:
    od = sys.modules["outage_day"]
    failed = _index(day)
    log = od.run_engine(day, DESIGNS[0], 10).transaction_log()
    assert np.count_nonzero((log["sender"] == failed) & (log["release_tick"] >= 10)) == 0


def test_without_the_outage_the_failed_bank_releases_in_that_window(day: Any) -> None:
    od = sys.modules["outage_day"]
    failed = _index(day)
    log = od.run_engine(day, DESIGNS[0], None).transaction_log()
    assert np.count_nonzero((log["sender"] == failed) & (log["release_tick"] >= 10)) > 100


def test_the_failed_bank_keeps_receiving(day: Any) -> None:
    od = sys.modules["outage_day"]
    failed = _index(day)
    ticks = od.run_engine(day, DESIGNS[0], 10).tick_log()
    assert ticks["value_received"][(ticks["bank"] == failed) & (ticks["tick"] >= 10)].sum() > 0


def test_the_counted_releases_in_the_outage_are_zero(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    assert [r.failed_released_in_outage for r in results if r.outage_start is not None] == [0] * (
        SEEDS * len(DESIGNS) * len(STARTS))


def test_a_pair_shares_its_payments(day: Any) -> None:
    od = sys.modules["outage_day"]
    with_outage = od.run_engine(day, DESIGNS[1], 10).transaction_log()
    without = od.run_engine(day, DESIGNS[1], None).transaction_log()
    for column in ("sender", "receiver", "amount", "arrival_tick"):
        np.testing.assert_array_equal(with_outage[column], without[column])


def test_the_outage_changes_nothing_before_it_starts(day: Any) -> None:
    od = sys.modules["outage_day"]
    with_outage = od.run_engine(day, DESIGNS[1], 50).tick_log()
    without = od.run_engine(day, DESIGNS[1], None).tick_log()
    before = without["tick"] < 50
    np.testing.assert_array_equal(with_outage["balance"][before], without["balance"][before])


def test_the_outage_changes_balances_after_it_starts(day: Any) -> None:
    od = sys.modules["outage_day"]
    with_outage = od.run_engine(day, DESIGNS[1], 50).tick_log()
    without = od.run_engine(day, DESIGNS[1], None).tick_log()
    after = without["tick"] >= 50
    assert not np.array_equal(with_outage["balance"][after], without["balance"][after])


@pytest.mark.parametrize("start", STARTS)
def test_others_leave_at_least_the_baseline_unsettled(experiment: Experiment, start: int) -> None:
    _, results, _, _ = experiment
    assert all(o.others_unsettled >= b.others_unsettled for o, b in _pairs(results, start))


def test_an_early_outage_leaves_more_unsettled(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    assert all(o.others_unsettled > b.others_unsettled for o, b in _pairs(results, 10))


def test_an_early_outage_traps_liquidity_at_the_failed_bank(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    assert all(o.failed_mean_balance > b.failed_mean_balance for o, b in _pairs(results, 10))


def test_an_earlier_outage_traps_more(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    summary = module.summarise(results)
    assert all(summary[(*d, 10)]["trapped_liquidity"].mean > summary[(*d, 50)]["trapped_liquidity"].mean
               for d in DESIGNS)


def test_the_no_outage_paired_difference_is_exactly_zero(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    summary = module.summarise(results)
    assert {e.mean for d in DESIGNS for e in summary[(*d, None)].values()} == {0.0}


def test_the_intervals_are_student_t_over_seeds(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    from scipy import stats

    e = module.summarise(results)[(*DESIGNS[0], 10)]["delay_indicator"]
    assert e.half_width == pytest.approx(stats.t.ppf(0.975, SEEDS - 1) * e.sd / np.sqrt(SEEDS), rel=1e-12)


def test_the_delay_indicator_over_every_bank_is_the_engines(day: Any) -> None:
    od = sys.modules["outage_day"]
    engine = od.run_engine(day, DESIGNS[0], 10)
    log = engine.transaction_log()
    ours = od.delay_indicator(log, engine.ticks_per_day() - 1, np.ones(len(log["amount"]), dtype=bool))
    assert ours == pytest.approx(engine.metrics()["delay_indicator"], rel=1e-12)


def test_the_files_are_written(experiment: Experiment) -> None:
    module, _, files, _ = experiment
    assert sorted(f.name for f in files) == sorted(["results.csv", "summary.csv", "results.md", module.PNG])


def test_the_plot_is_a_png(experiment: Experiment) -> None:
    module, _, _, out = experiment
    assert matplotlib.image.imread(out / module.PNG).shape[0] > 500


def test_the_summary_has_a_row_per_design_and_start(experiment: Experiment) -> None:
    _, _, _, out = experiment
    lines = (out / "summary.csv").read_text().splitlines()
    assert len(lines) == 1 + len(DESIGNS) * (1 + len(STARTS))


def test_the_outputs_are_deterministic(experiment: Experiment, tmp_path: Path) -> None:
    module, _, files, _ = experiment
    again = module.write_outputs(tmp_path, _grid(module), SEEDS)
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]

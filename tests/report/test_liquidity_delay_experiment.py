"""The Leinonen–Soramäki claims, on a small run of experiments/liquidity_delay/run.py."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib.image
import pytest

from tests.helpers.experiments import load_experiment

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
DAYS = 3
#: The loaded run.py, its per-day results, the files it wrote and its output folder.
Experiment = tuple[ModuleType, list[Any], list[Path], Path]




@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    module = load_experiment("liquidity_delay")
    out = tmp_path_factory.mktemp("liquidity_delay")
    results, files = module.run_experiment(DAYS, out, fractions=FRACTIONS)
    return module, results, files, out


def test_every_day_runs_every_level_and_mode(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    assert len(results) == DAYS * len(FRACTIONS) * len(module.LSM_MODES)
    assert all(r.n_payments == module.PAYMENTS_PER_DAY for r in results)


def test_at_the_upper_bound_nothing_waits(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    at_upper = [r for r in results if r.fraction == 1.0]
    assert at_upper
    for r in at_upper:
        assert r.opening_liquidity == r.upper_bound
        assert r.n_settled == r.n_payments, (r.day, r.lsm_mode)
        assert r.delay_indicator == 0.0, (r.day, r.lsm_mode)


def test_at_the_lower_bound_multilateral_offsetting_settles_the_whole_day(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    at_lower = [r for r in results if r.fraction == 0.0 and r.lsm_mode == "multilateral"]
    assert len(at_lower) == DAYS
    for r in at_lower:
        assert r.opening_liquidity == r.lower_bound
        assert r.n_settled == r.n_payments, r.day
        assert r.value_settlement_rate == 1.0
        assert r.n_settled_multilateral > 0  # it is the LSM, not luck, that clears the queue
        assert 0.0 < r.delay_indicator < 1.0


def test_gross_settlement_alone_cannot_clear_the_lower_bound_day(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    for r in (r for r in results if r.fraction == 0.0 and r.lsm_mode == "none"):
        assert r.n_settled < r.n_payments, r.day


def test_delay_falls_as_liquidity_rises(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    delays: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        delays[r.lsm_mode][r.fraction].append(r.delay_indicator)
    for mode in module.LSM_MODES:
        means = [sum(delays[mode][f]) / DAYS for f in FRACTIONS]
        assert all(later <= earlier + 1e-3 for earlier, later in itertools.pairwise(means)), (mode, means)
        assert means[-1] == 0.0, mode
        assert means[0] > 0.0, mode
    for f in FRACTIONS:  # the LSM never makes payments wait longer on average
        assert sum(delays["multilateral"][f]) <= sum(delays["none"][f]) + 1e-9


def test_per_bank_bounds_add_up_to_the_engine_metrics(experiment: Experiment) -> None:
    _, _, _, out = experiment
    lines = (out / "bounds.csv").read_text().splitlines()
    assert lines[0] == "day,sum_bank_lower,engine_lower,sum_bank_upper,engine_upper"
    for line in lines[1:]:
        _, lo, engine_lo, up, engine_up = map(int, line.split(","))
        assert (lo, up) == (engine_lo, engine_up)
        assert 0 < lo < up


def test_outputs_are_written(experiment: Experiment) -> None:
    _, _, files, out = experiment
    assert {f.name for f in files} == {"results.csv", "summary.csv", "bounds.csv", "liquidity_delay.png", "results.md"}
    image = matplotlib.image.imread(out / "liquidity_delay.png")
    assert image.shape[1] > 500
    assert image[..., :3].std() > 0
    assert "![liquidity–delay curve](liquidity_delay.png)" in (out / "results.md").read_text()
    assert len((out / "results.csv").read_text().splitlines()) == 1 + DAYS * len(FRACTIONS) * 2

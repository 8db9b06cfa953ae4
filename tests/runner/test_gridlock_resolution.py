"""The gridlock-resolution experiment (experiments/gridlock_resolution/), on a small run: the optimal
LSM reaches its own optimum and the heuristics fall short of it, liquidity at the upper bound settles
everything, every solve is exact and the files are byte-deterministic."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib.image
import pytest

from tests.helpers.experiments import load_experiment

DAYS = 2
FRACTIONS = (0.0, 0.3, 1.0)
#: The loaded run.py, its results, the files it wrote and its output folder.
Experiment = tuple[ModuleType, list[Any], list[Path], Path]




@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    module = load_experiment("gridlock_resolution")
    out = tmp_path_factory.mktemp("gridlock_resolution")
    results, files = module.run_experiment(DAYS, out, fractions=FRACTIONS)
    return module, results, files, out


def test_every_day_runs_every_level_and_mode(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    assert len(results) == DAYS * len(FRACTIONS) * len(module.LSM_MODES)
    assert all(r.n_payments == module.PAYMENTS_PER_DAY for r in results)


def test_the_optimal_lsm_settles_its_whole_optimum(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    measured = [r for r in results if r.lsm_mode == "optimal" and r.lsm_optimum_share is not None]
    assert measured  # the low-liquidity days do gridlock
    for r in measured:
        assert r.lsm_optimum_share == pytest.approx(1.0, abs=1e-12), (r.day, r.fraction)


def test_the_share_of_the_optimum_never_exceeds_one(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    shares = [r.lsm_optimum_share for r in results if r.lsm_optimum_share is not None]
    assert shares
    assert max(shares) <= 1.0 + 1e-12


def test_some_heuristic_falls_short_of_the_optimum(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    short = [r for r in results if r.lsm_mode != "optimal" and r.lsm_optimum_share is not None
             and r.lsm_optimum_share < 0.99]
    assert short  # the days are gridlocked enough for the modes to differ


def test_at_the_upper_bound_every_mode_settles_everything(experiment: Experiment) -> None:
    module, results, _, _ = experiment
    at_upper = [r for r in results if r.fraction == 1.0]
    assert len(at_upper) == DAYS * len(module.LSM_MODES)
    for r in at_upper:
        assert r.n_settled == r.n_payments, (r.day, r.lsm_mode)
        assert r.value_settlement_rate == 1.0, (r.day, r.lsm_mode)
        assert r.delay_indicator == 0.0, (r.day, r.lsm_mode)


def test_every_optimum_solve_is_exact(experiment: Experiment) -> None:
    _, results, _, _ = experiment
    assert sum(r.lsm_optimal_solved for r in results) > 0
    assert [r for r in results if r.lsm_optimal_time_limited != 0] == []


def test_outputs_are_written(experiment: Experiment) -> None:
    module, _, files, out = experiment
    assert {f.name for f in files} == {"results.csv", "summary.csv", "gridlock_resolution.png", "results.md"}
    image = matplotlib.image.imread(out / "gridlock_resolution.png")
    assert image.shape[1] > 500
    assert image[..., :3].std() > 0
    assert "![gridlock resolution](gridlock_resolution.png)" in (out / "results.md").read_text()
    assert len((out / "results.csv").read_text().splitlines()) == 1 + len(FRACTIONS) * DAYS * len(module.LSM_MODES)


def test_outputs_are_deterministic(experiment: Experiment, tmp_path: Path) -> None:
    module, _, files, _ = experiment
    _, again = module.run_experiment(DAYS, tmp_path, fractions=FRACTIONS)
    for first, second in zip(files, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name

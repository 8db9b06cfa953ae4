"""Castro et al. (2025), the two-period initial liquidity game: experiments/castro_2025/run.py recomputes
the paper's equilibrium from engine runs, and the checked-in results are what it produces now."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib.image
import pytest

from paysim_runner import _core
from tests.helpers.experiments import load_experiment

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "castro_2025"
OUTPUTS = ("results.json", "costs.csv", "best_response.png")
#: The loaded run.py, the engine's cost grid, and the folder its main() wrote into.
Experiment = tuple[ModuleType, dict[Any, Any], Path]




@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    module = load_experiment("castro_2025")
    out = tmp_path_factory.mktemp("castro_2025")
    assert module.main(["--out", str(out)]) == 0
    return module, module.cost_grid(), out


@pytest.fixture(scope="module")
def summary(experiment: Experiment) -> dict[str, Any]:
    _, _, out = experiment
    result: dict[str, Any] = json.loads((out / "results.json").read_text())
    return result


def test_best_response_iteration_finds_the_papers_equilibrium(summary: dict[str, Any]) -> None:
    assert summary["equilibrium"] == {"A": 0.0, "B": 0.2}


def test_the_equilibrium_costs_are_the_papers(summary: dict[str, Any]) -> None:
    assert summary["costs"] == {"A": 0.0, "B": 0.02}


def test_the_paper_block_holds_the_papers_values(summary: dict[str, Any]) -> None:
    assert summary["paper"]["equilibrium"] == summary["equilibrium"]
    assert summary["paper"]["costs"] == summary["costs"]


def test_the_iteration_goes_from_zero_liquidity_to_the_equilibrium_in_two_rounds(summary: dict[str, Any]) -> None:
    # From (0, 0): A covers its 0.15 alone, B its 0.2; then A, paid 0.15 by B in period 1, needs nothing.
    assert summary["iteration"] == [[0.0, 0.0], [0.15, 0.2], [0.0, 0.2]]


@pytest.mark.parametrize("bank", ["A", "B"])
def test_every_engine_best_response_is_the_closed_form(experiment: Experiment, bank: str) -> None:
    module, grid, _ = experiment
    cost = module.engine_cost(grid)
    engine = [module.best_response(cost, bank, theirs) for theirs in module.GRID]
    assert engine == [module.paper_best_response(bank, theirs) for theirs in module.GRID]


@pytest.mark.parametrize("bank", ["A", "B"])
def test_the_written_best_responses_are_the_papers(summary: dict[str, Any], bank: str) -> None:
    assert len(summary[f"best_response_{bank}"]) == 21
    assert summary[f"best_response_{bank}"] == summary["paper"][f"best_response_{bank}"]


def test_the_engine_cost_is_the_papers_cost_function_on_every_cell(experiment: Experiment) -> None:
    module, grid, _ = experiment
    assert len(grid) == 21 * 21
    cost = module.engine_cost(grid)
    mismatches = [(bank, own, theirs) for bank in module.BANKS for own in module.GRID for theirs in module.GRID
                  if cost(bank, own, theirs) != module.paper_cost(bank, own, theirs)]
    assert mismatches == []


def test_the_equilibrium_is_the_only_pure_one_on_the_grid(experiment: Experiment) -> None:
    module, grid, _ = experiment
    assert module.pure_equilibria(module.engine_cost(grid)) == [(0, 4)]


def test_the_engine_charges_no_cost_component_beyond_collateral_and_borrowing(experiment: Experiment) -> None:
    _, grid, _ = experiment
    extra = [(cell, bank) for cell, costs in grid.items() for bank, c in costs.items()
             if round(c.engine_total, 6) != round(c.liquidity + c.borrowing, 6)]
    assert extra == []


def test_ties_go_to_the_lowest_liquidity() -> None:
    module = load_experiment("castro_2025")
    flat = module.best_response(lambda bank, own, theirs: 0.0, "A", 0)
    assert flat == 0
    two_minima = module.best_response(lambda bank, own, theirs: 0.0 if own in (5, 3) else 1.0, "B", 7)
    assert two_minima == 3


# --- one cell by hand: ℓA = 0, ℓB = 0.1 ----------------------------------------------------------
# Period 1: B's line of 0.1 covers two of its three 0.05 payments to A; 0.05 waits (delay 0.2 · 0.05).
# A receives 0.1, usable only in period 2. Period 2: A pays two of its three payments to B with it and
# 0.05 is left; B has used its line and the 0.1 it receives now is not usable yet, so its delayed 0.05
# and its period-2 0.05 are left. The close lends A 0.05 and B 0.1.
#   A: 0.1 · 0 + 0 + 0.4 · 0.05 = 0.02.   B: 0.1 · 0.1 + 0.2 · 0.05 + 0.4 · 0.1 = 0.01 + 0.01 + 0.04 = 0.06.
HAND_CELL = (0, 2)  # grid steps


@pytest.fixture(scope="module")
def hand_costs() -> dict[str, Any]:
    costs: dict[str, Any] = load_experiment("castro_2025").run_day(HAND_CELL)
    return costs


@pytest.mark.parametrize(("bank", "component", "minor_units"), [
    ("A", "liquidity", 0), ("A", "delay", 0), ("A", "borrowing", 20_000),
    ("B", "liquidity", 10_000), ("B", "delay", 10_000), ("B", "borrowing", 40_000),
])
def test_hand_cell_cost_components(hand_costs: dict[str, Any], bank: str, component: str, minor_units: int) -> None:
    assert round(getattr(hand_costs[bank], component), 6) == minor_units


@pytest.mark.parametrize(("bank", "total"), [("A", 20_000), ("B", 60_000)])
def test_hand_cell_totals(hand_costs: dict[str, Any], bank: str, total: int) -> None:
    assert hand_costs[bank].total == total


def test_hand_cell_loans_in_the_event_log() -> None:
    module = load_experiment("castro_2025")
    engine = _core.Orchestrator.new(module.engine_config(HAND_CELL))
    engine.run()
    events = engine.event_log()
    borrower = [engine.get_agent_ids()[i] for i in events["bank"]]
    assert dict(zip(borrower, events["amount"].tolist(), strict=True)) == {"A": 50_000, "B": 100_000}


def test_hand_cell_period_one_settlements() -> None:
    module = load_experiment("castro_2025")
    engine = _core.Orchestrator.new(module.engine_config(HAND_CELL))
    engine.run()
    txs = engine.transaction_log()
    settled_in_period_one = int(((txs["arrival_tick"] == 0) & (txs["settle_tick"] == 0)).sum())
    assert settled_in_period_one == 2


# --- the files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["results.json", "costs.csv"])
def test_the_checked_in_file_is_what_the_code_produces_now(experiment: Experiment, name: str) -> None:
    _, _, out = experiment
    assert (out / name).read_bytes() == (EXPERIMENT / name).read_bytes()


def test_the_plot_is_drawn_the_same_twice(experiment: Experiment) -> None:
    module, grid, out = experiment
    assert module.plot_png(grid, (0, 4)) == (out / "best_response.png").read_bytes()


def test_the_outputs_are_written(experiment: Experiment) -> None:
    _, _, out = experiment
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    image = matplotlib.image.imread(out / "best_response.png")
    assert image.shape[1] > 800
    assert image[..., :3].std() > 0
    assert len((out / "costs.csv").read_text().splitlines()) == 1 + 21 * 21

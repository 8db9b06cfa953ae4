"""Grid expansion, seed derivation (common random numbers), batching, and whole-sweep validation."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paysim_runner.config import ConfigError
from paysim_runner.driver import prepare, run_sweep
from paysim_runner.run import run_one
from paysim_runner.sweep import (
    Axis,
    apply_setting,
    build_plan,
    derive_seed,
    expand_grid,
    flatten,
    parse_axes,
    plan_runs,
)
from paysim_runner.sweep.settings import shadowed_overrides
from tests.helpers.runner import hydra_config, small_sweep

# --- grid expansion --------------------------------------------------------------------------------

axis_values = st.lists(st.integers(-50, 50), min_size=1, max_size=4, unique=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(axis_values, min_size=0, max_size=4))
def test_grid_is_the_ordered_cartesian_product(value_lists: list[list[int]]) -> None:
    axes = [Axis(f"k{i}", tuple(v)) for i, v in enumerate(value_lists)]
    cells = expand_grid(axes)
    combos = list(itertools.product(*value_lists))
    assert [c.cell_id for c in cells] == list(range(len(combos)))
    assert [tuple(c.params.values()) for c in cells] == combos  # first axis varies slowest
    assert len({c.label for c in cells}) == len(cells)
    assert expand_grid(axes) == cells  # deterministic


def test_cell_labels_and_columns() -> None:
    axes = parse_axes({"lsm.mode": ["none", "t2"], "policy": ["fifo"], "credit_scale": [0, 0.5]})
    assert [a.column for a in axes] == ["lsm_mode", "policy", "credit_scale"]
    assert axes[2].values == (0.0, 0.5)
    assert axes[2].kind == "float"
    cells = expand_grid(axes)
    assert [c.label for c in cells] == [
        "lsm_mode=none,policy=fifo,credit_scale=0.0",
        "lsm_mode=none,policy=fifo,credit_scale=0.5",
        "lsm_mode=t2,policy=fifo,credit_scale=0.0",
        "lsm_mode=t2,policy=fifo,credit_scale=0.5",
    ]
    assert expand_grid([])[0].label == "base"


def test_nested_axes_flatten_to_dotted_keys() -> None:
    assert flatten({"lsm": {"mode": [1]}, "policy": ["a"]}, keep=lambda v: not isinstance(v, dict)) == {
        "lsm.mode": [1],
        "policy": ["a"],
    }


# --- seeds -----------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 10**6))
def test_seed_is_a_function_of_root_seed_and_rep_only(root: int, rep: int) -> None:
    seed = derive_seed(root, rep)
    assert 0 <= seed < 2**63  # fits runs.seed (int64) and the engine's rng_seed
    assert seed == derive_seed(root, rep)


def test_seeds_differ_across_reps_and_root_seeds() -> None:
    seeds = {derive_seed(7, r) for r in range(2000)}
    assert len(seeds) == 2000
    assert derive_seed(7, 0) != derive_seed(8, 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(axis_values, min_size=1, max_size=3), st.integers(1, 6), st.integers(1, 7), st.integers(0, 2**32))
def test_runs_share_seeds_across_cells_and_batch_contiguously(
    value_lists: list[list[int]], reps: int, batch_size: int, root: int
) -> None:
    cells = expand_grid([Axis(f"k{i}", tuple(v)) for i, v in enumerate(value_lists)])
    runs = plan_runs(cells, reps, root, batch_size)
    assert len(runs) == len(cells) * reps
    assert len({r.run_id for r in runs}) == len(runs)
    # common random numbers: the seed depends on the replication, never on the cell
    for rep in range(reps):
        assert {r.seed for r in runs if r.rep == rep} == {derive_seed(root, rep)}
    # batches: consecutive, full except maybe the last, deterministic
    assert [r.batch for r in runs] == [i // batch_size for i in range(len(runs))]
    assert plan_runs(cells, reps, root, batch_size) == runs


def test_common_random_numbers_across_policies_and_lsm(tmp_path: Path) -> None:
    """Same rep, any policy or LSM mode: every bank receives exactly the same payment orders."""
    config = small_sweep(tmp_path, "sweep.axes.policy=[fifo,deadline,liquidity_aware,splitting]", "seeds=2")
    config["sweep"]["fixed"] = {"agents.*.arrival_config.divisible": True}
    plan = build_plan(config)
    assert len(plan.cells) == 8
    for rep in range(2):
        streams = []
        n_split = 0
        for cell in plan.cells:
            run = next(r for r in plan.runs if r.cell_id == cell.cell_id and r.rep == rep)
            out = run_one(plan.engine_configs[cell.cell_id], run, cell, sweep=plan.name, ticks=False)
            tx = out.transactions
            n_split += out.row["n_split"]
            originals = tx.filter(tx["parent_id"].is_null())
            # tx_id is creation order, so split parts shift later ids; the orders themselves must match
            streams.append(originals.select(["sender", "receiver", "amount", "arrival_tick", "deadline_tick"]))
        assert all(s.equals(streams[0]) for s in streams[1:])
        assert streams[0].num_rows > 100
        assert n_split > 0  # the splitting cells really changed the released payments, not the orders
    assert derive_seed(plan.root_seed, 0) != derive_seed(plan.root_seed, 1)


# --- transforms ------------------------------------------------------------------------------------

def test_transforms_edit_every_bank() -> None:
    scenario = {"agents": [{"balance": 10, "credit_limit": 3, "policy": {"type": "Fifo"}},
                           {"balance": 20, "credit_limit": 5, "policy": {"type": "Fifo"}}]}
    apply_setting(scenario, "credit_scale", 2.5)
    apply_setting(scenario, "balance_scale", 0.5)
    apply_setting(scenario, "policy", "deadline")
    apply_setting(scenario, "agents.1.balance", 99)
    apply_setting(scenario, "agents.*.arrival_config.priority", 9)
    apply_setting(scenario, "lsm.mode", "bilateral")
    assert [a["credit_limit"] for a in scenario["agents"]] == [8, 12]
    assert [a["balance"] for a in scenario["agents"]] == [5, 99]
    assert all(a["policy"] == {"type": "Deadline", "urgency_threshold": 10} for a in scenario["agents"])
    assert all(a["arrival_config"] == {"priority": 9} for a in scenario["agents"])
    assert scenario["lsm"] == {"mode": "bilateral"}


# --- shipped sweeps and Hydra overrides ------------------------------------------------------------

def test_shipped_sweeps_validate_and_match_the_issue() -> None:
    lsm = build_plan(hydra_config("+sweep=lsm_vs_fifo"))
    assert lsm.replications >= 30
    assert {a.column: a.values for a in lsm.axes} == {
        "lsm_mode": ("none", "t2"), "policy": ("fifo", "deadline", "liquidity_aware"),
    }
    assert lsm.compare == [{"axis": "lsm_mode", "baseline": "none"}, {"axis": "policy", "baseline": "fifo"}]
    assert {c["lsm"]["mode"] for c in lsm.engine_configs.values()} == {"none", "t2"}

    credit = build_plan(hydra_config("+sweep=credit_limits"))
    (axis,) = credit.axes
    assert axis.column == "credit_scale"
    assert min(axis.values) == 0
    assert max(axis.values) >= 2
    limits = [sum(a["credit_limit"] for a in credit.engine_configs[c.cell_id]["agent_configs"]) for c in credit.cells]
    assert limits == sorted(limits)
    assert limits[0] == 0 < limits[-1]
    assert all(c["cost_rates"]["collateral_cost_per_unit_per_tick"] > 0 for c in credit.engine_configs.values())

    ld = build_plan(hydra_config("+sweep=liquidity_delay"))
    fractions = next(a for a in ld.axes if a.key == "liquidity_fraction").values
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert list(fractions) == sorted(fractions)
    assert {a.key for a in ld.axes} == {"liquidity_fraction", "lsm.mode"}
    assert set(ld.liquidity_fractions.values()) == set(fractions)
    assert all(a["arrival_config"]["deadline_offset"] >= 100 for a in ld.engine_configs[0]["agent_configs"])


def test_hydra_overrides_reach_any_key() -> None:
    cfg = hydra_config(
        "+sweep=lsm_vs_fifo",
        "seeds=100",
        "ray.address=auto",
        "output_dir=/tmp/elsewhere",
        "root_seed=5",
        "scenario=two_bank",
        "scenario.simulation.ticks_per_day=50",
        "sweep.axes.lsm.mode=[t2]",
        "sweep.compare=null",
        "policy=splitting",
        "sweep.axes.policy=[]",
    )
    assert cfg["seeds"] == 100
    assert cfg["ray"]["address"] == "auto"
    assert cfg["output_dir"] == "/tmp/elsewhere"
    assert cfg["policy"] == {"type": "Splitting", "max_parts": 4, "min_part": 10000}
    cfg["sweep"]["axes"].pop("policy")
    plan = build_plan(cfg)
    assert [c.label for c in plan.cells] == ["lsm_mode=t2"]
    engine = plan.engine_configs[0]
    assert engine["ticks_per_day"] == 50
    assert len(engine["agent_configs"]) == 2
    assert all(a["policy"]["type"] == "Splitting" for a in engine["agent_configs"])
    assert plan.runs[-1].seed == derive_seed(5, 99)


# --- bad sweeps: clear error, nothing written -------------------------------------------------------

def _set(path: str, value: Any) -> Any:
    def patch(cfg: dict[str, Any]) -> None:
        *parents, leaf = path.split("/")
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value

    return patch


def _fixed_policy_without_threshold(cfg: dict[str, Any]) -> None:
    cfg["sweep"]["axes"].pop("policy")
    cfg["sweep"]["compare"] = {"axis": "lsm.mode", "baseline": "none"}
    cfg["sweep"]["fixed"] = {"policy": {"type": "Deadline"}}


@pytest.mark.parametrize(
    ("patch", "where", "problem"),
    [
        (_set("sweep/axes/lsm/mode", ["none", "gross"]), "sweep.axes.lsm.mode", "value 'gross' makes lsm.mode invalid"),
        (_set("sweep/axes/policy", ["fifo", "fifoo"]), "sweep.axes.policy", "unknown policy 'fifoo'"),
        (_set("sweep/axes/credit_scale", [1, -2]), "sweep.axes.credit_scale", "must be a number >= 0"),
        (_set("sweep/axes/policy", []), "sweep.axes.policy", "non-empty list"),
        (_set("sweep/axes/simulation.ticks_per_day", [10, 0]), "sweep.axes.simulation.ticks_per_day",
         "value 0 makes simulation.ticks_per_day invalid: must be > 0"),
        # rules only the engine knows are blamed on the setting that broke them, at scenario paths
        (_set("sweep/axes/lsm.max_cycle_length", [6, 20]), "sweep.axes.lsm.max_cycle_length",
         "value 20 makes lsm.max_cycle_length invalid: must be between 2 and 12"),
        (_fixed_policy_without_threshold, "sweep.fixed.policy",
         "agents[0].policy.urgency_threshold invalid: is required"),
        (_set("sweep/axes/agents.1.balance", [5, -5]), "sweep.axes.agents.1.balance",
         "value -5 makes agents[1].balance invalid: must be between 0 and"),
        (_set("sweep/fixed", {"costs.eod_penalty": -1}), "sweep.fixed.costs.eod_penalty",
         "value -1 makes costs.eod_penalty invalid: must be ≥ 0"),
        (_set("sweep/axes/agents.*.balanse", [1]), "sweep.axes.agents.*.balanse", "unknown key"),
        (_set("sweep/compare", {"axis": "policy", "baseline": "lifo"}), "sweep.compare.baseline",
         "'lifo' is not among"),
        (_set("sweep/compare", {"axis": "credit", "baseline": 1}), "sweep.compare.axis", "not a grid axis"),
        (_set("sweep/compare", [{"axis": "lsm.mode", "baseline": "none"}, {"axis": "policy", "baseline": "lifo"}]),
         "sweep.compare[1].baseline", "'lifo' is not among"),
        (_set("sweep/compare", [{"axis": "lsm.mode", "baseline": "none"}, {"axis": "lsm_mode", "baseline": "t2"}]),
         "sweep.compare[1].axis", "'lsm_mode' is compared twice"),
        (_set("sweep/compare", [{"axs": "policy", "baseline": "fifo"}]), "sweep.compare[0].axs", "unknown key"),
        (_set("sweep/compare", "policy"), "sweep.compare", "expected {axis: ..., baseline: ...} or a list of them"),
        (_set("sweep/name", "../escape"), "sweep.name", "names the results folder"),
        (_set("sweep/plot", {"liquidity_delay": {"x": "lsm.mode"}}), "sweep.plot.liquidity_delay.x",
         "needs at least two numeric values"),
        (_set("sweep/plot", {"liquidity_delay": {"x": "credit"}}), "sweep.plot.liquidity_delay.x",
         "'credit' is not a grid axis"),
        (_set("sweep/axes/simulation.seed", [1, 2]), "sweep.axes.simulation.seed", "vary root_seed or seeds instead"),
        (_set("sweep/fixed", {"simulation": {"seed": 3}}), "sweep.fixed.simulation.seed", "derive from root_seed"),
        (_set("seeds", 0), "seeds", "greater than or equal to 1"),
        (_set("executor", "threads"), "executor", "Input should be 'ray' or 'inline'"),
        (_set("batch_size", "many"), "batch_size", "valid integer"),
        (_set("scenario/agent_groups", []), "scenario.agents", "at least one bank"),
        (_set("scenario/scheduled_payments_file", "/nonexistent/day.csv"), "scenario.scheduled_payments_file",
         "file not found: '/nonexistent/day.csv'"),
    ],
)
def test_bad_sweep_fails_before_any_output(tmp_path: Path, patch: Any, where: str, problem: str) -> None:
    out = tmp_path / "results"
    cfg = small_sweep(out)
    patch(cfg)
    with pytest.raises(ConfigError) as info:
        run_sweep(cfg)
    message = str(info.value)
    assert message.startswith(where), message
    assert problem in message, message
    assert "\n" not in message
    assert not out.exists()


def test_a_different_sweep_in_the_output_folder_is_refused(tmp_path: Path) -> None:
    cfg = small_sweep(tmp_path)
    _, sweep_dir, _ = prepare(cfg)
    sweep_dir.mkdir(parents=True)
    (sweep_dir / "manifest.json").write_text('{"sweep": "lsm_vs_fifo", "root_seed": 1}')
    before = (sweep_dir / "manifest.json").read_bytes()
    with pytest.raises(ConfigError, match=r"^output_dir: .* holds a different sweep \(differs in root_seed"):
        run_sweep(cfg)
    assert (sweep_dir / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["manifest.json"]


def test_the_liquidity_delay_plot_axis_is_explicit() -> None:
    ld = build_plan(hydra_config("+sweep=liquidity_delay"))
    assert ld.plots == {"liquidity_delay": {"x": "liquidity_fraction"}}  # declared by the sweep file
    credit = build_plan(hydra_config("+sweep=credit_limits"))
    assert credit.plots == {}  # credit_scale is not a liquidity level unless the sweep says so
    declared = build_plan(hydra_config("+sweep=credit_limits", "sweep.plot={liquidity_delay: {x: credit_scale}}"))
    assert declared.plots == {"liquidity_delay": {"x": "credit_scale"}}
    named = build_plan(hydra_config("+sweep.axes.balance_scale=[0.5,1.0]"))
    assert named.plots == {"liquidity_delay": {"x": "balance_scale"}}  # the documented default names


def test_compare_takes_one_entry_or_a_list() -> None:
    single = build_plan(hydra_config("+sweep=credit_limits"))
    assert single.compare == [{"axis": "credit_scale", "baseline": 1.0}]  # the single-dict form
    listed = build_plan(hydra_config("+sweep=lsm_vs_fifo", "sweep.compare=[{axis: policy, baseline: deadline}]"))
    assert listed.compare == [{"axis": "policy", "baseline": "deadline"}]
    assert build_plan(hydra_config("+sweep=lsm_vs_fifo", "sweep.compare=null")).compare == []


def test_validation_builds_every_cell_engine() -> None:
    """The plan's engine dicts are what the runs use: one per cell, seeds set per run."""
    cfg = hydra_config("+sweep=lsm_vs_fifo", "seeds=2")
    plan = build_plan(cfg)
    assert sorted(plan.engine_configs) == [c.cell_id for c in plan.cells]
    a, b = (copy.deepcopy(plan.engine_configs[i]) for i in (0, 1))
    assert a["lsm"] == b["lsm"]
    assert a["agent_configs"][0]["policy"] != b["agent_configs"][0]["policy"]
    assert np.unique([r.seed for r in plan.runs]).size == 2


@pytest.mark.parametrize(
    ("overrides", "axes", "expected"),
    [
        (["policy=deadline"], {"policy": ["fifo", "deadline"]},
         ["policy=deadline is replaced in every cell by the sweep axis policy; set the axis instead, e.g. "
          "sweep.axes.policy=[deadline]"]),
        (["scenario.lsm.mode=t2", "seeds=3"], {"lsm": {"mode": ["none", "t2"]}},
         ["scenario.lsm.mode=t2 is replaced in every cell by the sweep axis lsm.mode; set the axis instead, e.g. "
          "sweep.axes.lsm.mode=[t2]"]),
        (["+scenario.agents.0.balance=5"], {"liquidity_fraction": [0.1, 0.5]},
         ["+scenario.agents.0.balance=5 is replaced in every cell by the sweep axis liquidity_fraction; set the axis "
          "instead, e.g. sweep.axes.liquidity_fraction=[5]"]),
        (["scenario.agents.0.balance=5"], {"balance_scale": [0.5, 1.0]}, []),  # scaled, not replaced
        (["scenario.costs.delay_cost_per_tick=0.1"], {"lsm": {"mode": ["none", "t2"]}}, []),
        (["policy=deadline"], {}, []),
    ],
)
def test_an_override_a_sweep_axis_shadows_is_warned_about(
    overrides: list[str], axes: dict, expected: list[str]
) -> None:
    """Issue 14: an override the grid replaces in every cell would silently do nothing."""
    assert shadowed_overrides(overrides, axes) == expected

"""The scenario schema (docs/runner.md#scenario-schema): every shipped scenario loads and builds an engine, and
the engine dict is exactly the one docs/semantics.md#engine-configuration describes. Bad values are in
test_config_errors.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paysim_runner import _core
from paysim_runner.config import (
    CONF_DIR,
    ConfigError,
    SimulationConfig,
    config_from_mapping,
    load_config,
)
from tests.helpers.runner import minimal_scenario

SCENARIOS = sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def test_the_issue_lists_its_scenarios() -> None:
    assert {"two_bank", "gridlock_ring", "ten_bank", "fifty_bank_core_periphery", "t2_day"} <= set(SCENARIOS)


#: The benchmark days run in benchmarks/engine.py, not here (a day each of 400,000 and 800,000 payments).
BENCHMARK_DAYS = ("t2_day", "fedwire_day")


@pytest.mark.parametrize("name", [s for s in SCENARIOS if s not in BENCHMARK_DAYS])
def test_shipped_scenarios_load_and_run(name: str) -> None:
    cfg = load_config(CONF_DIR / "scenario" / f"{name}.yaml")
    orch = _core.Orchestrator.new(cfg.to_rust_dict())
    assert orch.get_agent_ids() == cfg.bank_ids
    orch.run()
    assert orch.metrics()["n_payments"] > 0


def test_gridlock_ring_cannot_settle_gross_but_lsm_clears_it() -> None:
    """docs/testing.md#errors-in-the-design-notes: the ring must be short of liquidity, so only the LSM settles
    the tick-0 cycle."""
    engine = load_config(CONF_DIR / "scenario" / "gridlock_ring.yaml").to_rust_dict()
    outcomes = {}
    for mode in ("none", "t2"):
        orch = _core.Orchestrator.new({**engine, "lsm": {"mode": mode}})
        first = orch.tick()
        outcomes[mode] = first["num_settlements"]
    assert outcomes["none"] == 0
    assert outcomes["t2"] >= 4


def test_core_periphery_and_t2_day_are_skewed() -> None:
    fifty = load_config(CONF_DIR / "scenario" / "fifty_bank_core_periphery.yaml")
    assert len(fifty.agents) == 50
    sizes = {a.id: a.size for a in fifty.agents}
    assert fifty.agents[-1].arrival_config.receivers_by_size
    assert sizes["CORE_0"] == 10 * sizes["PERI_00"]
    assert fifty.agents[0].arrival_config.distribution.type == "LogNormal"
    day = load_config(CONF_DIR / "scenario" / "t2_day.yaml")
    assert len(day.agents) == 1000
    assert day.simulation.ticks_per_day == 600
    expected = day.simulation.ticks_per_day * sum(a.arrival_config.rate_per_tick for a in day.agents)
    assert 380_000 < expected < 420_000
    assert day.lsm.mode == "t2"


def test_fedwire_day_is_scale_free_at_fedwire_scale() -> None:
    """5,000 banks in four tiers, each ten times the banks and a tenth the size (and sending rate) of
    the one above, so each tier sends and receives about a quarter of ~800,000 payments."""
    fed = load_config(CONF_DIR / "scenario" / "fedwire_day.yaml")
    assert len(fed.agents) == 5000
    rates = [a.arrival_config.rate_per_tick for a in fed.agents]
    assert 780_000 < fed.simulation.ticks_per_day * sum(rates) < 820_000
    tiers: dict[float, list[float]] = {}
    for a in fed.agents:
        assert a.arrival_config.receivers_by_size
        tiers.setdefault(a.size, []).append(a.arrival_config.rate_per_tick)
    assert sorted(tiers) == [1.0, 10.0, 100.0, 1000.0]
    receipts = {size: size * len(banks) for size, banks in tiers.items()}
    sends = {size: sum(banks) for size, banks in tiers.items()}
    for share in (receipts, sends):
        total = sum(share.values())
        assert all(0.24 < v / total < 0.28 for v in share.values())
    assert fed.lsm.mode == "t2"
    engine = fed.to_rust_dict()
    engine["ticks_per_day"] = 5
    orch = _core.Orchestrator.new(engine)
    orch.run()
    assert orch.metrics()["n_payments"] > 5000


def test_to_rust_dict_omits_unset_keys() -> None:
    engine = config_from_mapping(minimal_scenario()).to_rust_dict()
    assert engine == {
        "ticks_per_day": 10,
        "num_days": 1,
        "rng_seed": 3,
        "agent_configs": [
            {"id": "A", "opening_balance": 100, "credit_limit": 0, "policy": {"type": "Fifo"}},
            {"id": "B", "opening_balance": 100, "credit_limit": 0, "policy": {"type": "Fifo"}},
        ],
    }


def test_to_rust_dict_maps_every_optional_section() -> None:
    data = minimal_scenario(
        costs={"delay_cost_per_tick": 0.5, "eod_penalty": 7},
        lsm={"mode": "cycles", "max_cycle_length": 4},
        rtgs={"queue": "strict_fifo"},
        drop_expired=False,
        end_of_day={"unsettled": "carry"},
        scheduled_payments=[{"sender": "A", "receiver": "B", "amount": 5, "arrival_tick": 2}],
    )
    data["agents"][0]["arrival_config"] = {
        "rate_per_tick": 0.3,
        "distribution": {"type": "Uniform", "min": 1, "max": 9},
        "counterparty_weights": {"B": 2.0},
        "priority": 9,
    }
    data["agents"][1]["policy"] = {"type": "LiquidityAware", "target_buffer": 10, "urgency_threshold": 2}
    engine = config_from_mapping(data).to_rust_dict()
    assert engine["cost_rates"] == {"delay_cost_per_tick": 0.5, "eod_penalty": 7.0}
    assert engine["lsm"] == {"mode": "cycles", "max_cycle_length": 4}
    assert engine["rtgs"] == {"queue": "strict_fifo"}
    assert engine["drop_expired"] is False
    assert engine["end_of_day"] == {"unsettled": "carry"}
    assert engine["scheduled_payments"] == [{"sender": "A", "receiver": "B", "amount": 5, "arrival_tick": 2}]
    assert engine["agent_configs"][0]["arrival_config"] == {
        "rate_per_tick": 0.3,
        "distribution": {"type": "Uniform", "min": 1, "max": 9},
        "counterparty_weights": {"B": 2.0},
        "priority": 9,
    }
    assert engine["agent_configs"][1]["policy"] == {
        "type": "LiquidityAware", "target_buffer": 10, "urgency_threshold": 2,
    }
    orch = _core.Orchestrator.new(engine)  # the engine accepts every key we produce
    orch.run()
    assert orch.metrics()["n_payments"] >= 1


def test_agent_groups_expand_into_weighted_agents() -> None:
    cfg = config_from_mapping(
        {
            "simulation": {"ticks_per_day": 5},
            "agents": [{"id": "X", "balance": 1, "policy": {"type": "Fifo"}}],
            "agent_groups": [
                {"id_prefix": "G", "count": 11, "balance": 7, "size": 3.0, "policy": {"type": "Fifo"},
                 "arrival_config": {"rate_per_tick": 0.1, "distribution": {"type": "Exponential", "mean": 50}}},
            ],
        }
    )
    assert cfg.bank_ids == ["X"] + [f"G{i:02d}" for i in range(11)]
    assert cfg.agent_groups is None
    # members draw receivers by size (the engine weighs each other bank by its size, X at 1)
    assert [a.size for a in cfg.agents] == [None] + [3.0] * 11
    assert all(a.arrival_config.receivers_by_size for a in cfg.agents[1:])
    assert all(a.arrival_config.counterparty_weights is None for a in cfg.agents[1:])
    # the dumped form is the explicit one and validates again to the same config
    assert SimulationConfig.model_validate(cfg.model_dump(exclude_none=True)) == cfg


def test_load_config_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("simulation: {ticks_per_day: 3\nagents: [")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML at line \d+, column \d+"):
        load_config(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="file is empty"):
        load_config(empty)
    typo = tmp_path / "typo.yaml"
    typo.write_text("simulation: {ticks_per_day: 3}\nagents:\n  - {id: A, balanse: 5, policy: {type: Fifo}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(typo)
    # the misspelt key is named first, not the "missing" key it was meant to be
    assert str(info.value) == "agents[0].balanse: unknown key (not part of the scenario schema) (and 1 more error)"


def test_scheduled_payments_file_is_relative_to_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "day.csv").write_text("sender,receiver,amount,arrival_tick\nA,B,40,0\nB,A,40,1\n")
    scenario = tmp_path / "replay.yaml"
    scenario.write_text(
        textwrap.dedent(
            """\
            simulation: {ticks_per_day: 4, seed: 1}
            agents:
              - {id: A, balance: 0, policy: {type: Fifo}}
              - {id: B, balance: 0, policy: {type: Fifo}}
            scheduled_payments_file: data/day.csv
            lsm: {mode: t2}
            """
        )
    )
    cfg = load_config(scenario)
    assert cfg.scheduled_payments_file == str(tmp_path / "data" / "day.csv")
    orch = _core.Orchestrator.new(cfg.to_rust_dict())
    orch.run()
    assert orch.metrics()["n_payments"] == 2
    (tmp_path / "data" / "day.csv").unlink()
    with pytest.raises(ConfigError, match=r"^scheduled_payments_file: file not found"):
        load_config(scenario)


# --- properties -----------------------------------------------------------------------------------

policies = st.one_of(
    st.just({"type": "Fifo"}),
    st.builds(lambda k: {"type": "Deadline", "urgency_threshold": k}, st.integers(0, 20)),
    st.builds(
        lambda b, k: {"type": "LiquidityAware", "target_buffer": b, "urgency_threshold": k},
        st.integers(0, 10_000),
        st.integers(0, 20),
    ),
    st.builds(
        lambda n, m: {"type": "Splitting", "max_parts": n, "min_part": m}, st.integers(2, 5), st.integers(1, 500)
    ),
)
distributions = st.one_of(
    st.builds(lambda m, s: {"type": "Normal", "mean": m, "std_dev": s}, st.floats(1, 1e4), st.floats(0, 1e3)),
    st.builds(lambda m, s: {"type": "LogNormal", "mean_log": m, "std_dev_log": s}, st.floats(0, 8), st.floats(0, 2)),
    st.builds(lambda a, w: {"type": "Uniform", "min": a, "max": a + w}, st.integers(1, 1000), st.integers(0, 1000)),
    st.builds(lambda m: {"type": "Exponential", "mean": m}, st.floats(1, 1e4)),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 5))
    ids = [f"B{i}" for i in range(n)]
    agents = []
    for bank in ids:
        agent: dict[str, Any] = {
            "id": bank,
            "balance": draw(st.integers(0, 10_000)),
            "credit_limit": draw(st.integers(0, 5_000)),
            "policy": draw(policies),
        }
        if draw(st.booleans()):
            others = [b for b in ids if b != bank]
            weights = draw(st.lists(st.sampled_from(others), min_size=1, max_size=len(others), unique=True))
            agent["arrival_config"] = {
                "rate_per_tick": draw(st.floats(0, 2)),
                "distribution": draw(distributions),
                "counterparty_weights": {b: 1.0 for b in weights},
                "deadline_offset": draw(st.integers(0, 30)),
                "divisible": draw(st.booleans()),
            }
        agents.append(agent)
    return {
        "simulation": {"ticks_per_day": draw(st.integers(1, 30)), "num_days": draw(st.integers(1, 2)),
                       "seed": draw(st.integers(0, 2**63 - 1))},
        "agents": agents,
        "lsm": {"mode": draw(st.sampled_from(["none", "bilateral", "cycles", "multilateral", "t2", "t2_classic"]))},
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_valid_scenario_is_accepted_by_the_engine(data: dict[str, Any]) -> None:
    cfg = config_from_mapping(data)
    orch = _core.Orchestrator.new(cfg.to_rust_dict())
    assert orch.get_agent_ids() == [a["id"] for a in data["agents"]]
    assert orch.total_ticks() == data["simulation"]["ticks_per_day"] * data["simulation"]["num_days"]

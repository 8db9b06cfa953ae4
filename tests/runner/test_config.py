"""The scenario schema (docs/runner.md#scenario-schema): every shipped scenario loads and builds an engine, the
engine dict is exactly the one docs/semantics.md#engine-configuration describes, and every bad value is named by
its field path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from paysim_runner import _core, errors
from paysim_runner.config import (
    CONF_DIR,
    ConfigError,
    SimulationConfig,
    config_from_mapping,
    format_loc,
    load_config,
    scenario_loc,
)
from tests.helpers.outcomes import attempt

SCENARIOS = sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def minimal(**extra: Any) -> dict[str, Any]:
    return {
        "simulation": {"ticks_per_day": 10, "seed": 3},
        "agents": [
            {"id": "A", "balance": 100, "policy": {"type": "Fifo"}},
            {"id": "B", "balance": 100, "policy": {"type": "Fifo"}},
        ],
        **extra,
    }


def test_the_issue_lists_its_scenarios() -> None:
    assert {"two_bank", "gridlock_ring", "ten_bank", "fifty_bank_core_periphery", "t2_day"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", [s for s in SCENARIOS if s != "t2_day"])
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
    weights = fifty.agents[-1].arrival_config.counterparty_weights
    assert weights["CORE_0"] == 10 * weights["PERI_00"]
    assert fifty.agents[0].arrival_config.distribution.type == "LogNormal"
    day = load_config(CONF_DIR / "scenario" / "t2_day.yaml")
    assert len(day.agents) == 1000
    assert day.simulation.ticks_per_day == 600
    expected = day.simulation.ticks_per_day * sum(a.arrival_config.rate_per_tick for a in day.agents)
    assert 380_000 < expected < 420_000
    assert day.lsm.mode == "t2"


def test_to_rust_dict_omits_unset_keys() -> None:
    engine = config_from_mapping(minimal()).to_rust_dict()
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
    data = minimal(
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
    weights = cfg.agents[1].arrival_config.counterparty_weights
    assert "G00" not in weights
    assert weights["X"] == 1.0
    assert weights["G01"] == 3.0
    assert len(weights) == 11
    # the dumped form is the explicit one and validates again to the same config
    assert SimulationConfig.model_validate(cfg.model_dump(exclude_none=True)) == cfg


@pytest.mark.parametrize(
    ("patch", "path", "problem"),
    [
        (lambda d: d["simulation"].update(ticks_per_day=0), "simulation.ticks_per_day", "must be > 0"),
        (lambda d: d["simulation"].update(seed=-1), "simulation.seed", "must be between 0 and"),
        (lambda d: d["agents"][1].update(balance=-1), "agents[1].balance", "must be between 0 and"),
        (lambda d: d["agents"][0].update(credit_limit=-5), "agents[0].credit_limit", "must be between 0 and"),
        (lambda d: d["agents"][1].update(id="A"), "agents[1].id", "duplicate bank id 'A'"),
        (lambda d: d["agents"][0].update(id=""), "agents[0].id", "must contain a non-whitespace character"),
        (lambda d: d["agents"][0].update(policy={"type": "Fifoo"}), "agents[0].policy.type", "unknown policy 'Fifoo'"),
        (lambda d: d["agents"][0].update(policy={"type": "Deadline", "urgency": 3}), "agents[0].policy.urgency",
         "unknown key"),
        (lambda d: d["agents"][0].update(colour="red"), "agents[0].colour", "unknown key"),
        (lambda d: d.update(lsm={"mode": "gross"}), "lsm.mode",
         "'none', 'bilateral', 'cycles', 'multilateral' or 't2'"),
        (
            lambda d: d["agents"][0].update(
                arrival_config={"rate_per_tick": 1, "distribution": {"type": "Normal", "mean": 5, "std_dev": 1},
                                "counterparty_weights": {"Z": 1.0}}
            ),
            "agents[0].arrival_config.counterparty_weights.Z",
            "unknown bank 'Z'",
        ),
        (
            lambda d: d["agents"][0].update(
                arrival_config={"rate_per_tick": 1, "distribution": {"type": "Normal", "mean": 5, "std_dev": 1},
                                "counterparty_weights": {"A": 1.0}}
            ),
            "agents[0].arrival_config.counterparty_weights.A",
            "cannot pay itself",
        ),
        (
            lambda d: d["agents"][0].update(
                arrival_config={"rate_per_tick": 1, "distribution": {"type": "Normal", "mean": 5, "std_dev": 1},
                                "priority": 11}
            ),
            "agents[0].arrival_config.priority",
            "must be between 0 and 10",
        ),
        (
            lambda d: d["agents"][0].update(
                arrival_config={"rate_per_tick": 1, "distribution": {"type": "Poisson", "mean": 5}}
            ),
            "agents[0].arrival_config.distribution.type",
            "unknown distribution type 'Poisson'",
        ),
        (
            lambda d: d.update(scheduled_payments=[{"sender": "A", "receiver": "C", "amount": 1, "arrival_tick": 0}]),
            "scheduled_payments[0].receiver",
            "unknown bank 'C'",
        ),
        (
            lambda d: d.update(scheduled_payments=[{"sender": "A", "receiver": "B", "amount": 1, "arrival_tick": 4,
                                                    "deadline_tick": 3}]),
            "scheduled_payments[0].deadline_tick",
            "must be ≥ arrival_tick",
        ),
        (
            lambda d: d.update(scheduled_payments=[{"sender": "A", "receiver": "B", "amount": 1, "arrival_tick": 10}]),
            "scheduled_payments[0].arrival_tick",
            "must be < 10 (ticks_per_day × num_days)",
        ),
        (lambda d: d.update(agents=[]), "agents", "at least one bank"),
        (lambda d: d.pop("simulation"), "simulation", "required field is missing"),
    ],
)
def test_bad_values_are_named_by_field_path(patch: Any, path: str, problem: str) -> None:
    data = minimal()
    patch(data)
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, prefix="scenario")
    assert info.value.path == f"scenario.{path}"
    assert problem in info.value.problem
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"scenario.{path}: ")
    # the pydantic model itself raises a ValidationError that names the same field
    with pytest.raises(ValidationError) as raw:
        SimulationConfig.model_validate(data)
    assert any(str(part) in str(raw.value) for part in path.replace("[", ".").replace("]", "").split("."))


@pytest.mark.parametrize(
    ("patch", "path", "problem"),
    [
        # values the schema used to accept and only the engine refused, under the engine's path
        (lambda d: d["agents"][0].update(policy={"type": "Deadline"}), "agents[0].policy.urgency_threshold",
         "is required"),
        (lambda d: d.update(lsm={"mode": "cycles", "max_cycle_length": 20}), "lsm.max_cycle_length",
         "must be between 2 and 12"),
        (
            lambda d: d["agents"][1].update(
                policy={"type": "LiquidityAware", "target_buffer": -1, "urgency_threshold": 3}
            ),
            "agents[1].policy.target_buffer", "must be between 0 and",
        ),
        (lambda d: d["agents"][0].update(policy={"type": "Splitting", "max_parts": 2000, "min_part": 5}),
         "agents[0].policy.max_parts", "must be between 2 and 1000"),
        (lambda d: d["agents"][0].update(arrival_config={"rate_per_tick": 20000, "distribution": {"type": "Exponential",
                                                                                               "mean": 5}}),
         "agents[0].arrival_config.rate_per_tick", "must be between 0 and 10000"),
        (lambda d: d.update(costs={"eod_penalty": -1.0}), "costs.eod_penalty", "must be ≥ 0"),
        (lambda d: d["agents"][0].update(arrival_config={"rate_per_tick": float("nan"),
                                                         "distribution": {"type": "Exponential", "mean": 5}}),
         "agents[0].arrival_config.rate_per_tick", "expected a finite number"),
        # a bank expanded from a group is blamed on the group, naming the bank
        (lambda d: d.update(agent_groups=[{"id_prefix": "G", "count": 3, "balance": 5, "policy": {"type": "Fifo"}},
                                          {"id_prefix": "H", "count": 2, "balance": -4, "policy": {"type": "Fifo"}}]),
         "agent_groups[1].balance", "(bank H0)"),
        (lambda d: d.update(agent_groups=[{"id_prefix": "G", "count": 2, "balance": 5, "policy": {"type": "Fifo"},
                                           "arrival_config": {"rate_per_tick": 1, "distribution": {
                                               "type": "Uniform", "min": 9, "max": 3}}}]),
         "agent_groups[0].arrival_config.distribution.max", "must be ≥ min (bank G0)"),
    ],
)
def test_engine_rules_are_reported_at_the_scenario_path(patch: Any, path: str, problem: str) -> None:
    """The engine's validation judges the values; its paths (agent_configs[0].opening_balance,
    cost_rates, rng_seed) are translated to the fields the user wrote, for every surface."""
    data = minimal()
    patch(data)
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, prefix="scenario")
    assert info.value.path == f"scenario.{path}"
    assert problem in info.value.problem, info.value.problem
    # the pydantic error (what FastAPI turns into a 422) carries the same location
    with pytest.raises(ValidationError) as raw:
        SimulationConfig.model_validate(data)
    loc = raw.value.errors()[0]["loc"]
    assert format_loc(loc) == path


@pytest.mark.parametrize(
    ("engine_loc", "scenario_path"),
    [
        (("ticks_per_day",), "simulation.ticks_per_day"),
        (("num_days",), "simulation.num_days"),
        (("rng_seed",), "simulation.seed"),
        (("agent_configs",), "agents"),
        (("agent_configs", 3, "opening_balance"), "agents[3].balance"),
        (("agent_configs", 0, "arrival_config", "counterparty_weights", "BANK.X"),
         "agents[0].arrival_config.counterparty_weights.BANK.X"),
        (("cost_rates", "delay_cost_per_tick"), "costs.delay_cost_per_tick"),
        (("lsm", "max_cycle_length"), "lsm.max_cycle_length"),
        (("scheduled_payments", 2, "amount"), "scheduled_payments[2].amount"),
        (("scheduled_payments_file", 7, "amount"), "scheduled_payments_file[7].amount"),
    ],
)
def test_engine_locations_translate_to_scenario_paths(engine_loc: tuple[str | int, ...], scenario_path: str) -> None:
    loc, problem = scenario_loc(engine_loc, [None] * 4, "bad")
    assert (format_loc(loc), problem) == (scenario_path, "bad")


def test_translated_locations_keep_list_indexes_as_integers() -> None:
    """FastAPI reports ``loc`` as a list: ["body", "agents", 3, "balance"], as for pydantic's own errors."""
    assert scenario_loc(("agent_configs", 3, "opening_balance"), [None] * 4, "x")[0] == ("agents", 3, "balance")
    assert scenario_loc(("agent_configs", 5, "id"), [None] * 4 + [(1, "G0"), (1, "G1")], "dup") == (
        ("agent_groups", 1, "id_prefix"), "dup (bank G1)")


def test_engine_errors_carry_their_location_as_data() -> None:
    """The engine's error names its field as a tuple (not text to parse), the scenario's at its path."""
    engine = config_from_mapping(minimal()).to_rust_dict()
    engine["agent_configs"][1]["opening_balance"] = -1
    with pytest.raises(_core.ConfigError) as raw:
        _core.validate_config(engine)
    assert raw.value.loc == ("agent_configs", 1, "opening_balance")
    assert raw.value.problem.startswith("must be between 0 and")
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**minimal(), "agents": [{"id": "A", "balance": 1, "policy": {"type": "Fifo"}},
                                                     {"id": "B", "balance": -1, "policy": {"type": "Fifo"}}]})
    assert info.value.path == "agents[1].balance"
    assert isinstance(info.value, errors.PaysimError)


big_ints = st.integers(-(2**65), 2**65)
numbers = st.one_of(big_ints, st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def risky_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Well-shaped scenarios whose numbers may be anything: the engine's rules decide."""
    n = draw(st.integers(1, 3))
    agents = []
    for i in range(n):
        policy = draw(st.sampled_from([
            {"type": "Fifo"},
            {"type": "Deadline", "urgency_threshold": draw(big_ints)},
            {"type": "LiquidityAware", "target_buffer": draw(big_ints), "urgency_threshold": draw(st.integers(0, 5))},
            {"type": "Splitting", "max_parts": draw(big_ints), "min_part": draw(big_ints)},
        ]))
        agent: dict[str, Any] = {"id": f"B{i}", "balance": draw(big_ints), "credit_limit": draw(big_ints),
                                 "policy": policy}
        if n > 1 and draw(st.booleans()):
            agent["arrival_config"] = {
                "rate_per_tick": draw(numbers),
                "distribution": draw(st.sampled_from([
                    {"type": "Normal", "mean": draw(numbers), "std_dev": draw(numbers)},
                    {"type": "Uniform", "min": draw(numbers), "max": draw(numbers)},
                    {"type": "Exponential", "mean": draw(numbers)},
                ])),
                "deadline_offset": draw(big_ints),
                "priority": draw(st.integers(-3, 14)),
            }
        agents.append(agent)
    return {
        "simulation": {"ticks_per_day": draw(big_ints), "num_days": draw(st.integers(-1, 3)), "seed": draw(big_ints)},
        "agents": agents,
        "lsm": {"max_cycle_length": draw(st.integers(-2, 20))},
        "costs": {"delay_cost_per_tick": draw(numbers)},
    }


ENGINE_ONLY_NAMES = ("agent_configs", "opening_balance", "cost_rates", "rng_seed")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(risky_scenarios())
def test_schema_and_engine_agree(data: dict[str, Any]) -> None:
    """Whatever the schema accepts, the engine builds; whatever it refuses is named by a scenario
    path (never an engine spelling)."""
    cfg = attempt(lambda: config_from_mapping(data), ConfigError)
    if isinstance(cfg, ConfigError):
        assert "\n" not in str(cfg)
        assert not any(name in cfg.path for name in ENGINE_ONLY_NAMES), str(cfg)
        return
    if cfg.simulation.ticks_per_day * cfg.simulation.num_days <= 10_000:
        _core.Orchestrator.new(cfg.to_rust_dict())
    else:
        _core.validate_config(cfg.to_rust_dict())


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
        "lsm": {"mode": draw(st.sampled_from(["none", "bilateral", "cycles", "multilateral", "t2"]))},
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_valid_scenario_is_accepted_by_the_engine(data: dict[str, Any]) -> None:
    cfg = config_from_mapping(data)
    orch = _core.Orchestrator.new(cfg.to_rust_dict())
    assert orch.get_agent_ids() == [a["id"] for a in data["agents"]]
    assert orch.total_ticks() == data["simulation"]["ticks_per_day"] * data["simulation"]["num_days"]


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["simulation", "agents", "costs", "lsm", "rtgs", "drop_expired",
                                        "end_of_day", "scheduled_payments", "agent_groups", "junk"]),
                       json_values, max_size=5))
def test_junk_gets_a_config_error_never_a_crash(data: dict[str, Any]) -> None:
    result = attempt(lambda: config_from_mapping(data), ConfigError)
    if isinstance(result, ConfigError):
        assert "\n" not in str(result)
        assert str(result)


def test_keys_and_values_with_line_breaks_still_give_one_line() -> None:
    """Found by the junk property: an unknown key "\\n" was printed raw, breaking the one-line rule."""
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"simulation": {"\n": 1, "ticks_per_day": 3}, "agents": []})
    assert str(info.value) == "simulation['\\n']: unknown key (not part of the scenario schema)"
    data = minimal(scheduled_payments=[{"sender": "A", "receiver": "Z\n", "amount": 1, "arrival_tick": 0}])
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data)
    assert str(info.value) == "scheduled_payments[0].receiver: unknown bank 'Z\\n'"

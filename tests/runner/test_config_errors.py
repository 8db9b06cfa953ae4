"""Bad scenarios (docs/runner.md#scenario-schema): every bad value, and every engine rule it breaks, is named
by its scenario field path in one line; junk never crashes the schema or the engine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from paysim_runner import _core, errors
from paysim_runner.config import (
    ConfigError,
    SimulationConfig,
    config_from_mapping,
    format_loc,
    scenario_loc,
)
from tests.helpers.outcomes import attempt
from tests.helpers.runner import minimal_scenario


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
         "'none', 'bilateral', 'cycles', 'multilateral', 't2', 't2_classic' or 'optimal'"),
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
    data = minimal_scenario()
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
        (lambda d: d.update(tick_log={"every": 0}), "tick_log.every", "must be between 1 and 2147483647, got 0"),
        (lambda d: d.update(tick_log={"every": 4, "at": "day_end"}), "tick_log", "give either every or at, not both"),
        (lambda d: d["agents"][0].update(arrival_config={"rate_per_tick": float("nan"),
                                                         "distribution": {"type": "Exponential", "mean": 5}}),
         "agents[0].arrival_config.rate_per_tick", "finite number"),
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
    data = minimal_scenario()
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
    engine = config_from_mapping(minimal_scenario()).to_rust_dict()
    engine["agent_configs"][1]["opening_balance"] = -1
    with pytest.raises(_core.ConfigError) as raw:
        _core.validate_config(engine)
    assert raw.value.loc == ("agent_configs", 1, "opening_balance")
    assert raw.value.problem.startswith("must be between 0 and")
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**minimal_scenario(), "agents": [{"id": "A", "balance": 1, "policy": {"type": "Fifo"}},
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
    data = minimal_scenario(scheduled_payments=[{"sender": "A", "receiver": "Z\n", "amount": 1, "arrival_tick": 0}])
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data)
    assert str(info.value) == "scheduled_payments[0].receiver: unknown bank 'Z\\n'"

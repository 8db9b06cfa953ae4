"""Random arrivals (docs/semantics.md#arrivals and #random-numbers): what they draw, and that each bank's stream
is its own, so what-if changes leave every random payment identical (common random numbers)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from paysim_runner.config import CONF_DIR, load_config
from tests.helpers.engine import bank, build, comparable_metrics, logs_equal, scenario, transactions


def arrivals_of(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    orch = build(cfg)
    orch.run()
    return [row for row in transactions(orch) if row["parent_id"] == -1]


def one_sender(arrival_config: dict[str, Any], ticks: int = 400, banks: int = 3) -> list[dict[str, Any]]:
    agents = [bank("A", 10**9, arrivals=arrival_config)] + [bank(f"R{i}", 0) for i in range(banks - 1)]
    return arrivals_of(scenario(agents, ticks=ticks, seed=11))


def amounts(arrival_config: dict[str, Any], ticks: int = 2000) -> np.ndarray:
    return np.array([row["amount"] for row in one_sender(arrival_config, ticks)])


def test_poisson_count_has_the_configured_mean() -> None:
    rows = one_sender({"rate_per_tick": 2.0, "distribution": {"type": "Uniform", "min": 1, "max": 9}}, ticks=2000)
    assert len(rows) / 2000 == pytest.approx(2.0, abs=0.15)
    per_tick = np.bincount([row["arrival_tick"] for row in rows], minlength=2000)
    assert per_tick.var() == pytest.approx(2.0, rel=0.15)  # Poisson: variance equals mean


def test_zero_rate_means_no_arrivals() -> None:
    assert one_sender({"rate_per_tick": 0.0, "distribution": {"type": "Uniform", "min": 1, "max": 9}}) == []


def test_uniform_amounts_stay_in_range() -> None:
    drawn = amounts({"rate_per_tick": 1.0, "distribution": {"type": "Uniform", "min": 100, "max": 200}})
    assert drawn.min() >= 100
    assert drawn.max() <= 200
    assert drawn.mean() == pytest.approx(150, rel=0.05)


def test_normal_amounts_are_rounded_and_at_least_one() -> None:
    drawn = amounts({"rate_per_tick": 1.0, "distribution": {"type": "Normal", "mean": 0, "std_dev": 3}})
    assert drawn.min() >= 1
    assert (drawn == 1).mean() > 0.5  # every draw <= 1 rounds up to the floor of one minor unit


def test_normal_amounts_have_the_configured_mean() -> None:
    drawn = amounts({"rate_per_tick": 1.0, "distribution": {"type": "Normal", "mean": 100_000, "std_dev": 20_000}})
    assert drawn.mean() == pytest.approx(100_000, rel=0.02)
    assert drawn.std() == pytest.approx(20_000, rel=0.1)


def test_lognormal_amounts_have_the_configured_median() -> None:
    drawn = amounts({"rate_per_tick": 1.0, "distribution": {"type": "LogNormal", "mean_log": 9.0, "std_dev_log": 0.5}})
    assert np.median(drawn) == pytest.approx(np.exp(9.0), rel=0.06)
    assert np.log(drawn).std() == pytest.approx(0.5, rel=0.1)


def test_exponential_amounts_have_the_configured_mean() -> None:
    drawn = amounts({"rate_per_tick": 1.0, "distribution": {"type": "Exponential", "mean": 5000}})
    assert drawn.mean() == pytest.approx(5000, rel=0.08)


def test_counterparty_weights_pick_receivers() -> None:
    rows = one_sender({"rate_per_tick": 1.0, "distribution": {"type": "Uniform", "min": 1, "max": 9},
                       "counterparty_weights": {"R1": 3.0, "R2": 1.0}}, ticks=2000, banks=4)
    receivers = [row["receiver"] for row in rows]
    assert set(receivers) == {"R1", "R2"}  # R0 is unlisted: weight 0
    assert receivers.count("R1") / len(receivers) == pytest.approx(0.75, abs=0.04)


def test_no_weights_means_uniform_over_the_other_banks() -> None:
    rows = one_sender({"rate_per_tick": 1.0, "distribution": {"type": "Uniform", "min": 1, "max": 9}},
                      ticks=3000, banks=4)
    receivers = [row["receiver"] for row in rows]
    assert "A" not in receivers
    shares = [receivers.count(r) / len(receivers) for r in ("R0", "R1", "R2")]
    assert shares == pytest.approx([1 / 3] * 3, abs=0.04)


def test_deadline_priority_and_divisibility_follow_the_config() -> None:
    rows = one_sender({"rate_per_tick": 1.0, "distribution": {"type": "Uniform", "min": 1, "max": 9},
                       "deadline_offset": 7, "priority": 9, "divisible": True}, ticks=50)
    assert rows
    assert all(row["deadline_tick"] == row["arrival_tick"] + 7 for row in rows)
    assert all(row["priority"] == 9 for row in rows)
    assert all(row["divisible"] for row in rows)


def test_arrival_defaults() -> None:
    rows = one_sender({"rate_per_tick": 1.0, "distribution": {"type": "Uniform", "min": 1, "max": 9}}, ticks=50)
    assert rows
    assert all(row["deadline_tick"] == row["arrival_tick"] + 50 for row in rows)
    assert all(row["priority"] == 5 for row in rows)
    assert not any(row["divisible"] for row in rows)


def test_scheduled_payments_arrive_before_random_ones_in_a_tick() -> None:
    cfg = scenario(
        [bank("A", 10**6, arrivals={"rate_per_tick": 3.0, "distribution": {"type": "Uniform", "min": 1, "max": 9}}),
         bank("B", 0)],
        [{"sender": "B", "receiver": "A", "amount": 1000, "arrival_tick": 2}],
        ticks=5,
    )
    rows = arrivals_of(cfg)
    tick2 = [row for row in rows if row["arrival_tick"] == 2]
    assert tick2[0]["amount"] == 1000
    assert all(row["sender"] == "A" for row in tick2[1:])


# ---------------------------------------------------------------- common random numbers


def crn_base() -> dict[str, Any]:
    """Four banks, each with its own distribution and weights; tight liquidity so what-ifs matter."""
    dists = [
        {"type": "LogNormal", "mean_log": 8.0, "std_dev_log": 1.0},
        {"type": "Normal", "mean": 3000, "std_dev": 800},
        {"type": "Uniform", "min": 500, "max": 6000},
        {"type": "Exponential", "mean": 2500},
    ]
    agents = []
    for i, dist in enumerate(dists):
        arrivals = {
            "rate_per_tick": 0.3 + 0.2 * i, "distribution": dist, "deadline_offset": 5 + i, "divisible": i % 2 == 0,
        }
        if i == 1:
            arrivals["counterparty_weights"] = {"B0": 2.0, "B3": 1.0}
        agents.append(bank(f"B{i}", 8_000, 2_000, arrivals=arrivals))
    return scenario(agents, ticks=40, days=2, seed=2024, lsm="t2")


def random_streams(cfg: dict[str, Any]) -> dict[str, list[tuple]]:
    """Each bank's random arrivals in order, scheduled payments (priority 10) left out."""
    streams: dict[str, list[tuple]] = {}
    for row in arrivals_of(cfg):
        if row["priority"] == 10:
            continue
        fields = ("receiver", "amount", "arrival_tick", "deadline_tick", "priority", "divisible")
        streams.setdefault(row["sender"], []).append(tuple(row[field] for field in fields))
    return streams


def what_if(change: str) -> dict[str, Any]:
    cfg = copy.deepcopy(crn_base())
    agents = cfg["agent_configs"]
    if change == "policy_deadline":
        agents[2]["policy"] = {"type": "Deadline", "urgency_threshold": 1}
    elif change == "policy_splitting":
        agents[0]["policy"] = {"type": "Splitting", "max_parts": 4, "min_part": 200}
    elif change == "policy_liquidity_aware":
        agents[3]["policy"] = {"type": "LiquidityAware", "target_buffer": 5_000, "urgency_threshold": 2}
    elif change.startswith("lsm_"):
        cfg["lsm"] = {"mode": change.removeprefix("lsm_")}
    elif change == "credit_limit":
        agents[1]["credit_limit"] = 50_000
    elif change == "scheduled_payments":
        cfg["scheduled_payments"] = [
            {"sender": f"B{t % 4}", "receiver": f"B{(t + 1) % 4}", "amount": 7_777 + t, "arrival_tick": t,
             "priority": 10}
            for t in range(0, 80, 3)
        ]
    elif change == "strict_fifo":
        cfg["rtgs"] = {"queue": "strict_fifo"}
    elif change == "carry_and_keep_late":
        cfg["end_of_day"] = {"unsettled": "carry"}
        cfg["drop_expired"] = False
    elif change == "costs":
        cfg["cost_rates"] = {**cfg["cost_rates"], "delay_cost_per_tick": 1.0, "eod_penalty": 9.0}
    else:
        raise AssertionError(change)
    return cfg


CHANGES = [
    "policy_deadline", "policy_splitting", "policy_liquidity_aware", "lsm_none", "lsm_bilateral", "lsm_cycles",
    "lsm_multilateral", "credit_limit", "scheduled_payments", "strict_fifo", "carry_and_keep_late", "costs",
]


@pytest.fixture(scope="module")
def baseline_streams() -> dict[str, list[tuple]]:
    streams = random_streams(crn_base())
    assert set(streams) == {"B0", "B1", "B2", "B3"}
    assert all(len(s) > 10 for s in streams.values())
    return streams


@pytest.mark.parametrize("change", CHANGES)
def test_what_if_changes_leave_every_random_arrival_identical(change: str, baseline_streams: dict) -> None:
    assert random_streams(what_if(change)) == baseline_streams


def test_what_if_changes_do_change_outcomes() -> None:
    """The CRN test above would be vacuous if the changes did nothing."""
    def outcome(cfg: dict[str, Any]) -> list[tuple]:
        return [(r["status"], r["settle_tick"]) for r in arrivals_of(cfg)]

    base = outcome(crn_base())
    for change in ("policy_deadline", "lsm_none", "credit_limit"):
        assert outcome(what_if(change)) != base, change


def test_a_different_seed_changes_the_arrivals(baseline_streams: dict) -> None:
    cfg = crn_base()
    cfg["rng_seed"] = 2025
    assert random_streams(cfg) != baseline_streams


def test_banks_streams_do_not_depend_on_each_others_rates(baseline_streams: dict) -> None:
    """Switching B3's arrivals off leaves B0-B2's streams alone (B3 is a receiver of B1 only by weight)."""
    cfg = crn_base()
    cfg["agent_configs"][3]["arrival_config"]["rate_per_tick"] = 0.0
    streams = random_streams(cfg)
    assert "B3" not in streams
    assert {k: v for k, v in streams.items()} == {k: baseline_streams[k] for k in ("B0", "B1", "B2")}


def _listed_as_weights(engine: dict[str, Any]) -> dict[str, Any]:
    """``engine`` with every ``receivers_by_size`` arrival given its sizes as listed
    ``counterparty_weights`` instead: how agent groups expanded before one size table was shared."""
    out = copy.deepcopy(engine)
    sizes = {a["id"]: a.get("size", 1.0) for a in out["agent_configs"]}
    for a in out["agent_configs"]:
        arrivals = a.get("arrival_config")
        if arrivals and arrivals.pop("receivers_by_size", False):
            arrivals["counterparty_weights"] = {b: s for b, s in sizes.items() if b != a["id"]}
    return out


@pytest.mark.parametrize("name", ["fifty_bank_core_periphery", "t2_day"])
def test_groups_by_size_draw_exactly_what_listed_weights_drew(name: str) -> None:
    """The shipped group scenarios give byte-identical logs whether receivers come from the shared
    size table or from a weight per pair (the old expansion, O(banks²))."""
    engine = load_config(CONF_DIR / "scenario" / f"{name}.yaml").to_rust_dict()
    if name == "t2_day":  # the first 30 ticks are enough to draw ~20,000 payments
        engine["ticks_per_day"] = 30
    assert any(a.get("arrival_config", {}).get("receivers_by_size") for a in engine["agent_configs"])
    by_size, listed = build(engine), build(_listed_as_weights(engine))
    by_size.run()
    listed.run()
    assert len(transactions(by_size)) > 1000
    assert transactions(by_size) == transactions(listed)
    assert logs_equal(by_size.tick_log(), listed.tick_log())
    assert comparable_metrics(by_size) == comparable_metrics(listed)

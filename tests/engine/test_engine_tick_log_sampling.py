"""``tick_log: {every: k}`` / ``{at: day_end}`` through the Python extension
(docs/semantics.md#tick-log-sampling): fewer rows, the same per-day flows, and every metric, the
transaction log and the event log exactly as with every tick logged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paysim_runner import _core, errors

LEVELS = ("balance", "credit_used", "queue1_count", "queue1_value", "queue2_count", "queue2_value")


def day(n_banks: int, ticks: int, days: int, seed: int, lsm: str, balance: int) -> dict[str, Any]:
    """Random lognormal payments among ``n_banks`` short of liquidity, so queues and costs move."""
    return {
        "ticks_per_day": ticks, "num_days": days, "rng_seed": seed, "lsm": {"mode": lsm},
        "agent_configs": [
            {"id": f"B{i}", "opening_balance": balance, "credit_limit": balance // 2, "policy": {"type": "Fifo"},
             "arrival_config": {"rate_per_tick": 0.9, "deadline_offset": 4,
                                "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0}}}
            for i in range(n_banks)
        ],
    }


def ran(cfg: dict[str, Any], tick_log: dict[str, Any] | None = None) -> Any:
    orch = _core.Orchestrator.new(cfg if tick_log is None else {**cfg, "tick_log": tick_log})
    orch.run()
    return orch


def per_day_sums(log: dict[str, np.ndarray], ticks_per_day: int) -> dict[str, np.ndarray]:
    """Each flow column summed per (day, bank), in (day, bank) order."""
    key = (log["tick"] // ticks_per_day) * 1_000 + log["bank"]
    order = np.argsort(key, kind="stable")
    _, starts = np.unique(key[order], return_index=True)
    flows = [name for name in log if name.startswith(("value_", "settled_", "cost_"))]
    return {name: np.add.reduceat(log[name][order], starts) for name in flows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_banks=st.integers(2, 5), ticks=st.integers(1, 12), days=st.integers(1, 3), seed=st.integers(0, 10_000),
       lsm=st.sampled_from(["none", "t2", "t2_classic"]), balance=st.integers(0, 3_000),
       option=st.one_of(st.integers(1, 15).map(lambda k: {"every": k}), st.just({"at": "day_end"})))
def test_sampled_logs_keep_the_day_totals_and_change_no_metric(
    n_banks: int, ticks: int, days: int, seed: int, lsm: str, balance: int, option: dict[str, Any]
) -> None:
    cfg = day(n_banks, ticks, days, seed, lsm, balance)
    full, sampled = ran(cfg), ran(cfg, option)
    everything, some = full.tick_log(), sampled.tick_log()

    k = option.get("every", ticks)
    in_day = np.arange(ticks * days) % ticks + 1
    logged = np.flatnonzero((in_day % k == 0) | (in_day == ticks))
    assert np.array_equal(np.unique(some["tick"]), logged)
    assert len(some["tick"]) == len(logged) * n_banks
    rows = np.isin(everything["tick"], logged)
    for name in ("tick", "bank", *LEVELS):
        assert np.array_equal(some[name], everything[name][rows]), name

    totals, sampled_totals = per_day_sums(everything, ticks), per_day_sums(some, ticks)
    for name, values in totals.items():
        if name.startswith("cost_"):
            np.testing.assert_allclose(sampled_totals[name], values, rtol=1e-9, atol=1e-9, err_msg=name)
        else:
            assert np.array_equal(sampled_totals[name], values), name

    a, b = full.metrics(), sampled.metrics()
    del a["engine_seconds"], b["engine_seconds"]  # wall time, different in any two runs
    assert a == b
    for log in ("transaction_log", "event_log"):
        x, y = getattr(full, log)(), getattr(sampled, log)()
        assert x.keys() == y.keys()
        assert all(np.array_equal(x[c], y[c]) for c in x), log


def test_day_end_is_one_row_per_bank_and_day_and_every_1_is_the_default() -> None:
    cfg = day(3, 10, 4, seed=5, lsm="t2", balance=800)
    log = ran(cfg, {"at": "day_end"}).tick_log()
    assert log["tick"].tolist() == [t for t in (9, 19, 29, 39) for _ in range(3)]
    assert log["bank"].tolist() == [0, 1, 2] * 4
    default, every_1 = ran(cfg).tick_log(), ran(cfg, {"every": 1}).tick_log()
    assert all(np.array_equal(default[c], every_1[c]) for c in default)
    assert all(default[c].dtype == every_1[c].dtype for c in default)


@pytest.mark.parametrize(("tick_log", "loc", "problem"), [
    ({"every": 0}, ("tick_log", "every"), "must be between 1 and 2147483647, got 0"),
    ({"every": 2.5}, ("tick_log", "every"), "expected an integer, got a float"),
    ({"at": "noon"}, ("tick_log", "at"), "unknown tick-log point 'noon' (expected day_end)"),
    ({"every": 3, "at": "day_end"}, ("tick_log",), "give either every or at, not both"),
    ({"sample": 3}, ("tick_log", "sample"), "unknown key (expected one of: at, every)"),
    ("day_end", ("tick_log",), "expected a mapping, got a string"),
])
def test_bad_tick_log_values_name_the_field(tick_log: Any, loc: tuple[str, ...], problem: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        _core.Orchestrator.new({**day(2, 5, 1, 1, "none", 100), "tick_log": tick_log})
    assert (tuple(caught.value.loc), caught.value.problem) == (loc, problem)

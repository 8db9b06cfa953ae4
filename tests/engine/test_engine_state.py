"""save_state / load_state (docs/semantics.md#python-api-of-the-extension): a restored engine continues exactly
as the original would have, and no byte string, however mangled, takes the interpreter down."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paysim_runner._core import StateError
from tests.helpers import REPO
from tests.helpers.engine import (
    Orchestrator,
    balances,
    bank,
    build,
    comparable_metrics,
    logs_equal,
    run_ticks,
    scenario,
)
from tests.helpers.invariants import assert_invariants
from tests.helpers.state import resummed


def busy_config() -> dict[str, Any]:
    """Random arrivals, every policy, splitting, LSM, penalties, two days with carry: lots of state."""
    policies = [
        {"type": "Fifo"},
        {"type": "Deadline", "urgency_threshold": 2},
        {"type": "LiquidityAware", "target_buffer": 2_000, "urgency_threshold": 1},
        {"type": "Splitting", "max_parts": 3, "min_part": 300},
    ]
    agents = [
        bank(f"B{i}", 4_000, 1_500, policies[i], {
            "rate_per_tick": 0.7, "distribution": {"type": "LogNormal", "mean_log": 7.5, "std_dev_log": 0.8},
            "deadline_offset": 6, "divisible": True, "priority": 3 + 2 * i})
        for i in range(4)
    ]
    costs = {"liquidity_cost_per_unit_per_tick": 1e-4, "delay_cost_per_tick": 1e-5, "split_friction_cost": 2.0,
             "deadline_penalty": 10.0, "eod_penalty": 50.0, "collateral_cost_per_unit_per_tick": 1e-6}
    return scenario(agents, ticks=30, days=2, seed=99, lsm="t2", costs=costs,
                    end_of_day={"unsettled": "carry"}, drop_expired=False)


def assert_same_engine(a: Orchestrator, b: Orchestrator) -> None:
    assert a.current_tick() == b.current_tick()
    assert a.is_finished() == b.is_finished()
    assert balances(a) == balances(b)
    assert logs_equal(a.tick_log(), b.tick_log())
    assert logs_equal(a.transaction_log(), b.transaction_log())
    assert comparable_metrics(a) == comparable_metrics(b)


@pytest.mark.parametrize("stop_at", [0, 1, 17, 30, 44, 60])
def test_restored_engine_finishes_exactly_like_an_uninterrupted_run(stop_at: int) -> None:
    cfg = busy_config()
    uninterrupted = build(cfg)
    uninterrupted.run()

    original = build(cfg)
    run_ticks(original, stop_at)
    restored = Orchestrator.load_state(original.save_state())
    assert_same_engine(restored, original)  # identical at the point of saving
    restored.run()
    original.run()
    assert_same_engine(restored, uninterrupted)
    assert_same_engine(original, uninterrupted)
    assert_invariants(restored, cfg)


def test_restore_keeps_submitted_payments_and_config() -> None:
    cfg = busy_config()
    orch = build(cfg)
    run_ticks(orch, 5)
    orch.submit_transaction({"sender": "B0", "receiver": "B1", "amount": 123, "deadline_offset": 3, "priority": 9})
    restored = Orchestrator.load_state(orch.save_state())
    assert restored.get_agent_ids() == orch.get_agent_ids()
    assert restored.total_ticks() == 60
    assert restored.ticks_per_day() == 30
    assert restored.get_queue1_size("B0") == orch.get_queue1_size("B0")
    # the next tx_id continues the sequence in both
    a = orch.submit_transaction({"sender": "B2", "receiver": "B3", "amount": 5})
    b = restored.submit_transaction({"sender": "B2", "receiver": "B3", "amount": 5})
    assert a == b
    orch.run()
    restored.run()
    assert_same_engine(restored, orch)


def test_identical_runs_save_interchangeable_states() -> None:
    """Two identical runs save states that restore to identical engines. (The bytes themselves may
    differ: they carry engine wall-clock time, which is not a simulation result.)"""
    one, two = build(busy_config()), build(busy_config())
    run_ticks(one, 23)
    run_ticks(two, 23)
    a, b = Orchestrator.load_state(one.save_state()), Orchestrator.load_state(two.save_state())
    assert_same_engine(a, b)
    a.run()
    b.run()
    assert_same_engine(a, b)


def test_finished_engine_round_trips() -> None:
    orch = build(busy_config())
    orch.run()
    restored = Orchestrator.load_state(orch.save_state())
    assert restored.is_finished()
    assert_same_engine(restored, orch)
    with pytest.raises(RuntimeError):
        restored.tick()


@pytest.mark.parametrize("blob", [b"", b"PAYSIM", b"not a state at all", bytes(range(256)) * 4])
def test_garbage_state_is_a_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError, match=r"^cannot restore state: not a paysim engine state"):
        Orchestrator.load_state(blob)


def test_truncated_state_is_a_value_error() -> None:
    orch = build(busy_config())
    run_ticks(orch, 10)
    state = orch.save_state()
    for cut in (7, len(state) // 3, len(state) // 2, len(state) - 1):
        with pytest.raises(ValueError, match=r"^cannot restore state: "):
            Orchestrator.load_state(state[:cut])


def test_non_bytes_state_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Orchestrator.load_state("PAYSIM")  # type: ignore[arg-type]


MANGLER = textwrap.dedent(
    """
    import random, sys
    sys.path.insert(0, sys.argv[1])
    from tests.engine.test_engine_state import busy_config
    from tests.helpers.engine import build, run_ticks
    from tests.helpers.invariants import assert_invariants
    from paysim_runner._core import Orchestrator
    cfg = busy_config()
    orch = build(cfg)
    run_ticks(orch, 12)
    state = bytearray(orch.save_state())
    rng = random.Random(5)
    outcomes = {"rejected": 0, "ran": 0, "runtime_error": 0, "silent_breach": 0, "panic": 0}
    panics = []
    for _ in range(400):
        blob = bytearray(state)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(blob))
            blob[pos] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        try:
            restored = Orchestrator.load_state(bytes(blob))
        except ValueError:
            outcomes["rejected"] += 1
            continue
        try:
            for _ in range(8):
                if restored.is_finished():
                    break
                restored.tick()
            restored.metrics(); restored.tick_log(); restored.transaction_log()
            states = restored.agent_states()
            if sum(a["balance"] for a in states) != sum(a["opening_balance"] for a in states) or any(
                a["balance"] < -a["credit_limit"] for a in states
            ):
                outcomes["silent_breach"] += 1
            else:
                outcomes["ran"] += 1
        except RuntimeError:
            outcomes["runtime_error"] += 1  # an invariant breach reported as an exception is acceptable
        except BaseException as exc:  # pyo3's PanicException escapes `except Exception`
            if type(exc).__name__ != "PanicException":
                raise
            outcomes["panic"] += 1
            panics.append(str(exc))
    print(sorted(set(panics))[:5])
    print(outcomes)
    """
)


def test_mangled_states_never_crash_the_interpreter(tmp_path: Any) -> None:
    """Bit-flipped states either load and run, or raise; run in a child so a crash is caught, not suffered."""
    child = subprocess.run([sys.executable, "-c", MANGLER, str(REPO)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, f"child died ({child.returncode}): {child.stderr[-2000:]}"
    outcomes = eval(child.stdout.strip().splitlines()[-1])  # the child's printed dict
    assert outcomes["panic"] == 0, f"mangled states loaded, then panicked: {child.stdout[-1500:]}"
    assert outcomes["silent_breach"] == 0, f"mangled states ran with broken invariants: {outcomes}"
    assert outcomes["rejected"] > 0


SAVED_MID_RUN: dict[int, bytes] = {}


def saved_mid_run(stop_at: int) -> bytes:
    if stop_at not in SAVED_MID_RUN:
        orch = build(busy_config())
        run_ticks(orch, stop_at)
        orch.submit_transaction({"sender": "B3", "receiver": "B0", "amount": 777, "deadline_offset": 2})
        SAVED_MID_RUN[stop_at] = orch.save_state()
    return SAVED_MID_RUN[stop_at]


edits = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**32), st.integers(0, 7)),
    st.tuples(st.just("overwrite"), st.integers(0, 2**32), st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01])),
    st.tuples(st.just("run"), st.integers(0, 2**32), st.sampled_from([0x00, 0xFF])),
    st.tuples(st.just("truncate"), st.integers(0, 2**32), st.just(0)),
)


def edited(state: bytes, edit: tuple[str, int, int]) -> bytes:
    kind, at, value = edit
    body = bytearray(state[8:-8])
    pos = at % len(body)
    if kind == "flip":
        body[pos] ^= 1 << value
    elif kind == "overwrite":
        body[pos] = value
    elif kind == "run":
        body[pos:pos + 8] = bytes([value]) * len(body[pos:pos + 8])
    else:
        del body[pos:]
    return resummed(state, bytes(body))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stop_at=st.sampled_from([0, 9, 31]), edit=edits)
def test_edited_state_with_a_fresh_checksum_is_refused_or_runs_cleanly(
    stop_at: int, edit: tuple[str, int, int]
) -> None:
    """The checksum finds damage, not edits: an edited payload re-summed passes it. Then load_state
    checks the structure (docs/semantics.md#python-api-of-the-extension): it raises StateError,
    or the engine it gives ticks on (up to 400 ticks: an edited num_days may make the run
    very long) and reports metrics and logs with no panic and no InvariantViolation."""
    try:
        restored = Orchestrator.load_state(edited(saved_mid_run(stop_at), edit))
    except StateError:
        return
    for _ in range(400):
        if restored.is_finished():
            break
        restored.tick()
    restored.metrics()
    restored.tick_log()
    restored.transaction_log()
    restored.agent_states()


def test_an_edited_state_names_what_is_inconsistent() -> None:
    """A structured edit: the last payment's sender set to a bank index past the four banks."""
    state = saved_mid_run(9)
    body = state[8:-8]
    encoded = (3).to_bytes(4, "little") + (0).to_bytes(4, "little") + (777).to_bytes(8, "little")
    assert body.count(encoded) == 1
    forged = resummed(state, body.replace(encoded, (9).to_bytes(4, "little") + encoded[4:]))
    with pytest.raises(StateError, match=r"corrupt state: payments\[\d+\]: bank index out of range") as caught:
        Orchestrator.load_state(forged)
    assert "\n" not in str(caught.value)

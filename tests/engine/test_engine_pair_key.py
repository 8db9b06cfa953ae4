"""Pair keys (docs/semantics.md#pair-keys): (sender, pair_key) names the same random or scheduled
payment in every cell of a sweep, whatever a policy splits and whatever scheduled payments are added,
so per-payment comparisons under common random numbers can join on it. tx_id cannot: it numbers
payments and parts in creation order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.engine import bank, build, pay, scenario, transactions

SPLITTING = {"type": "Splitting", "max_parts": 4, "min_part": 100}
FIFO = {"type": "Fifo"}
RANDOM, SCHEDULED, SUBMITTED = 0, 1, 2


def origin(key: int) -> int:
    return key >> 32


def system(n_banks: int, rate: float, seed: int, policy: dict[str, Any],
           scheduled: list[dict[str, Any]] | tuple = ()) -> dict[str, Any]:
    """Short liquidity and divisible lognormal payments, so Splitting splits and queues form."""
    arrivals = {"rate_per_tick": rate, "distribution": {"type": "LogNormal", "mean_log": 8.0, "std_dev_log": 1.0},
                "deadline_offset": 6, "divisible": True}
    agents = [bank(f"B{i}", 2_000, 1_000, policy, arrivals) for i in range(n_banks)]
    return scenario(agents, scheduled, ticks=12, days=2, seed=seed, lsm="t2")


def originals(cfg: dict[str, Any]) -> dict[tuple[str, int], tuple[str, int, int, int]]:
    """Every payment as ordered (parts left out): (sender, pair_key) -> (receiver, amount, arrival tick, tx_id)."""
    orch = build(cfg)
    orch.run()
    rows = [r for r in transactions(orch) if r["parent_id"] == -1]
    keyed = {(r["sender"], r["pair_key"]): (r["receiver"], r["amount"], r["arrival_tick"], r["tx_id"]) for r in rows}
    assert len(keyed) == len(rows), "(sender, pair_key) is unique among payments as ordered"
    return keyed


def paired_share(baseline: dict[tuple[str, int], tuple], other: dict[tuple[str, int], tuple], kind: int) -> float:
    """Share of `baseline`'s payments of origin `kind` found under the same key in `other`, same payment."""
    mine = {k: v[:3] for k, v in baseline.items() if origin(k[1]) == kind}
    return sum(other.get(k, (None,))[:3] == v for k, v in mine.items()) / len(mine)


def tx_id_share(baseline: dict[tuple[str, int], tuple], other: dict[tuple[str, int], tuple]) -> float:
    """The same share when payments are matched by tx_id instead."""
    by_tx = {v[3]: v[:3] for v in other.values()}
    mine = [v for k, v in baseline.items() if origin(k[1]) == RANDOM]
    return sum(by_tx.get(v[3]) == v[:3] for v in mine) / len(mine)


@st.composite
def scheduled_payments(draw: st.DrawFn, n_banks: int) -> list[dict[str, Any]]:
    pairs = st.tuples(st.integers(0, n_banks - 1), st.integers(1, n_banks - 1))
    drawn = draw(st.lists(st.tuples(pairs, st.integers(1, 50_000), st.integers(0, 23)), min_size=1, max_size=12))
    return [pay(f"B{s}", f"B{(s + d) % n_banks}", amount, tick, divisible=True) for (s, d), amount, tick in drawn]


@settings(max_examples=40, deadline=None)
@given(n_banks=st.integers(2, 6), rate=st.floats(0.3, 2.0), seed=st.integers(0, 10_000), data=st.data())
def test_every_random_payment_pairs_across_policies_and_added_schedules(
    n_banks: int, rate: float, seed: int, data: st.DataObject,
) -> None:
    extra = data.draw(scheduled_payments(n_banks))
    fifo = originals(system(n_banks, rate, seed, FIFO))
    cells = {
        "splitting": originals(system(n_banks, rate, seed, SPLITTING)),
        "fifo + scheduled": originals(system(n_banks, rate, seed, FIFO, extra)),
        "splitting + scheduled": originals(system(n_banks, rate, seed, SPLITTING, extra)),
    }
    for name, cell in cells.items():
        assert paired_share(fifo, cell, RANDOM) == 1.0, name
    with_schedule = cells["fifo + scheduled"]
    assert paired_share(with_schedule, cells["splitting + scheduled"], SCHEDULED) == 1.0


def test_tx_id_misses_pairs_that_pair_key_finds() -> None:
    """The reproduction of issue 8: once payments are split, or scheduled ones added, tx_ids shift."""
    extra = [pay("B0", "B1", 40_000, 0, divisible=True), pay("B2", "B0", 30_000, 1)]
    fifo = originals(system(4, 1.5, 3, FIFO))
    splitting_cfg = system(4, 1.5, 3, SPLITTING)
    orch = build(splitting_cfg)
    orch.run()
    assert orch.metrics()["n_split"] > 0
    for cell in (originals(splitting_cfg), originals(system(4, 1.5, 3, FIFO, extra))):
        assert tx_id_share(fifo, cell) < 0.5
        assert paired_share(fifo, cell, RANDOM) == 1.0


def test_parts_carry_their_parents_key() -> None:
    orch = build(system(3, 1.5, 5, SPLITTING))
    orch.run()
    rows = transactions(orch)
    parts = [r for r in rows if r["parent_id"] != -1]
    assert parts
    assert all(r["pair_key"] == rows[r["parent_id"]]["pair_key"] for r in parts)


def test_keys_number_each_source_from_zero() -> None:
    """Random orders by the sender's own count, scheduled payments by list position, submissions by
    the sender's own count, each in its own range (origin = pair_key >> 32)."""
    arrivals = {"rate_per_tick": 1.0, "distribution": {"type": "Uniform", "min": 1, "max": 9}}
    agents = [bank("A", 100, arrivals=arrivals), bank("B", 100, arrivals=arrivals)]
    listed = [pay("B", "A", 5, 3), pay("A", "B", 5, 0), pay("A", "B", 5, 1)]
    orch = build(scenario(agents, listed, ticks=5))
    orch.tick()
    orch.submit_transaction({"sender": "B", "receiver": "A", "amount": 1})
    orch.submit_transaction({"sender": "B", "receiver": "A", "amount": 2})
    orch.run()
    rows = transactions(orch)
    for sender in ("A", "B"):
        randoms = [r["pair_key"] for r in rows if r["sender"] == sender and origin(r["pair_key"]) == RANDOM]
        assert randoms == list(range(len(randoms)))
    by_origin = {kind: [r for r in rows if origin(r["pair_key"]) == kind] for kind in (SCHEDULED, SUBMITTED)}
    scheduled = {r["pair_key"] - (SCHEDULED << 32): r["arrival_tick"] for r in by_origin[SCHEDULED]}
    assert scheduled == {0: 3, 1: 0, 2: 1}
    submitted = [(r["amount"], r["pair_key"] - (SUBMITTED << 32)) for r in by_origin[SUBMITTED]]
    assert submitted == [(1, 0), (2, 1)]

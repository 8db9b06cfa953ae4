"""Castro, Desai, Du, Garratt & Rivadeneyra (ACM TEAC 13(1), 2025): the two-period initial liquidity game.

Two banks choose their initial liquidity ℓ0 (a share of their collateral, on the grid 0, 0.05, …, 1)
before a two-period day. Bank A must pay B 0 in period 1 and 0.15 in period 2; B must pay A 0.15 and
0.05. In each period a bank sends what its liquidity covers; what it receives becomes usable in the
next period; what is still unpaid at the end of the day is borrowed from the central bank. Costs:
r_c = 0.1 per unit of ℓ0, r_d = 0.2 per unit of period-1 demand not sent in period 1, r_b = 0.4 per
unit borrowed at the end of the day.

Every cost is read from a paysim engine run of the day (README.md gives the mapping). The script
evaluates the full 21 × 21 grid, finds the Nash equilibrium by best-response iteration and compares
it with the paper's closed-form best response.

Run: ``.venv/bin/python experiments/castro_2025/run.py [--out DIR]``. Writes ``results.json``,
``costs.csv`` and ``best_response.png``; the same command gives the same bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from paysim_runner import _core
from paysim_runner.report import csv_bytes
from paysim_runner.storage import atomic_write_bytes

HERE = Path(__file__).resolve().parent

#: Minor units per 1.00 of collateral: every amount is a whole number of minor units.
UNIT = 1_000_000
#: Grid steps per 1.00 of collateral. ℓ0 and the demands are counted in steps internally (0.05 = 1
#: step), so no float grid value is ever compared; 0.05 of collateral is also the size of one payment.
STEPS = 20
STEP = UNIT // STEPS
GRID = range(STEPS + 1)
BANKS = ("A", "B")
#: Payment demand per period, in grid steps: P^A = [0, 0.15], P^B = [0.15, 0.05] (paper §6.3).
DEMAND: dict[str, tuple[int, int]] = {"A": (0, 3), "B": (3, 1)}
R_C, R_D, R_B = 0.1, 0.2, 0.4
#: Period 1 is tick 0, period 2 is tick 1; the close (end-of-day borrowing) follows tick 1.
TICKS = 2
#: The paper's stated equilibrium and costs (§6.3), for comparison.
PAPER_EQUILIBRIUM = {"A": 0.0, "B": 0.2}
PAPER_COSTS = {"A": 0.0, "B": 0.02}

Cell = tuple[int, int]  # (ℓ0 of A, ℓ0 of B), in grid steps


def other(bank: str) -> str:
    return BANKS[1 - BANKS.index(bank)]


def share(steps: int) -> float:
    """Grid steps as a share of collateral: 3 → 0.15 exactly (3 · 0.05 would give 0.15000000000000002)."""
    return steps / STEPS


def engine_config(cell: Cell) -> dict[str, Any]:
    """The day as an engine dict (docs/semantics.md#engine-configuration).

    ℓ0 is the bank's credit line against its collateral, on an opening balance of 0. Each demand is
    split into payments of one grid step, so "send what liquidity covers" is exact with indivisible
    payments. FIFO releases everything at once, gross settlement only (no LSM: the paper's system
    does not net), deferred crediting makes receipts usable from the next period
    (docs/semantics.md#crediting), and the close lends what is still unpaid
    (docs/semantics.md#expiry-and-end-of-day). Liquidity costs r_c per unit over the day, so the
    collateral rate per tick is r_c / TICKS; the other engine rates are 0 (delay is computed, below).
    """
    payments = [
        {"sender": bank, "receiver": other(bank), "amount": STEP, "arrival_tick": period}
        for period in range(TICKS) for bank in BANKS for _ in range(DEMAND[bank][period])
    ]
    return {
        "ticks_per_day": TICKS,
        "num_days": 1,
        "rng_seed": 0,
        "agent_configs": [
            {"id": bank, "opening_balance": 0, "credit_limit": steps * STEP, "policy": {"type": "Fifo"}}
            for bank, steps in zip(BANKS, cell, strict=True)
        ],
        "scheduled_payments": payments,
        "lsm": {"mode": "none"},
        "rtgs": {"crediting": "deferred"},
        "end_of_day": {"unsettled": "borrow"},
        "cost_rates": {
            "liquidity_cost_per_unit_per_tick": 0.0, "delay_cost_per_tick": 0.0,
            "collateral_cost_per_unit_per_tick": R_C / TICKS, "split_friction_cost": 0.0,
            "deadline_penalty": 0.0, "eod_penalty": 0.0, "eod_borrowing_rate": R_B,
        },
    }


@dataclass(frozen=True)
class BankCost:
    """One bank's cost of the day, in minor units, by component."""

    liquidity: float  # r_c · ℓ0: the engine's cost_collateral
    delay: float  # r_d · period-1 demand not sent in period 1: from the engine's tick log
    borrowing: float  # r_b · end-of-day loan: the engine's cost_eod_borrowing
    engine_total: float  # the engine's own total of every cost component, for the cross-check

    @property
    def total(self) -> float:
        """Rounded to 10⁻⁶ of a minor unit, so float noise in the engine's products cannot split a tie."""
        return round(self.liquidity + self.delay + self.borrowing, 6)


def run_day(cell: Cell) -> dict[str, BankCost]:
    """One engine run of the day at these initial liquidities, and each bank's cost.

    The delay cost is r_d times the value of the bank's payments still queued (Queue 1 or Queue 2) at
    the end of tick 0, as the tick log shows it: everything queued then is period-1 demand. The
    engine's own delay cost is left at 0, because it charges only Queue 1 holds, every tick (a FIFO
    bank holds nothing), and the paper charges no delay on what period 2 leaves unpaid: that is
    borrowed, at r_b only (R = r_c·ℓ0 + Σ_{t=1}^{T−1} r_d·P_t(1 − x_t) + r_b·c_b, §6.1).
    """
    engine = _core.Orchestrator.new(engine_config(cell))
    engine.run()
    log = engine.tick_log()
    ids = engine.get_agent_ids()
    engine_totals = {str(a["id"]): float(a["cost_total"]) for a in engine.agent_states()}
    costs = {}
    for bank in BANKS:
        rows = log["bank"] == ids.index(bank)
        first = rows & (log["tick"] == 0)
        queued = int(log["queue1_value"][first].sum() + log["queue2_value"][first].sum())
        costs[bank] = BankCost(
            liquidity=float(log["cost_collateral"][rows].sum()),
            delay=R_D * queued,
            borrowing=float(log["cost_eod_borrowing"][rows].sum()),
            engine_total=engine_totals[bank],
        )
    return costs


def cost_grid() -> dict[Cell, dict[str, BankCost]]:
    """Both banks' costs on every cell of the grid: 441 engine runs."""
    return {(a, b): run_day((a, b)) for a in GRID for b in GRID}


def best_response(cost: Callable[[str, int, int], float], bank: str, theirs: int) -> int:
    """The ℓ0 (grid steps) that minimises the bank's cost given the other's; ties go to the lowest ℓ0."""
    return min(GRID, key=lambda own: (cost(bank, own, theirs), own))


def engine_cost(grid: dict[Cell, dict[str, BankCost]]) -> Callable[[str, int, int], float]:
    return lambda bank, own, theirs: grid[(own, theirs) if bank == "A" else (theirs, own)][bank].total


def paper_cost(bank: str, own: int, theirs: int) -> float:
    """The paper's §4 cost, in minor units: R(ℓ0) = r_c·ℓ0 + r_d·max(P1 − ℓ0, 0) + r_b·max(P1 + P2 − R1 − ℓ0, 0),
    where R1 = min(ℓ0 of the other bank, its P1) is what the other bank sends in period 1."""
    p1, p2 = DEMAND[bank]
    received = min(theirs, DEMAND[other(bank)][0])
    steps = R_C * own + R_D * max(p1 - own, 0) + R_B * max(p1 + p2 - received - own, 0)
    return round(steps * STEP, 6)


def paper_best_response(bank: str, theirs: int) -> int:
    """The paper's closed form (§4): ℓ0ⁱ = P1ⁱ + max(P2ⁱ − min(ℓ0⁻ⁱ, P1⁻ⁱ), 0)."""
    p1, p2 = DEMAND[bank]
    return p1 + max(p2 - min(theirs, DEMAND[other(bank)][0]), 0)


def iterate(cost: Callable[[str, int, int], float], start: Cell = (0, 0), max_rounds: int = 100) -> list[Cell]:
    """Best-response iteration from ``start``: A best-responds to B, then B to A's new choice, until a
    round changes nothing. Returns the cells visited, ``start`` first and the fixed point last."""
    path = [start]
    a, b = start
    for _ in range(max_rounds):
        a = best_response(cost, "A", b)
        b = best_response(cost, "B", a)
        if (a, b) == path[-1]:
            return path
        path.append((a, b))
    raise RuntimeError(f"best-response iteration: no fixed point after {max_rounds} rounds from {start}")


def pure_equilibria(cost: Callable[[str, int, int], float]) -> list[Cell]:
    """Every grid cell where each bank's ℓ0 is a best response to the other's."""
    return [(a, b) for a in GRID for b in GRID
            if best_response(cost, "A", b) == a and best_response(cost, "B", a) == b]


def to_collateral(minor: float) -> float:
    return minor / UNIT


# --- outputs -------------------------------------------------------------------------------------


def best_response_pairs(respond: Callable[[str, int], int], bank: str) -> list[list[float]]:
    return [[share(theirs), share(respond(bank, theirs))] for theirs in GRID]


def results(grid: dict[Cell, dict[str, BankCost]]) -> dict[str, Any]:
    cost = engine_cost(grid)
    path = iterate(cost)
    eq = path[-1]
    engine_br = partial(best_response, cost)
    return {
        "equilibrium": {bank: share(k) for bank, k in zip(BANKS, eq, strict=True)},
        "costs": {bank: to_collateral(grid[eq][bank].total) for bank in BANKS},
        "best_response_A": best_response_pairs(engine_br, "A"),
        "best_response_B": best_response_pairs(engine_br, "B"),
        "iteration": [[share(a), share(b)] for a, b in path],
        "pure_equilibria": [[share(a), share(b)] for a, b in pure_equilibria(cost)],
        "paper": {
            "equilibrium": PAPER_EQUILIBRIUM,
            "costs": PAPER_COSTS,
            "best_response_A": best_response_pairs(paper_best_response, "A"),
            "best_response_B": best_response_pairs(paper_best_response, "B"),
        },
        "setup": {
            "rates": {"r_c": R_C, "r_d": R_D, "r_b": R_B},
            "demand": {bank: [share(p) for p in DEMAND[bank]] for bank in BANKS},
            "minor_units_per_collateral": UNIT,
            "payment_size": share(1),
        },
    }


def results_json(summary: dict[str, Any]) -> bytes:
    """Indented JSON with every innermost list (an [ℓ0, ℓ0] pair) kept on one line."""
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    return (re.sub(r"\[\s+([^][{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s+", " ", m[1]) + "]", text) + "\n").encode()


def costs_csv(grid: dict[Cell, dict[str, BankCost]]) -> bytes:
    header = ["ell_A", "ell_B"] + [f"{col}_{bank}" for bank in BANKS for col in
                                   ("cost", "liquidity_cost", "delay_cost", "borrowing_cost", "paper_cost")]
    rows = [[share(a), share(b), *_csv_columns("A", a, b, costs["A"]), *_csv_columns("B", b, a, costs["B"])]
            for (a, b), costs in grid.items()]
    return csv_bytes(header, rows)


def _csv_columns(bank: str, own: int, theirs: int, c: BankCost) -> list[float]:
    return [to_collateral(x) for x in (c.total, round(c.liquidity, 6), round(c.delay, 6), round(c.borrowing, 6),
                                       paper_cost(bank, own, theirs))]


def plot_png(grid: dict[Cell, dict[str, BankCost]], eq: Cell) -> bytes:
    """Left: both best-response curves in the (ℓB, ℓA) plane, engine (markers) against the closed form
    (lines), the equilibrium starred. Right: each bank's cost against its own ℓ0, the other bank at its
    equilibrium choice."""
    cost = engine_cost(grid)
    xs = [share(k) for k in GRID]
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(xs, [share(paper_best_response("A", k)) for k in GRID], color="C0", label="A, closed form")
    left.plot(xs, [share(best_response(cost, "A", k)) for k in GRID], "o", color="C0", mfc="none",
              label="A, engine: best ℓA given ℓB")
    left.plot([share(paper_best_response("B", k)) for k in GRID], xs, color="C1", label="B, closed form")
    left.plot([share(best_response(cost, "B", k)) for k in GRID], xs, "s", color="C1", mfc="none",
              label="B, engine: best ℓB given ℓA")
    left.plot([share(eq[1])], [share(eq[0])], "*", color="C3", markersize=16,
              label=f"Nash equilibrium (ℓA, ℓB) = ({share(eq[0]):g}, {share(eq[1]):g})")
    left.set(xlabel="ℓB (share of B's collateral)", ylabel="ℓA (share of A's collateral)",
             title="Best responses", xlim=(-0.03, 1.03), ylim=(-0.03, 1.03))
    for bank, colour, marker, line in zip(BANKS, ("C0", "C1"), "os", ("-", "--"), strict=True):
        theirs = eq[1 - BANKS.index(bank)]
        right.plot(xs, [to_collateral(paper_cost(bank, k, theirs)) for k in GRID], line, color=colour,
                   label=f"{bank}, closed form (ℓ{other(bank)} = {share(theirs):g})")
        right.plot(xs, [to_collateral(cost(bank, k, theirs)) for k in GRID], marker, color=colour, mfc="none",
                   markersize=5 + 3 * (bank == "A"), label=f"{bank}, engine")
    right.set(xlabel="own ℓ0 (share of collateral)", ylabel="cost R (share of collateral)",
              title="Cost at the other bank's equilibrium choice", xlim=(-0.03, 1.03))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Castro et al. (2025), two-period initial liquidity game: every marker is a paysim run")
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def run_experiment(out: Path) -> tuple[dict[str, Any], list[Path]]:
    """Every engine run of the grid, then results.json, costs.csv and best_response.png in ``out``."""
    grid = cost_grid()
    summary = results(grid)
    files = {
        "results.json": results_json(summary),
        "costs.csv": costs_csv(grid),
        "best_response.png": plot_png(grid, iterate(engine_cost(grid))[-1]),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
    return summary, [out / name for name in files]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder, default this folder")
    args = parser.parse_args(argv)
    summary, files = run_experiment(args.out)
    eq, costs = summary["equilibrium"], summary["costs"]
    print(f"{len(GRID) ** 2} engine runs; equilibrium ℓA = {eq['A']:g}, ℓB = {eq['B']:g}; "
          f"costs A {costs['A']:g}, B {costs['B']:g} (paper: ℓA = 0, ℓB = 0.2; costs 0, 0.02)")
    for f in files:
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

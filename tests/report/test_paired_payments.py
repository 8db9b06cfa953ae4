"""The paired per-payment SQL of docs/reports.md#paired-payments, run on a real sweep's Parquet files:
(rep, sender, pair_key) finds every payment of the fifo cell again under splitting, though splits
shift the tx_ids (docs/semantics.md#pair-keys)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from paysim_runner.driver import run_sweep
from paysim_runner.report import open_views

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports.md"
BANKS = ["BANK_A", "BANK_B", "BANK_C"]

#: Short liquidity and divisible payments above Splitting's min_part, so splitting does split; two
#: scheduled payments, so keys of both origins are paired.
SCENARIO: dict[str, Any] = {
    "simulation": {"ticks_per_day": 30, "num_days": 1, "seed": 1},
    "agents": [
        {"id": bank, "balance": 60_000, "credit_limit": 20_000, "policy": {"type": "Fifo"},
         "arrival_config": {"rate_per_tick": 0.6,
                            "distribution": {"type": "LogNormal", "mean_log": 10.8, "std_dev_log": 0.5},
                            "deadline_offset": 10, "divisible": True}}
        for bank in BANKS
    ],
    "scheduled_payments": [
        {"sender": "BANK_A", "receiver": "BANK_B", "amount": 90_000, "arrival_tick": 2, "divisible": True},
        {"sender": "BANK_C", "receiver": "BANK_A", "amount": 40_000, "arrival_tick": 5},
    ],
}


def documented_query() -> str:
    """The first SQL block under the "Paired payments" heading of docs/reports.md."""
    section = DOCS.read_text().split("## Paired payments", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sql\n(.*?)```", section, re.S)
    assert found is not None, "docs/reports.md#paired-payments has no SQL example"
    return found.group(1)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "scenario": SCENARIO, "output_dir": str(tmp_path_factory.mktemp("results")), "seeds": 3,
        "root_seed": 7, "batch_size": 3, "progress": False, "report": False,
        "sweep": {"name": "pairs", "axes": {"policy": ["fifo", "splitting"]}, "fixed": {}, "compare": None,
                  "plot": None},
    }
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir


def scalar(sweep: Path, sql: str) -> Any:
    with open_views(sweep) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_splitting_did_split(sweep: Path) -> None:
    parts = ("SELECT count(*) FROM transactions t JOIN runs r USING (run_id) "
             "WHERE r.policy = 'splitting' AND t.parent_id IS NOT NULL")
    assert scalar(sweep, parts) > 0


def test_documented_query_pairs_every_fifo_payment(sweep: Path) -> None:
    fifo_payments = scalar(sweep, "SELECT count(*) FROM transactions t JOIN runs r USING (run_id) "
                                  "WHERE r.policy = 'fifo' AND t.parent_id IS NULL")
    with open_views(sweep) as con:
        pairs, extra_settled, extra_wait = con.execute(documented_query()).fetchone()
    assert pairs == fifo_payments
    assert -1.0 <= extra_settled <= 1.0
    assert extra_wait is not None


def test_tx_id_would_pair_other_payments(sweep: Path) -> None:
    """Joined on tx_id instead, many rows meet a different payment: the key is what pairs."""
    mismatched = scalar(sweep, """
        SELECT count(*) FROM transactions f JOIN runs rf USING (run_id)
        JOIN (SELECT t.*, r.policy FROM transactions t JOIN runs r USING (run_id)) s
          ON s.rep = f.rep AND s.tx_id = f.tx_id
        WHERE rf.policy = 'fifo' AND s.policy = 'splitting'
          AND (s.sender, s.receiver, s.arrival_tick) IS DISTINCT FROM (f.sender, f.receiver, f.arrival_tick)""")
    assert mismatched > 0

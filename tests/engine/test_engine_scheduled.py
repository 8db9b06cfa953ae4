"""Scheduled payments inline and replayed from Parquet or CSV files (docs/semantics.md#engine-configuration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.helpers.engine import Orchestrator, bank, build, logs_equal, scenario, transactions

BANKS = [bank("A", 500), bank("B", 200), bank("C", 0)]
COLUMNS = ("sender", "receiver", "amount", "arrival_tick", "deadline_tick", "priority", "divisible")
FULL = [
    dict(zip(COLUMNS, row, strict=True))
    for row in [
        ("A", "B", 300, 0, 3, 5, False),
        ("B", "C", 450, 1, 9, 9, False),
        ("C", "A", 120, 1, 2, 2, True),
        ("A", "C", 999, 4, 4, 10, False),
    ]
]
REQUIRED = [{k: p[k] for k in ("sender", "receiver", "amount", "arrival_tick")} for p in FULL]


def inline_run(payments: list[dict[str, Any]]) -> Orchestrator:
    orch = build(scenario(BANKS, payments, ticks=10))
    orch.run()
    return orch


def file_run(path: Path) -> Orchestrator:
    orch = build(scenario(BANKS, ticks=10, scheduled_payments_file=str(path)))
    orch.run()
    return orch


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    pacsv.write_csv(pa.Table.from_pylist(rows), path)
    return path


def test_inline_scheduled_payments_enter_as_given() -> None:
    rows = transactions(inline_run(FULL))
    for row, want in zip(rows, FULL, strict=True):
        for key, value in want.items():
            assert row[key] == value, key


@pytest.mark.parametrize("payments", [FULL, REQUIRED], ids=["all_columns", "required_columns"])
@pytest.mark.parametrize("writer", [write_parquet, write_csv], ids=["parquet", "csv"])
def test_file_replay_equals_inline(tmp_path: Path, writer: Any, payments: list[dict[str, Any]]) -> None:
    path = writer(tmp_path / ("payments.parquet" if writer is write_parquet else "payments.csv"), payments)
    replayed, inline = file_run(path), inline_run(payments)
    assert logs_equal(replayed.transaction_log(), inline.transaction_log())
    assert logs_equal(replayed.tick_log(), inline.tick_log())


def test_parquet_with_narrow_integer_types(tmp_path: Path) -> None:
    schema = pa.schema([("sender", pa.string()), ("receiver", pa.string()), ("amount", pa.int32()),
                        ("arrival_tick", pa.int16()), ("deadline_tick", pa.int32()), ("priority", pa.int8()),
                        ("divisible", pa.bool_())])
    path = write_parquet(tmp_path / "narrow.parquet", FULL, schema)
    assert logs_equal(file_run(path).transaction_log(), inline_run(FULL).transaction_log())


def test_parquet_nulls_in_optional_columns_take_the_defaults(tmp_path: Path) -> None:
    rows = [dict(p) for p in FULL]
    rows[1]["deadline_tick"] = None
    rows[2]["priority"] = None
    want = [dict(p) for p in FULL]
    del want[1]["deadline_tick"]
    del want[2]["priority"]
    path = write_parquet(tmp_path / "nulls.parquet", rows)
    assert logs_equal(file_run(path).transaction_log(), inline_run(want).transaction_log())


def test_missing_file_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scheduled_payments_file"):
        build(scenario(BANKS, ticks=10, scheduled_payments_file=str(tmp_path / "absent.parquet")))


@pytest.mark.parametrize(
    ("rows", "what"),
    [
        ([{**FULL[0], "sender": "Z"}], "sender"),
        ([{**FULL[0], "amount": 0}], "amount"),
        ([{**FULL[0], "receiver": "A"}], "receiver"),
        ([{k: v for k, v in FULL[0].items() if k != "amount"}], "amount"),
    ],
)
def test_bad_rows_in_a_file_are_rejected_naming_the_field(tmp_path: Path, rows: list[dict], what: str) -> None:
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ValueError, match="scheduled_payments_file") as caught:
        build(scenario(BANKS, ticks=10, scheduled_payments_file=str(path)))
    assert what in str(caught.value)


def test_unreadable_file_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ValueError, match="scheduled_payments_file"):
        build(scenario(BANKS, ticks=10, scheduled_payments_file=str(path)))

"""How commands print: one JSON document for scripts, or rich tables for people that never cut a
number short to fit the terminal."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from paysim_runner.cli.app import out


def jsonable(value: Any) -> Any:
    """JSON with nulls for NaN/inf (undefined ratios) and strings for paths and other odd types."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    return str(value)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), indent=2) + "\n")


def fmt(value: Any) -> str:
    """One table cell: thousands separators, no trailing zeros, a dash for a missing or undefined figure."""
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


#: The most decimals a table or Markdown cell shows; CSV and JSON keep every digit.
MAX_DECIMALS = 4


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def is_numeric(values: Sequence[Any]) -> bool:
    """A column of numbers (NULLs allowed), right-aligned and formatted as one."""
    return any(v is not None for v in values) and all(v is None or _is_number(v) for v in values)


def _decimals(value: Any) -> int:
    """The decimals ``value`` needs to show it to MAX_DECIMALS places without trailing zeros."""
    if isinstance(value, int) or not math.isfinite(value):
        return 0
    text = f"{value:.{MAX_DECIMALS}f}".rstrip("0")
    return len(text) - text.index(".") - 1


def column_cells(values: Sequence[Any]) -> list[str]:
    """One column's cells. Numbers get thousands separators and the same decimals down the column:
    the fewest that show every value to MAX_DECIMALS places. A NULL or NaN is a dash."""
    if not is_numeric(values):
        return [fmt(v) for v in values]
    decimals = max((_decimals(v) for v in values if v is not None), default=0)
    return [_number(v, decimals) for v in values]


def _number(value: Any, decimals: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):  # through Decimal, as a float would round a 64-bit seed's last digits
        value = Decimal(value)
    return f"{value:,.{decimals}f}" if math.isfinite(value) else "–"


def key_value_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        table.add_row(key, fmt(value))
    return table


#: Short headers, so the bank table fits an 80-column terminal; other fields show their name.
_HEADERS = {"id": "bank", "queue1_size": "Q1", "queue1_value": "Q1 value", "queue2_size": "Q2",
            "queue2_value": "Q2 value", "cost_total": "cost"}
#: What a bank starts the run with (shown by `create`); the position table shows the rest.
OPENING = ("id", "opening_balance", "credit_limit")


def columns(names: list[str]) -> dict[str, str]:
    """Each field with its table header."""
    return {name: _HEADERS.get(name, name.replace("_", " ")) for name in names}


def _position_columns() -> dict[str, str]:
    """Every ``agent_state`` field (``_core.SCHEMAS``) but the opening figures, with its header."""
    from paysim_runner._core import SCHEMAS

    return columns(["id", *(name for name, _ in SCHEMAS["agent_state"] if name not in OPENING)])


def print_banks(title: str, agents: list[dict[str, Any]], shown: dict[str, str] | None = None) -> None:
    """One row per bank; ``shown`` (field to header) defaults to the bank's position after the last tick."""
    shown = shown if shown is not None else _position_columns()
    caption = "Q1: the bank's own queue, Q2: the central RTGS queue" if "queue1_size" in shown else None
    table = Table(title=title, title_justify="left", caption=caption, box=box.SIMPLE_HEAD)
    for name, header in shown.items():
        table.add_column(header, justify="left" if name == "id" else "right")
    cells = [column_cells([agent[name] for agent in agents]) for name in shown]
    for j in range(len(agents)):
        table.add_row(*(column[j] for column in cells))
    print_whole(table, [{header: agent[name] for name, header in shown.items()} for agent in agents], "bank")


def _natural_width(table: Table) -> int:
    return Measurement.get(out, out.options.update_width(1_000_000), table).maximum


def print_natural(table: Table) -> None:
    """Print ``table`` whole even if it is wider than the terminal: its lines run past the right edge
    (the terminal wraps or a pager scrolls them) instead of numbers being cut or folded."""
    natural = _natural_width(table)
    if natural <= out.width:
        out.print(table)
    else:  # Console.print never renders wider than its console, so a console as wide as the table
        Console(markup=False, width=natural).print(table)


def print_whole(table: Table, records: list[dict[str, Any]], label: str) -> None:
    """Print ``table`` if it fits the terminal; otherwise one figure/value block per record, so no
    number is ever cut short (``2,672,7…``) or folded mid-digit to fit."""
    natural = _natural_width(table)
    if natural <= out.width:
        out.print(table)
        return
    for i, record in enumerate(records, start=1):
        out.print(key_value_table(f"{label} {i} of {len(records)}", record))

"""How ``paysim sql`` prints a result set: a rich table, CSV, JSON or a Markdown pipe table.

Table and Markdown cells go through :func:`column_cells`, so a column's numbers all carry the same
number of decimals and line up (``0.8920`` under ``0.5964``, not ``0.892``); CSV and JSON carry the
values unrounded, for programs.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich.table import Table

from paysim_runner.cli.output import column_cells, emit_json, is_numeric, jsonable, print_natural, print_whole


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def _columns(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[tuple[list[str], bool]]:
    """Each column's cells and whether it is numeric."""
    out = []
    for i in range(len(names)):
        values = [row[i] for row in rows]
        out.append((column_cells(values), is_numeric(values)))
    return out


def print_table(names: Sequence[str], rows: Sequence[Sequence[Any]], *, explicit: bool) -> None:
    """A rich table. Too wide for the terminal, the default falls back to one record at a time
    (:func:`print_whole`); an explicit ``--format table`` stays a table at its natural width, lines
    running past the right edge (``| less -S`` scrolls them), every digit intact either way."""
    table = Table(caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    columns = _columns(names, rows)
    for name, (_, numeric) in zip(names, columns, strict=True):
        table.add_column(name, justify="right" if numeric else "left")
    for j in range(len(rows)):
        table.add_row(*(cells[j] for cells, _ in columns))
    if explicit:
        print_natural(table)
    else:
        print_whole(table, [dict(zip(names, row, strict=True)) for row in rows], "row")


def _md_cell(text: str) -> str:
    """A cell's text that cannot end the cell or the row: pipes escaped, line breaks as spaces."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def markdown_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured pipe table, numeric columns right-aligned (``---:``) and every column padded
    to one width so the source reads as a table too."""
    columns = [([_md_cell(n), *(_md_cell(c) for c in cells)], numeric)
               for n, (cells, numeric) in zip(names, _columns(names, rows), strict=True)]
    widths = [max(3, *(len(c) for c in cells)) for cells, _ in columns]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    lines = [line([cells[0].ljust(w) for (cells, _), w in zip(columns, widths, strict=True)]),
             line([("-" * (w - 1) + ":") if numeric else "-" * w for (_, numeric), w in zip(columns, widths,
                                                                                         strict=True)])]
    for j in range(1, len(rows) + 1):
        lines.append(line([cells[j].rjust(w) if numeric else cells[j].ljust(w)
                           for (cells, numeric), w in zip(columns, widths, strict=True)]))
    return "\n".join(lines) + "\n" if names else ""


def _csv_cell(value: Any) -> Any:
    """Unrounded values; NULL and NaN empty, booleans as SQL spells them, lists and structs as JSON."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same double
    if isinstance(value, list | tuple | dict):
        return json.dumps(jsonable(value))
    return value


def write_csv(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """RFC 4180 CSV on stdout (Python's csv module quotes what needs it), a header row first; lines
    end in a bare newline, as Unix tools expect."""
    if not names:
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)


def print_result(names: Sequence[str], rows: Sequence[Sequence[Any]], form: Format, *, explicit: bool) -> None:
    """``rows`` (a query's result, columns ``names``) on stdout in ``form``."""
    if form is Format.json:
        emit_json([dict(zip(names, row, strict=True)) for row in rows])
    elif form is Format.csv:
        write_csv(names, rows)
    elif form is Format.markdown:
        sys.stdout.write(markdown_table(names, rows))
    else:
        print_table(names, rows, explicit=explicit)

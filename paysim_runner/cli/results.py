"""The commands over a finished sweep's output folder: ``report`` (the built report's files) and
``sql`` (DuckDB views over its Parquet), docs/reports.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from paysim_runner.cli.app import CliError, JsonOpt, one_line, out
from paysim_runner.cli.output import emit_json, fmt, print_whole


def report(
    results_dir: Annotated[Path, typer.Argument(help="A sweep's output folder (holds manifest.json).")],
    as_json: JsonOpt = False,
) -> None:
    """Build a sweep's report (per-cell means, 95% CIs, paired differences) and write its files."""
    from paysim_runner.report import ReportError, build_report

    try:
        built = build_report(results_dir, console=Console(quiet=True) if as_json else Console())
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(built)
        return
    out.print("Wrote:")
    for path in built.files:
        out.print(f"  {path}")


def sql(
    results_dir: Annotated[Path, typer.Argument(help="A sweep's output folder.")],
    query: Annotated[str, typer.Argument(help="DuckDB SQL over the views runs, ticks, transactions, events.")],
    as_json: JsonOpt = False,
    read_only: Annotated[bool, typer.Option(
        "--read-only", help="Run queries only (SELECT, EXPLAIN), reading the sweep's tables and nothing else: "
        "no writes, no other files, no network, no extensions.")] = False,
) -> None:
    """Run DuckDB SQL with the views runs, ticks, transactions and events defined over a sweep's Parquet.

    This is full DuckDB: without --read-only a query can write files (COPY), attach databases, read
    any file this user can and fetch extensions, as DuckDB's own shell can.
    """
    import duckdb

    from paysim_runner.report import ReportError, open_views
    from paysim_runner.report.sql import ReadOnlyRefused, refuse_writes

    try:
        views = open_views(results_dir, read_only=read_only)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    with views as con:
        try:
            if read_only:
                refuse_writes(con, query)
            cursor = con.execute(query)
        except ReadOnlyRefused as exc:
            raise CliError(f"query refused: {exc}") from exc
        except duckdb.Error as exc:
            raise CliError(f"query failed: {one_line(str(exc))}") from exc
        if cursor.description is None:  # a statement without a result set
            names, rows = [], []
        else:
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    if as_json:
        emit_json([dict(zip(names, row, strict=True)) for row in rows])
        return
    table = Table(caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    for i, name in enumerate(names):
        numeric = bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    print_whole(table, [dict(zip(names, row, strict=True)) for row in rows], "row")

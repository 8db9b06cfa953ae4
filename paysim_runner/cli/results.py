"""The commands over a finished sweep's output folder: ``report`` (the built report's files) and
``sql`` (DuckDB views over its Parquet), docs/reports.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from paysim_runner.cli.app import CliError, JsonOpt, one_line, out
from paysim_runner.cli.formats import Format, print_result
from paysim_runner.cli.output import emit_json


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
    form: Annotated[Format | None, typer.Option(
        "--format", help="table (the default), csv, json or markdown (a pipe table). An explicit table stays a "
        "table when it is wider than the terminal; by default such a result prints one row at a time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
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

    if as_json and form not in (None, Format.json):
        raise CliError(f"--json and --format {form.value} disagree: give one of them")

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
    print_result(names, rows, Format.json if as_json else form or Format.table, explicit=form is Format.table)

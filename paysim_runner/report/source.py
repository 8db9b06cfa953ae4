"""Reading a sweep's results directory: its manifest and which Parquet batches are complete.

The layout is the runner's (docs/runner.md): ``<dir>/manifest.json`` and
``<dir>/<table>/batch=NNNNN/*.parquet`` for the tables runs, ticks, transactions and events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paysim_runner import storage
from paysim_runner.report.model import ReportError


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def batch_files(results_dir: Path, table: str) -> dict[str, Path]:
    """{batch directory name: parquet file} of one table."""
    return {p.parent.name: p for p in sorted((results_dir / table).glob("batch=*/*.parquet"))}


def check_results_dir(results_dir: Path) -> None:
    """Raise :class:`ReportError` unless ``results_dir`` holds at least one batch of runs."""
    if not results_dir.exists():
        raise ReportError(f"{results_dir}: no such results directory")
    if not results_dir.is_dir():
        raise ReportError(f"{results_dir}: not a directory (expected a sweep's results folder)")
    if not batch_files(results_dir, "runs"):
        raise ReportError(f"{results_dir}: no runs found (expected {results_dir / 'runs'}/batch=*/*.parquet)")


def verified_batches(results_dir: Path) -> set[str]:
    """The batch names whose every file matches its batch record (size and sha256), checked before
    DuckDB reads a byte: a damaged file, or a Parquet file no record names (an unfinished batch, a
    stray copy), is a :class:`ReportError` naming it, never a silently changed mean.

    A folder without ``batches/`` was written before the runner recorded batches: there the runs
    file alone still marks a batch complete, as it did then.
    """
    if not (results_dir / storage.RECORDS).is_dir():
        return set(batch_files(results_dir, "runs"))
    recorded: dict[str, dict[str, Any]] = {}
    for path in sorted((results_dir / storage.RECORDS).glob("batch=*.json")):
        record = storage.read_batch_record(path)
        if record is None or path.name != f"{storage.batch_name(record['batch'])}.json":
            raise ReportError(f"{path}: not a batch record (damaged); re-run the sweep to recompute that batch")
        damaged = storage.damaged_files(results_dir, record)
        if damaged:
            more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
            raise ReportError(f"{damaged[0]}: damaged{more}; re-run the sweep to recompute that batch")
        recorded[storage.batch_name(record["batch"])] = record
    for table in storage.TABLES:
        for name, path in batch_files(results_dir, table).items():
            if name not in recorded or table not in recorded[name]["files"] or path.name != storage.PART_FILE:
                raise ReportError(f"{path}: in no batch record (an unfinished or foreign batch); "
                                  "re-run the sweep to complete it, or remove the file")
    return set(recorded)


def table_source(results_dir: Path, table: str, complete: set[str]) -> str | None:
    """The read_parquet(...) of one table, limited to ``complete`` batches (:func:`verified_batches`),
    so a batch cut off mid-write never shows half its rows."""
    files = batch_files(results_dir, table)
    if not files:
        return None
    if set(files) <= complete:
        glob = (results_dir / table).as_posix() + "/**/*.parquet"
        return f"read_parquet({sql_str(glob)}, hive_partitioning = true)"
    kept = [files[b].as_posix() for b in sorted(files) if b in complete]
    if not kept:
        return None
    return f"read_parquet([{', '.join(sql_str(f) for f in kept)}], hive_partitioning = true)"


def _cell_is_valid(cell: Any) -> bool:
    return isinstance(cell, dict) and isinstance(cell.get("cell_id"), int) and isinstance(cell.get("params"), dict) \
        and "cell" in cell


def load_manifest(results_dir: Path) -> dict[str, Any]:
    """The sweep's manifest.json, with the keys the report relies on checked."""
    path = results_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{path}: manifest not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ReportError(f"{path}: not a JSON object")
    for key in ("sweep", "grid_axes", "cells"):
        if key not in manifest:
            raise ReportError(f"{path}: missing key '{key}'")
    for i, cell in enumerate(manifest["cells"]):
        if not _cell_is_valid(cell):
            raise ReportError(f"{path}: cells[{i}] needs cell_id, cell and params")
    return manifest

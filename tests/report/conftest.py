"""Helpers that lay out results directories exactly as SPEC §4 describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def write_part(results_dir: Path, table: str, batch: int, data: pa.Table) -> Path:
    """<results_dir>/<table>/batch=NNNNN/part.parquet, zstd, as the runner writes it."""
    path = results_dir / table / f"batch={batch:05d}" / "part.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path, compression="zstd")
    return path


def write_manifest(results_dir: Path, manifest: dict[str, Any]) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))

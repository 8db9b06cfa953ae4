"""Helpers that lay out results directories exactly as docs/runner.md#output-layout describes."""

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


def run_real_sweep(output_dir: Path, name: str, scenario: dict[str, Any], axes: dict[str, Any], *,
                   seeds: int, compare: Any = None, fixed: dict[str, Any] | None = None,
                   batch_size: int = 3, plot: dict[str, Any] | None = None) -> Path:
    """A real sweep through RUNNER's own driver on its inline executor (no Ray), so the files are
    laid out exactly as `python -m paysim_runner` lays them out."""
    from rich.console import Console

    from paysim_runner.driver import run_sweep

    config = {
        "scenario": scenario,
        "output_dir": str(output_dir),
        "seeds": seeds,
        "root_seed": 20251121,
        "batch_size": batch_size,
        "progress": False,
        "report": False,
        "sweep": {"name": name, "axes": axes, "fixed": fixed or {}, "compare": compare, "plot": plot},
    }
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir

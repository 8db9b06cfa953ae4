"""Which cells the report compares: the manifest's ``compare`` entries and their cell pairs.

A pair is a cell and its baseline counterpart: same values on every other grid axis, the baseline
value on the compare axis. Their runs then pair by replication number, which means by seed
(common random numbers), so a paired difference isolates the compared parameter (docs/reports.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paysim_runner.report.model import ReportError

#: One compare entry ``{axis, baseline}`` and its (cell_id, baseline_cell_id) pairs.
Comparison = tuple[dict[str, Any], list[tuple[int, int]]]


def compare_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's ``compare``: a list of ``{axis, baseline}`` (a single dict, from older
    manifests, or null are accepted too)."""
    compare = manifest.get("compare")
    if not compare:
        return []
    return [compare] if isinstance(compare, dict) else list(compare)


def comparisons(manifest: dict[str, Any], path: Path) -> list[Comparison]:
    """Per compare entry, (cell_id, baseline_cell_id) for every non-baseline cell with a baseline
    counterpart. ``path`` (the manifest's) names the file in errors."""
    axes = list(manifest["grid_axes"])
    cells = manifest["cells"]
    out = []
    for compare in compare_entries(manifest):
        axis, baseline = compare.get("axis"), compare.get("baseline")
        if not isinstance(axis, str) or axis not in axes:
            raise ReportError(f"{path}: compare.axis {axis!r} is not one of the grid axes {axes}")
        if not any(c["params"].get(axis) == baseline for c in cells):
            raise ReportError(f"{path}: compare.baseline {baseline!r} is not a value of axis {axis!r}")

        def others(params: dict[str, Any], axis: str = axis) -> str:
            return json.dumps({a: params.get(a) for a in axes if a != axis}, sort_keys=True)

        baseline_of = {others(c["params"]): c["cell_id"] for c in cells if c["params"].get(axis) == baseline}
        pairs = [
            (c["cell_id"], baseline_of[others(c["params"])])
            for c in cells
            if c["params"].get(axis) != baseline and others(c["params"]) in baseline_of
        ]
        out.append(({"axis": axis, "baseline": baseline}, pairs))
    return out

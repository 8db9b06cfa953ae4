"""The grid and its runs: axes (checked and typed), the cartesian product of their values as
cells, and each cell's replications as runs with derived seeds and batches.

Common random numbers: a run's seed depends on ``(root_seed, rep)`` only (:func:`derive_seed`), so
every cell sees the same payment streams for replication ``rep`` and differences between cells are
paired (docs/runner.md#seeds).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from paysim_runner.config import ConfigError
from paysim_runner.sweep.settings import TRANSFORMS, Scalar, is_setting_key, not_the_seed

#: Columns of `runs` that axes may not shadow.
RESERVED_COLUMNS = frozenset({"run_id", "sweep", "cell_id", "cell", "seed", "rep", "batch"})


@dataclass(frozen=True)
class Axis:
    """One grid dimension. ``column`` is the runs-table column: the key with dots as underscores."""

    key: str
    values: tuple[Scalar, ...]

    @property
    def column(self) -> str:
        return axis_column(self.key)

    @property
    def kind(self) -> str:
        return axis_kind(self.values)


@dataclass(frozen=True)
class Cell:
    cell_id: int
    label: str
    params: dict[str, Scalar]  # column -> value
    settings: tuple[tuple[str, Scalar], ...]  # (axis key, value), in axis order


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    cell_id: int
    rep: int
    seed: int
    batch: int


def axis_column(key: str) -> str:
    return key.replace(".", "_").replace("*", "all")


def parse_axes(axes: Mapping[str, Sequence[Scalar]]) -> list[Axis]:
    """Check axis keys and values; keep the declared order (first axis varies slowest)."""
    out: list[Axis] = []
    columns: dict[str, str] = {}
    for key, values in axes.items():
        where = f"sweep.axes.{key}"
        if not is_setting_key(key):
            raise ConfigError(where, "axis key must be a dotted config path or one of " + ", ".join(TRANSFORMS))
        not_the_seed(key, where)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ConfigError(where, "needs a non-empty list of values")
        for v in values:
            if not isinstance(v, (bool, int, float, str)) or (isinstance(v, float) and not math.isfinite(v)):
                raise ConfigError(where, f"value {v!r} is not a finite number, string or boolean")
        if len(set(map(value_key, values))) != len(values):
            raise ConfigError(where, "values must be distinct")
        column = axis_column(key)
        if column in columns:
            raise ConfigError(where, f"column {column!r} clashes with axis {columns[column]!r}")
        if column in RESERVED_COLUMNS:
            raise ConfigError(where, f"column {column!r} clashes with a runs-table column")
        columns[column] = key
        out.append(Axis(key, _uniform(values)))
    return out


def _uniform(values: Sequence[Scalar]) -> tuple[Scalar, ...]:
    """One type per column: ints mixed with floats become floats, any other mix becomes strings."""
    kinds = {axis_kind([v]) for v in values}
    if kinds <= {"int", "float"} and "float" in kinds:
        return tuple(float(v) for v in values)
    if len(kinds) > 1:
        return tuple(format_value(v) for v in values)
    return tuple(values)


def axis_kind(values: Sequence[Scalar]) -> str:
    """``bool``, ``int``, ``float`` or ``str``: the runs-table type of an axis column."""
    kinds = {"bool" if isinstance(v, bool) else type(v).__name__ for v in values}
    return kinds.pop() if len(kinds) == 1 else "str"


def value_key(v: Scalar) -> tuple[str, Scalar]:
    """What makes two axis values the same: ``1`` and ``1.0`` are, ``True`` and ``1`` or ``"1"`` are not."""
    return (type(v).__name__ if isinstance(v, (bool, str)) else "num", v)


def format_value(v: Scalar) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def expand_grid(axes: Sequence[Axis]) -> list[Cell]:
    """Cartesian product in declared order; cell ids 0.. and labels ``col=value,col=value``."""
    cells: list[Cell] = []
    for cell_id, combo in enumerate(itertools.product(*(a.values for a in axes))):
        params = {a.column: v for a, v in zip(axes, combo, strict=True)}
        label = ",".join(f"{c}={format_value(v)}" for c, v in params.items()) or "base"
        cells.append(Cell(cell_id, label, params, tuple((a.key, v) for a, v in zip(axes, combo, strict=True))))
    return cells


def derive_seed(root_seed: int, rep: int) -> int:
    """The engine seed of replication ``rep``: 63 bits of numpy ``SeedSequence(root_seed, spawn_key=(rep,))``.

    Depends on nothing else (not the cell, policy or LSM), so every cell replays the same streams.
    """
    words = np.random.SeedSequence(entropy=root_seed, spawn_key=(rep,)).generate_state(2, np.uint32)
    return ((int(words[0]) << 32) | int(words[1])) >> 1


def plan_runs(cells: Sequence[Cell], replications: int, root_seed: int, batch_size: int) -> list[RunSpec]:
    """Runs cell-major, rep-minor; consecutive runs share a batch (one Ray task, one file per table)."""
    runs: list[RunSpec] = []
    seeds = [derive_seed(root_seed, rep) for rep in range(replications)]
    for cell in cells:
        for rep in range(replications):
            index = len(runs)
            runs.append(RunSpec(f"c{cell.cell_id:04d}-r{rep:04d}", cell.cell_id, rep, seeds[rep], index // batch_size))
    return runs


def batches(runs: Iterable[RunSpec]) -> dict[int, list[RunSpec]]:
    out: dict[int, list[RunSpec]] = {}
    for run in runs:
        out.setdefault(run.batch, []).append(run)
    return out

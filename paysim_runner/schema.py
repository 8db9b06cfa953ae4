"""Arrow types of the stored tables, derived from the record shapes the engine exports.

``_core.SCHEMAS`` lists every record's fields as ``(name, type)`` with types such as ``int64``,
``float64|null`` or ``str``; this module turns them into pyarrow types, so a new engine metric gets
its ``runs`` column without an edit here (docs/runner.md, "Record shapes").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from paysim_runner import _core

if TYPE_CHECKING:
    from paysim_runner.sweep.grid import Axis

#: Engine field types as Arrow types. Parquet columns are nullable, so ``|null`` changes nothing here.
ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int64|null": pa.int64(),
    "int32": pa.int32(),
    "uint8": pa.uint8(),
    "bool": pa.bool_(),
    "float64": pa.float64(),
    "float64|null": pa.float64(),
    "str": pa.string(),
}
#: Sweep-axis value kinds (``sweep.Axis.kind``) as Arrow types.
_AXIS_TYPES = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string()}

#: Engine field types as Python types (REST response models).
PYTHON_TYPES: dict[str, Any] = {
    "int64": int,
    "int64|null": int | None,
    "int32": int,
    "uint8": int,
    "bool": bool,
    "float64": float,
    "float64|null": float | None,
    "str": str,
}

#: Each metric's engine type, in ``metrics()`` order.
METRIC_TYPES: dict[str, str] = dict(_core.SCHEMAS["metrics"])
#: Metrics stored as strings in ``runs`` (the engine version).
STRING_METRICS = frozenset(name for name, kind in METRIC_TYPES.items() if kind == "str")


def metric_type(name: str) -> pa.DataType:
    """The Arrow type of metric ``name`` in the ``runs`` table."""
    return ARROW_TYPES[METRIC_TYPES[name]]


def runs_schema(axes: Sequence[Axis]) -> pa.Schema:
    """The ``runs`` columns: run identity, the sweep's axes, then every metric. Identical in every
    batch, so one glob reads them all."""
    fields = [
        pa.field("run_id", pa.string()),
        pa.field("sweep", pa.string()),
        pa.field("cell_id", pa.int32()),
        pa.field("cell", pa.string()),
        *(pa.field(a.column, _AXIS_TYPES[a.kind]) for a in axes),
        pa.field("seed", pa.int64()),
        pa.field("rep", pa.int32()),
        *(pa.field(name, metric_type(name)) for name in METRIC_TYPES),
    ]
    return pa.schema(fields)


def nullable_fields(record: str) -> frozenset[str]:
    """Fields of ``record`` that may be null (in numpy log columns: -1)."""
    return frozenset(name for name, kind in _core.SCHEMAS[record] if kind.endswith("|null"))

"""The runner's own config (everything outside ``scenario``): its pydantic schema, and the parts of
``sweep`` that refer to the grid (``compare`` and ``plot``), checked against its axes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paysim_runner.config import ConfigError, format_loc
from paysim_runner.sweep.grid import Axis, value_key
from paysim_runner.sweep.settings import Scalar

#: How a sweep's batches run (paysim_runner.driver): as Ray tasks, or one after another in the driver.
Executor = Literal["ray", "inline"]
#: A sweep name: it names the results folder.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RayOptions(_Strict):
    address: str | None = None
    num_cpus: int = Field(default=2, ge=1)


class LogOptions(_Strict):
    ticks: bool = True
    transactions: bool = True


class CompareSpec(_Strict):
    axis: str = Field(min_length=1)
    baseline: Any


class LiquidityDelayPlot(_Strict):
    x: str = Field(min_length=1)  # the grid axis that steps liquidity


class PlotSpec(_Strict):
    """Figures the report draws beyond the cost breakdown. ``liquidity_delay.x`` names the axis of
    the Leinonen–Soramäki curve (without it, an axis named liquidity_fraction or balance_scale)."""

    liquidity_delay: LiquidityDelayPlot | None = None


class SweepSpec(_Strict):
    name: str = Field(min_length=1)
    #: The results folder's name under output_dir; null: ``<name>-<config id>`` (docs/runner.md#results-folders).
    folder: str | None = None
    axes: dict[str, Any] = Field(default_factory=dict)  # checked by parse_axes, with clearer messages
    fixed: dict[str, Any] = Field(default_factory=dict)
    #: One ``{axis, baseline}`` or a list of them: paired differences along each listed axis
    #: (checked by parse_compare, which names the entry at fault).
    compare: Any = None
    plot: PlotSpec | None = None


class RunnerConfig(_Strict):
    """The resolved Hydra config. ``scenario`` is validated separately, cell by cell."""

    scenario: dict[str, Any]
    policy: dict[str, Any] | None = None
    output_dir: str = Field(min_length=1)
    seeds: int = Field(ge=1, le=1_000_000)
    root_seed: int = Field(ge=0)
    batch_size: int = Field(ge=1, le=100_000)
    logs: LogOptions = Field(default_factory=LogOptions)
    executor: Executor = "ray"
    ray: RayOptions = Field(default_factory=RayOptions)
    progress: bool = True
    report: bool = True
    sweep: SweepSpec


def parse_runner_config(data: Mapping[str, Any]) -> RunnerConfig:
    """The runner config, or a :class:`ConfigError` naming the first field at fault."""
    try:
        cfg = RunnerConfig.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(format_loc(err["loc"]), msg, more=len(exc.errors()) - 1) from None
    if not _NAME_RE.match(cfg.sweep.name):
        raise ConfigError("sweep.name", "use letters, digits, '_', '-' or '.' (it names the results folder)")
    if cfg.sweep.folder is not None and not _NAME_RE.match(cfg.sweep.folder):
        raise ConfigError("sweep.folder", "use letters, digits, '_', '-' or '.' (a folder name inside output_dir)")
    return cfg


def parse_compare(spec: Any, axes: Sequence[Axis]) -> list[dict[str, Scalar]]:
    """``sweep.compare`` (one ``{axis, baseline}``, a list of them, or null) as a list of
    ``{axis: column, baseline: value}``: each axis a grid axis (by key or column) at most once, each
    baseline one of its values (typed as the axis is)."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        raw: list[tuple[str, Any]] = [("sweep.compare", spec)]
    elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        raw = [(f"sweep.compare[{i}]", entry) for i, entry in enumerate(spec)]
    else:
        raise ConfigError("sweep.compare", "expected {axis: ..., baseline: ...} or a list of them")
    entries: list[tuple[str, CompareSpec]] = []
    for where, given in raw:
        try:
            entries.append((where, CompareSpec.model_validate(given)))
        except ValidationError as exc:
            err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]  # a typo first
            msg = "unknown key" if err["type"] == "extra_forbidden" else str(err["msg"])
            raise ConfigError(f"{where}.{format_loc(err['loc'])}" if err["loc"] else where, msg) from None
    by_key = {a.key: a for a in axes} | {a.column: a for a in axes}
    out: list[dict[str, Scalar]] = []
    for where, entry in entries:
        axis = by_key.get(entry.axis)
        if axis is None:
            raise ConfigError(f"{where}.axis", f"{entry.axis!r} is not a grid axis")
        if any(c["axis"] == axis.column for c in out):
            raise ConfigError(f"{where}.axis", f"{entry.axis!r} is compared twice")
        matches = [v for v in axis.values if value_key(v) == value_key(entry.baseline)]
        if not matches:
            raise ConfigError(f"{where}.baseline", f"{entry.baseline!r} is not among {list(axis.values)}")
        out.append({"axis": axis.column, "baseline": matches[0]})
    return out


#: Axes that step liquidity by their name alone, for the liquidity–delay curve.
LIQUIDITY_AXES = ("liquidity_fraction", "balance_scale")


def parse_plots(spec: PlotSpec | None, axes: Sequence[Axis]) -> dict[str, dict[str, str]]:
    """The report's extra figures, by axis column: ``sweep.plot.liquidity_delay.x`` if given, else
    an axis named liquidity_fraction or balance_scale. The x axis must be numeric with 2+ values."""
    by_key = {a.key: a for a in axes} | {a.column: a for a in axes}
    wanted = spec.liquidity_delay.x if spec is not None and spec.liquidity_delay is not None else None
    if wanted is None:
        axis = next((a for a in axes if a.key in LIQUIDITY_AXES and a.kind in ("int", "float")
                     and len(a.values) >= 2), None)
        return {} if axis is None else {"liquidity_delay": {"x": axis.column}}
    axis = by_key.get(wanted)
    where = "sweep.plot.liquidity_delay.x"
    if axis is None:
        raise ConfigError(where, f"{wanted!r} is not a grid axis")
    if axis.kind not in ("int", "float") or len(axis.values) < 2:
        raise ConfigError(where, f"axis {wanted!r} needs at least two numeric values to draw a curve")
    return {"liquidity_delay": {"x": axis.column}}


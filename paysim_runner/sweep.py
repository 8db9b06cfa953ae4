"""Sweep planning: runner config -> validated grid of cells x replications, seeds and batches.

Everything here is pure and deterministic: the same config always gives the same cells, run ids,
seeds and batch assignment, which is what makes resume produce identical files. :func:`build_plan`
validates every cell's scenario (with the engine's own rules) so a bad value fails before any output
folder exists.

Common random numbers: a run's seed depends on ``(root_seed, rep)`` only. Every cell of the grid
sees the same payment streams for replication ``rep`` (the engine draws each bank's arrivals from its
own stream, independent of policy, LSM, credit or balances), so differences between cells are paired.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paysim_runner.config import CONF_DIR, ConfigError, SimulationConfig, config_from_mapping, format_loc

Scalar = bool | int | float | str
#: How a sweep's batches run (paysim_runner.driver): as Ray tasks, or one after another in the driver.
Executor = Literal["ray", "inline"]

#: Named transforms usable as axis or ``sweep.fixed`` keys besides plain config paths.
#: ``policy``: a conf/policy/<name>.yaml given to every bank; ``credit_scale`` / ``balance_scale``:
#: multiply every bank's credit limit / opening balance; ``liquidity_fraction``: open every bank at
#: ``lower + f x (upper - lower)`` of its own liquidity bounds with no credit (resolved per run).
TRANSFORMS = ("policy", "credit_scale", "balance_scale", "liquidity_fraction")
#: The scenario fields each transform writes, to blame it for an invalid result.
_TRANSFORM_TARGETS = {
    "policy": "agents.*.policy",
    "credit_scale": "agents.*.credit_limit",
    "balance_scale": "agents.*.balance",
    "liquidity_fraction": "agents.*.balance",
}
_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_]+|\*))*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --- the runner's own config (everything outside `scenario`) -----------------------------------

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
    try:
        return RunnerConfig.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(format_loc(err["loc"]), msg, more=len(exc.errors()) - 1) from None


# --- grid ------------------------------------------------------------------------------------------

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
        if not _PATH_RE.match(key):
            raise ConfigError(where, "axis key must be a dotted config path or one of " + ", ".join(TRANSFORMS))
        _not_the_seed(key, where)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ConfigError(where, "needs a non-empty list of values")
        for v in values:
            if not isinstance(v, (bool, int, float, str)) or (isinstance(v, float) and not math.isfinite(v)):
                raise ConfigError(where, f"value {v!r} is not a finite number, string or boolean")
        if len(set(map(_value_key, values))) != len(values):
            raise ConfigError(where, "values must be distinct")
        column = axis_column(key)
        if column in columns:
            raise ConfigError(where, f"column {column!r} clashes with axis {columns[column]!r}")
        if column in RESERVED_COLUMNS:
            raise ConfigError(where, f"column {column!r} clashes with a runs-table column")
        columns[column] = key
        out.append(Axis(key, _uniform(values)))
    return out


def _not_the_seed(key: str, where: str) -> None:
    """Every run's seed comes from (root_seed, rep): a scenario seed set by a sweep would be ignored."""
    if key == "simulation.seed":
        raise ConfigError(where, "run seeds derive from root_seed and the replication number (common random "
                                 "numbers); vary root_seed or seeds instead")


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


def flatten(tree: Mapping[str, Any], keep: Any, prefix: str = "") -> dict[str, Any]:
    """``{lsm: {mode: [..]}}`` -> ``{"lsm.mode": [..]}``, so an axis can be written nested (and then
    overridden from the command line, ``sweep.axes.lsm.mode=[t2]``) or as one dotted key.

    ``keep(value)`` says when a value is a leaf; dicts with a ``type`` key (a policy, an amount
    distribution) are set whole rather than merged.
    """
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if keep(value):
            out[path] = value
        else:
            out.update(flatten(value, keep, f"{path}."))
    return out


def _value_key(v: Scalar) -> tuple[str, Scalar]:
    return (type(v).__name__ if isinstance(v, (bool, str)) else "num", v)


def format_value(v: Scalar) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def expand_grid(axes: Sequence[Axis]) -> list[Cell]:
    """Cartesian product in declared order; cell ids 0.. and labels ``col=value,col=value``."""
    cells: list[Cell] = []
    for cell_id, combo in enumerate(itertools.product(*(a.values for a in axes))):
        params = {a.column: v for a, v in zip(axes, combo)}
        label = ",".join(f"{c}={format_value(v)}" for c, v in params.items()) or "base"
        cells.append(Cell(cell_id, label, params, tuple((a.key, v) for a, v in zip(axes, combo))))
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


# --- applying settings to a scenario -----------------------------------------------------------------

def load_policy(name: Scalar, conf_dir: Path = CONF_DIR) -> dict[str, Any]:
    """The policy mapping of ``conf/policy/<name>.yaml``."""
    available = sorted(p.stem for p in (conf_dir / "policy").glob("*.yaml"))
    if not isinstance(name, str) or name not in available:
        raise ValueError(f"unknown policy {name!r} (conf/policy has {', '.join(available)})")
    data = yaml.safe_load((conf_dir / "policy" / f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"conf/policy/{name}.yaml must hold a mapping")
    return data


def _number(value: Scalar, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a number >= 0")
    return float(value)


def apply_setting(scenario: dict[str, Any], key: str, value: Any, conf_dir: Path = CONF_DIR) -> None:
    """Set ``key`` (a transform name or a dotted path into the expanded scenario) in place.

    ``liquidity_fraction`` is only checked here; it needs the run's payment stream (see paysim_runner/run.py).
    Raises ``ValueError`` with the problem; the caller adds the field path.
    """
    agents = scenario.get("agents", [])
    if key == "policy":
        policy = value if isinstance(value, dict) else load_policy(value, conf_dir)
        for agent in agents:
            agent["policy"] = copy.deepcopy(policy)
    elif key in ("credit_scale", "balance_scale"):
        factor = _number(value, key)
        field_name = "credit_limit" if key == "credit_scale" else "balance"
        for agent in agents:
            agent[field_name] = int(round(agent.get(field_name, 0) * factor))
    elif key == "liquidity_fraction":
        _number(value, key)
    else:
        _set_path(scenario, key.split("."), value, key)


def _set_path(node: Any, parts: list[str], value: Any, key: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if head == "*":
            targets = list(range(len(node)))
        elif head.isdigit() and int(head) < len(node):
            targets = [int(head)]
        else:
            raise ValueError(f"{head!r} is not an index of a list of {len(node)} (use a number or *)")
        for i in targets:
            if rest:
                _set_path(node[i], rest, value, key)
            else:
                node[i] = copy.deepcopy(value)
        return
    if not isinstance(node, dict):
        raise ValueError(f"cannot set {head!r} inside a {type(node).__name__}")
    if head == "*":
        raise ValueError("* only matches list items (e.g. agents.*.credit_limit)")
    if not rest:
        node[head] = copy.deepcopy(value)
        return
    child = node.get(head)
    if child is None:
        child = node[head] = {}
    _set_path(child, rest, value, key)


# --- the plan --------------------------------------------------------------------------------------

@dataclass
class SweepPlan:
    """Everything a driver needs, validated: cells with engine dicts, runs with seeds and batches."""

    name: str
    root_seed: int
    replications: int
    axes: list[Axis]
    compare: list[dict[str, Scalar]]  # [{axis: column, baseline: value}], one per paired comparison
    cells: list[Cell]
    runs: list[RunSpec]
    engine_configs: dict[int, dict[str, Any]]  # cell_id -> engine dict (rng_seed set per run)
    liquidity_fractions: dict[int, float | None]
    policy_files: dict[str, dict[str, Any]]  # conf/policy/<name>.yaml contents used by name
    plots: dict[str, dict[str, str]]  # {"liquidity_delay": {"x": column}} when the sweep has that curve
    batch_size: int
    logs: LogOptions

    @property
    def grid_columns(self) -> list[str]:
        return [a.column for a in self.axes]

    def engine_config_sha256(self, cell_id: int) -> str:
        return engine_config_sha256(self.engine_configs[cell_id])

    def batches(self) -> dict[int, list[RunSpec]]:
        return batches(self.runs)


#: Columns of `runs` that axes may not shadow.
RESERVED_COLUMNS = frozenset({"run_id", "sweep", "cell_id", "cell", "seed", "rep", "batch"})


def _matches(pattern: str, path: str) -> bool:
    """Does an axis key (maybe with *) cover the dotted error path ``path`` (or a parent of it)?"""
    pp, ep = pattern.split("."), path.split(".")
    return len(ep) >= len(pp) and all(p == "*" or p == e for p, e in zip(pp, ep))


def _dotted(path: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", path)


def cell_scenario(base: dict[str, Any], settings: Iterable[tuple[str, Any, str]], conf_dir: Path) -> SimulationConfig:
    """Apply ``(key, value, where)`` settings to a copy of the expanded base scenario and validate.

    An invalid result is blamed on the setting that touched the failing field, so the user sees
    ``sweep.axes.lsm.mode: ...`` rather than a scenario path they never wrote.
    """
    scenario = copy.deepcopy(base)
    settings = list(settings)
    for key, value, where in settings:
        try:
            apply_setting(scenario, key, value, conf_dir)
        except ValueError as exc:
            raise ConfigError(where, f"value {value!r}: {exc}") from None
    try:
        return config_from_mapping(scenario)
    except ConfigError as exc:
        dotted = _dotted(exc.path)
        for key, value, where in reversed(settings):
            if _matches(_TRANSFORM_TARGETS.get(key, key), dotted):
                shown = "" if isinstance(value, dict) else f"value {value!r} makes "
                raise ConfigError(where, f"{shown}{exc.path} invalid: {exc.problem}") from None
        raise ConfigError(f"scenario.{exc.path}" if exc.path else "scenario", exc.problem) from None


def engine_config_sha256(engine: Mapping[str, Any]) -> str:
    """SHA-256 of a cell's engine dict as canonical JSON (sorted keys, no spaces), ``rng_seed``
    excluded since every run sets its own: what the cell meant, whatever named it."""
    canonical = json.dumps({k: v for k, v in engine.items() if k != "rng_seed"}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_compare(spec: Any, axes: Sequence[Axis]) -> list[dict[str, Scalar]]:
    """``sweep.compare`` (one ``{axis, baseline}``, a list of them, or null) as a list of
    ``{axis: column, baseline: value}``: each axis a grid axis (by key or column) at most once, each
    baseline one of its values (typed as the axis is)."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        raw = [("sweep.compare", spec)]
    elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        raw = [(f"sweep.compare[{i}]", entry) for i, entry in enumerate(spec)]
    else:
        raise ConfigError("sweep.compare", "expected {axis: ..., baseline: ...} or a list of them")
    entries: list[tuple[str, CompareSpec]] = []
    for where, entry in raw:
        try:
            entries.append((where, CompareSpec.model_validate(entry)))
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
        matches = [v for v in axis.values if _value_key(v) == _value_key(entry.baseline)]
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


def build_plan(data: Mapping[str, Any], conf_dir: Path = CONF_DIR) -> SweepPlan:
    """Validate the whole sweep and return its plan. Raises :class:`ConfigError`; writes nothing.

    Every cell's scenario goes through the schema, which runs the engine's own validation, so a
    value only the engine can judge (a missing scheduled-payments file, a cycle length over 12)
    fails here, named by the setting that caused it, not in a Ray worker.
    """
    cfg = parse_runner_config(data)
    if not _NAME_RE.match(cfg.sweep.name):
        raise ConfigError("sweep.name", "use letters, digits, '_', '-' or '.' (it names the results folder)")
    axes = parse_axes(flatten(cfg.sweep.axes, keep=lambda v: not isinstance(v, dict)))
    fixed_settings = flatten(cfg.sweep.fixed, keep=lambda v: not isinstance(v, dict) or "type" in v)
    for key in fixed_settings:
        if not _PATH_RE.match(key):
            raise ConfigError(f"sweep.fixed.{key}", "key must be a dotted config path or a transform")
        _not_the_seed(key, f"sweep.fixed.{key}")
    compare = parse_compare(cfg.sweep.compare, axes)
    plots = parse_plots(cfg.sweep.plot, axes)

    base = config_from_mapping(cfg.scenario, prefix="scenario")
    base_dict = base.model_dump(exclude_none=True)
    spf = base_dict.get("scheduled_payments_file")
    if spf is not None:
        base_dict["scheduled_payments_file"] = str(Path(spf).resolve())
    fixed: list[tuple[str, Any, str]] = []
    if cfg.policy is not None:
        fixed.append(("policy", cfg.policy, "policy"))
    fixed += [(k, v, f"sweep.fixed.{k}") for k, v in fixed_settings.items()]

    cells = expand_grid(axes)
    policy_names = {v for k, v, _ in fixed if k == "policy" and isinstance(v, str)}
    policy_names |= {v for a in axes if a.key == "policy" for v in a.values if isinstance(v, str)}
    engine_configs: dict[int, dict[str, Any]] = {}
    fractions: dict[int, float | None] = {}
    for cell in cells:
        settings = fixed + [(k, v, f"sweep.axes.{k}") for k, v in cell.settings]
        sim = cell_scenario(base_dict, settings, conf_dir)
        fraction = None
        for key, value, _ in settings:
            if key == "liquidity_fraction":
                fraction = float(value)
        engine_configs[cell.cell_id] = sim.to_rust_dict()
        fractions[cell.cell_id] = fraction
    runs = plan_runs(cells, cfg.seeds, cfg.root_seed, cfg.batch_size)
    return SweepPlan(
        name=cfg.sweep.name,
        root_seed=cfg.root_seed,
        replications=cfg.seeds,
        axes=axes,
        compare=compare,
        cells=cells,
        runs=runs,
        engine_configs=engine_configs,
        liquidity_fractions=fractions,
        policy_files={name: load_policy(name, conf_dir) for name in sorted(policy_names)},
        plots=plots,
        batch_size=cfg.batch_size,
        logs=cfg.logs,
    )


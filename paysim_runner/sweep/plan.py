"""The sweep plan: the whole runner config validated into cells with their engine dicts and runs
with their seeds and batches, before any output folder exists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paysim_runner.config import CONF_DIR, config_from_mapping
from paysim_runner.sweep.grid import Axis, Cell, RunSpec, batches, expand_grid, parse_axes, plan_runs
from paysim_runner.sweep.settings import Scalar, cell_scenario, flatten, load_policy, parse_fixed
from paysim_runner.sweep.spec import LogOptions, parse_compare, parse_plots, parse_runner_config

#: One setting as applied to a cell: (key, value, where the user wrote it).
Setting = tuple[str, Any, str]


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


def engine_config_sha256(engine: Mapping[str, Any]) -> str:
    """SHA-256 of a cell's engine dict as canonical JSON (sorted keys, no spaces), ``rng_seed``
    excluded since every run sets its own: what the cell meant, whatever named it."""
    canonical = json.dumps({k: v for k, v in engine.items() if k != "rng_seed"}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_plan(data: Mapping[str, Any], conf_dir: Path = CONF_DIR) -> SweepPlan:
    """Validate the whole sweep and return its plan. Raises :class:`ConfigError`; writes nothing.

    Every cell's scenario goes through the schema, which runs the engine's own validation, so a
    value only the engine can judge (a missing scheduled-payments file, a cycle length over 12)
    fails here, named by the setting that caused it, not in a Ray worker.
    """
    cfg = parse_runner_config(data)
    axes = parse_axes(flatten(cfg.sweep.axes, keep=lambda v: not isinstance(v, dict)))
    fixed_settings = parse_fixed(cfg.sweep.fixed)
    compare = parse_compare(cfg.sweep.compare, axes)
    plots = parse_plots(cfg.sweep.plot, axes)

    base = config_from_mapping(cfg.scenario, prefix="scenario").model_dump(exclude_none=True)
    spf = base.get("scheduled_payments_file")
    if spf is not None:
        base["scheduled_payments_file"] = str(Path(spf).resolve())
    fixed: list[Setting] = []
    if cfg.policy is not None:
        fixed.append(("policy", cfg.policy, "policy"))
    fixed += [(k, v, f"sweep.fixed.{k}") for k, v in fixed_settings.items()]

    cells = expand_grid(axes)
    engine_configs: dict[int, dict[str, Any]] = {}
    fractions: dict[int, float | None] = {}
    for cell in cells:
        settings = fixed + [(k, v, f"sweep.axes.{k}") for k, v in cell.settings]
        engine_configs[cell.cell_id] = cell_scenario(base, settings, conf_dir).to_rust_dict()
        fractions[cell.cell_id] = _liquidity_fraction(settings)
    return SweepPlan(
        name=cfg.sweep.name,
        root_seed=cfg.root_seed,
        replications=cfg.seeds,
        axes=axes,
        compare=compare,
        cells=cells,
        runs=plan_runs(cells, cfg.seeds, cfg.root_seed, cfg.batch_size),
        engine_configs=engine_configs,
        liquidity_fractions=fractions,
        policy_files={name: load_policy(name, conf_dir) for name in _policy_names(fixed, axes)},
        plots=plots,
        batch_size=cfg.batch_size,
        logs=cfg.logs,
    )


def _liquidity_fraction(settings: list[Setting]) -> float | None:
    """The cell's ``liquidity_fraction`` (the last setting of it wins), resolved per run."""
    fraction = None
    for key, value, _ in settings:
        if key == "liquidity_fraction":
            fraction = float(value)
    return fraction


def _policy_names(fixed: list[Setting], axes: list[Axis]) -> list[str]:
    """The conf/policy files the sweep names, sorted, so the manifest records what they held."""
    names = {v for k, v, _ in fixed if k == "policy" and isinstance(v, str)}
    names |= {v for a in axes if a.key == "policy" for v in a.values if isinstance(v, str)}
    return sorted(names)

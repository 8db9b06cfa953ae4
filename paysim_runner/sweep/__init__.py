"""Sweep planning: runner config -> validated grid of cells x replications, seeds and batches.

Everything here is pure and deterministic: the same config always gives the same cells, run ids,
seeds and batch assignment, which is what makes resume produce identical files. :func:`build_plan`
validates every cell's scenario (with the engine's own rules) so a bad value fails before any output
folder exists.

Common random numbers: a run's seed depends on ``(root_seed, rep)`` only. Every cell of the grid
sees the same payment streams for replication ``rep`` (the engine draws each bank's arrivals from its
own stream, independent of policy, LSM, credit or balances), so differences between cells are paired.

Modules by job: ``spec`` (the runner config's schema, ``compare`` and ``plot``), ``grid`` (axes,
cells, runs, seeds, batches), ``settings`` (axis and fixed values applied to a scenario) and
``plan`` (:func:`build_plan`, which puts them together), ``resources`` (the memory guard).
"""

from __future__ import annotations

from paysim_runner.sweep.grid import (
    Axis,
    Cell,
    RunSpec,
    derive_seed,
    expand_grid,
    parse_axes,
    plan_runs,
)
from paysim_runner.sweep.plan import SweepPlan, build_plan
from paysim_runner.sweep.settings import apply_setting, flatten
from paysim_runner.sweep.spec import Executor

__all__ = [
    "Axis",
    "Cell",
    "Executor",
    "RunSpec",
    "SweepPlan",
    "apply_setting",
    "build_plan",
    "derive_seed",
    "expand_grid",
    "flatten",
    "parse_axes",
    "plan_runs",
]

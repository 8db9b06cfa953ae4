"""The "What was run" section of report.md: the scenario, the command, the grid and the seeds.

Everything comes from manifest.json (its resolved ``config`` and the ``command`` the Hydra app
records), so the section can be read by someone who has only the results folder and wants to run
the sweep again. Manifests written before a key existed show "not recorded" instead of failing.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

NOT_RECORDED = "not recorded"
_SWEPT = "swept: see its axis below"


def _code(value: Any) -> str:
    """A value as inline code: strings bare, anything else as compact JSON."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))
    return f"`{text}`"


def bank_count(scenario: Mapping[str, Any]) -> int | None:
    """The scenario's banks: its ``agents`` list, or the sum of its ``agent_groups`` counts."""
    if isinstance(scenario.get("agents"), list) and scenario["agents"]:
        return len(scenario["agents"])
    groups = scenario.get("agent_groups")
    if isinstance(groups, list):
        return sum(int(g.get("count", 0)) for g in groups if isinstance(g, dict))
    return None


def _policies(config: Mapping[str, Any], scenario: Mapping[str, Any]) -> str:
    """The cash-manager policy: the config's ``policy`` group, a fixed ``policy`` setting, or the
    scenario's own per-bank policy types."""
    fixed = ((config.get("sweep") or {}).get("fixed") or {}).get("policy")
    chosen = config.get("policy") or fixed
    if chosen:
        return _code(chosen if isinstance(chosen, str) else chosen.get("type", chosen))
    banks = scenario.get("agents") or scenario.get("agent_groups") or []
    types = sorted({str((b.get("policy") or {}).get("type")) for b in banks if isinstance(b, dict)})
    return ", ".join(f"`{t}`" for t in types) + " (the scenario's)" if types else NOT_RECORDED


def _scenario_rows(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    config = manifest.get("config") or {}
    scenario = config.get("scenario") or {}
    sim = scenario.get("simulation") or {}
    groups = (manifest.get("command") or {}).get("config_groups") or {}
    swept = {str(k) for k in (manifest.get("axis_keys") or {}).values()}
    lsm = (scenario.get("lsm") or {}).get("mode")
    banks = bank_count(scenario)
    rows = [
        ("scenario", _code(groups["scenario"]) if groups.get("scenario") else NOT_RECORDED),
        ("banks", NOT_RECORDED if banks is None else str(banks)),
        ("ticks per day", str(sim.get("ticks_per_day", NOT_RECORDED))),
        ("days", str(sim.get("num_days", NOT_RECORDED))),
        ("LSM mode", _SWEPT if "lsm.mode" in swept else (f"`{lsm}`" if lsm else "not set (the engine's default)")),
        ("policy", _SWEPT if "policy" in swept else _policies(config, scenario)),
    ]
    if scenario.get("end_of_day"):
        rows.append(("end of day", _code(scenario["end_of_day"])))
    if scenario.get("costs"):
        rows.append(("costs", _code(scenario["costs"])))
    fixed = (config.get("sweep") or {}).get("fixed") or {}
    if fixed:
        rows.append(("fixed in every cell", ", ".join(f"`{k}` = {_code(v)}" for k, v in fixed.items())))
    return rows


def _command_rows(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    command = manifest.get("command")
    if not isinstance(command, Mapping):
        return [("command line", NOT_RECORDED), ("overrides", NOT_RECORDED)]
    argv = [str(a) for a in command.get("argv") or []]
    # argv[0] is the path of paysim_runner/__main__.py: shown as the module it runs
    shown = ["python", "-m", "paysim_runner", *argv[1:]] if argv and argv[0].endswith("__main__.py") else argv
    overrides = command.get("overrides") or []
    return [
        ("command line", f"`{shlex.join(shown)}`" if shown else NOT_RECORDED),
        ("overrides", ", ".join(f"`{o}`" for o in overrides) or "none"),
    ]


def _grid_rows(manifest: Mapping[str, Any], n_runs: int, n_cells: int) -> list[tuple[str, str]]:
    axes = manifest.get("axes") or {}
    keys = manifest.get("axis_keys") or {}
    rows = [(f"axis `{col}`" + (f" (`{keys[col]}`)" if keys.get(col, col) != col else ""),
             ", ".join(_code(v) for v in values)) for col, values in axes.items()]
    if not rows:
        rows = [("axes", "none: one cell")]
    reps = manifest.get("replications", NOT_RECORDED)
    rows += [
        ("runs", f"{n_runs} = {n_cells} cells × {reps} replications"),
        ("root seed", str(manifest.get("root_seed", NOT_RECORDED))),
        ("run seeds", "replication r runs on seed SeedSequence(root_seed, spawn_key=(r,)) in every cell "
                      "(common random numbers); each run's seed is in the `runs` table and manifest.json"),
    ]
    return rows


def what_was_run(manifest: Mapping[str, Any], n_planned: int, n_cells: int) -> list[tuple[str, str]]:
    """(label, Markdown text) rows: scenario, command and overrides, axes, runs and seeds."""
    return _scenario_rows(manifest) + _command_rows(manifest) + _grid_rows(manifest, n_planned, n_cells)

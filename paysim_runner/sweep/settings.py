"""Settings: ``(key, value)`` pairs from the grid axes, ``sweep.fixed`` and ``policy``, each a
dotted path into the scenario or a named transform, applied to a copy of the base scenario; an
invalid result is blamed on the setting that made it."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from paysim_runner.config import CONF_DIR, ConfigError, config_from_mapping
from paysim_runner.scenario import SimulationConfig

#: A value an axis may take (one runs-table cell); ``sweep.fixed`` may also set whole mappings.
Scalar = bool | int | float | str

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


def is_setting_key(key: str) -> bool:
    """A dotted config path (``*`` matching every list item) or a transform name."""
    return _PATH_RE.match(key) is not None


def not_the_seed(key: str, where: str) -> None:
    """Every run's seed comes from (root_seed, rep): a scenario seed set by a sweep would be ignored."""
    if key == "simulation.seed":
        raise ConfigError(where, "run seeds derive from root_seed and the replication number (common random "
                                 "numbers); vary root_seed or seeds instead")


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


def parse_fixed(fixed: Mapping[str, Any]) -> dict[str, Any]:
    """``sweep.fixed`` as dotted keys, each checked; a mapping with a ``type`` is one value."""
    settings = flatten(fixed, keep=lambda v: not isinstance(v, dict) or "type" in v)
    for key in settings:
        if not is_setting_key(key):
            raise ConfigError(f"sweep.fixed.{key}", "key must be a dotted config path or a transform")
        not_the_seed(key, f"sweep.fixed.{key}")
    return settings


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
            agent[field_name] = round(agent.get(field_name, 0) * factor)
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


def _matches(pattern: str, path: str) -> bool:
    """Does an axis key (maybe with *) cover the dotted error path ``path`` (or a parent of it)?"""
    pp, ep = pattern.split("."), path.split(".")
    return len(ep) >= len(pp) and all(p == "*" or p == e for p, e in zip(pp, ep, strict=False))


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


def shadowed_overrides(overrides: Iterable[str], axes: Mapping[str, Any]) -> list[str]:
    """Command-line overrides that a sweep axis replaces in every cell, each as a warning line:
    ``policy=deadline`` under a ``policy`` axis, ``scenario.lsm.mode=t2`` under ``lsm.mode``,
    ``scenario.agents.0.balance=…`` under ``liquidity_fraction``. (Scaling axes multiply the
    overridden value instead, so they do not shadow it.)"""
    replaced_by = {k: _TRANSFORM_TARGETS[k] for k in ("policy", "liquidity_fraction")}
    axis_keys = list(flatten(axes, keep=lambda v: not isinstance(v, dict)))
    warnings = []
    for override in overrides:
        key, sep, value = override.lstrip("+~").partition("=")
        if key == "policy":
            key = "scenario.agents.*.policy"  # given to every bank before the axes apply
        if not sep or not key.startswith("scenario."):
            continue
        path = _dotted(key.removeprefix("scenario."))
        for axis in axis_keys:
            if axis not in ("credit_scale", "balance_scale") and _covers(replaced_by.get(axis, axis), path):
                warnings.append(f"{override} is replaced in every cell by the sweep axis {axis}; "
                                f"set the axis instead, e.g. sweep.axes.{axis}=[{value}]")
                break
    return warnings


def _covers(pattern: str, path: str) -> bool:
    """Does the axis target ``pattern`` write ``path`` (both dotted, ``*`` on either side a wildcard)?"""
    pp, ep = pattern.split("."), path.split(".")
    return len(ep) >= len(pp) and all("*" in (p, e) or p == e for p, e in zip(pp, ep, strict=False))

"""Scenario files of the user's own for ``python -m paysim_runner``: ``scenario=/any/path/day.yaml``,
or ``--config-dir DIR scenario=day`` for ``DIR/scenario/day.yaml`` (docs/runner.md#your-own-scenarios).

A relative ``scheduled_payments_file`` in a scenario file is taken relative to that file's folder,
as ``paysim`` (the CLI) and :func:`paysim_runner.config.load_config` take it, wherever the command
is run from. Typed on the command line (``scenario.scheduled_payments_file=x.csv``), it is relative
to the working directory, like any path the user types.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.conf import ConfigSourceInfo

from paysim_runner.config import ConfigError, read_scenario_file, resolve_data_file

GROUP = "scenario"
_SUFFIXES = (".yaml", ".yml")


def register_scenario_paths(args: Sequence[str]) -> list[str]:
    """``args`` with each ``scenario=PATH.yaml`` replaced by ``scenario=<name>``, the file's contents
    (its data file path made absolute) stored under that name in Hydra's ConfigStore; Hydra itself
    looks config group options up by name only. Other arguments are returned unchanged."""
    out = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key == GROUP and value.endswith(_SUFFIXES):
            arg = f"{GROUP}={_store(Path(value))}"
        out.append(arg)
    return out


def _store(path: Path) -> str:
    from hydra.core.config_store import ConfigStore

    path = path.expanduser().resolve()
    if not path.is_file():
        raise ConfigError(
            GROUP, f"{path} is not a file (a scenario is a name in conf/scenario or a path to a .yaml file)"
        )
    data = read_scenario_file(path)
    # The path's digest keeps two day.yaml files of different folders apart, and apart from conf/scenario's.
    name = f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    ConfigStore.instance().store(group=GROUP, name=name, node=data)
    return name


def resolve_scenario_data_file(config: dict[str, Any], sources: Sequence[ConfigSourceInfo], choice: str | None,
                               overrides: Sequence[str]) -> dict[str, Any]:
    """``config`` with the scenario's relative ``scheduled_payments_file`` taken relative to the
    scenario file Hydra composed (the first ``<source>/scenario/<choice>.yaml`` of its search path),
    unless the command line set that path itself."""
    typed = any(o.partition("=")[0].lstrip("+~") == f"{GROUP}.scheduled_payments_file" for o in overrides)
    scenario = config.get(GROUP)
    if typed or choice is None or not isinstance(scenario, dict):
        return config
    for source in sources:
        if source.schema == "file":
            candidate = Path(source.path) / GROUP / f"{choice}.yaml"
            if candidate.is_file():
                return {**config, GROUP: resolve_data_file(scenario, candidate.parent)}
    return config

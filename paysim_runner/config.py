"""Loading scenarios: a YAML file or a plain mapping (Hydra node, REST body) -> a validated
:class:`~paysim_runner.scenario.SimulationConfig`, or one :class:`ConfigError` naming the field.

Validation happens here, before a run starts, so a bad value is reported with its field path
(docs/runner.md#overrides-and-errors) instead of failing inside a Ray worker. The schema itself is
paysim_runner/scenario.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from paysim_runner import errors
from paysim_runner.engine_keys import scenario_loc
from paysim_runner.scenario import DISTRIBUTION_TYPES, SimulationConfig

__all__ = [
    "CONF_DIR",
    "ConfigError",
    "SimulationConfig",
    "config_from_mapping",
    "format_loc",
    "format_validation_error",
    "load_config",
    "scenario_loc",  # engine error locations -> scenario paths; tested through this module
]


#: The Hydra config folder (scenario/, policy/, sweep/): package data, so a wheel ships it; the
#: repo's top-level ``conf`` is a symlink to it.
CONF_DIR = Path(__file__).resolve().parent / "conf"


class ConfigError(errors.ConfigError):
    """A scenario (or sweep setting) that cannot be run. ``str()`` is one line: ``<field.path>: <problem>``.

    ``.path`` is the dotted location as printed; ``.loc`` the same as a tuple when it is a field
    of the scenario, else ``(path,)`` (a file, a command-line key).
    """

    def __init__(self, path: str, problem: str, *, more: int = 0, loc: Sequence[str | int] | None = None) -> None:
        path, problem = _one_line(path), _one_line(problem)  # a typed value may hold a line break
        self.path = path
        self.problem = problem
        self.loc = tuple(loc) if loc is not None else ((path,) if path else ())
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{path}: {problem}{suffix}" if path else f"{problem}{suffix}")


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


#: Tagged unions of the schema: pydantic puts the tag in error paths, which readers never wrote.
_UNION_NAMES = {"distribution": DISTRIBUTION_TYPES}


def format_loc(loc: Sequence[str | int]) -> str:
    """``('agents', 1, 'policy', 'Deadline', 'urgency_threshold')`` -> ``agents[1].policy.urgency_threshold``."""
    parts: list[str] = []
    prev: str | int | None = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif not item.strip() or not item.isprintable():
            parts.append(f"[{item!r}]")  # a key only visible quoted (blank, a line break, ...)
        elif isinstance(prev, str) and prev in _UNION_NAMES and item in _UNION_NAMES[prev]:
            pass  # pydantic puts the discriminator tag in the path; readers think in field names
        else:
            parts.append(f".{item}" if parts else str(item))
        prev = item
    return "".join(parts)


def _problem(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = list(err["loc"])
    kind = err["type"]
    field = loc[-1] if loc else None
    if kind == "union_tag_invalid" and field in _UNION_NAMES:
        found = err.get("ctx", {}).get("tag", err.get("input"))
        expected = ", ".join(_UNION_NAMES[field])
        return format_loc([*loc, "type"]), f"unknown {field} type {found!r} (expected {expected})"
    if kind == "union_tag_not_found" and field in _UNION_NAMES:
        return format_loc([*loc, "type"]), f"missing (expected one of {', '.join(_UNION_NAMES[field])})"
    if kind == "extra_forbidden":
        return format_loc(loc), "unknown key (not part of the scenario schema)"
    if kind == "missing":
        return format_loc(loc), "required field is missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return format_loc(loc), msg


def format_validation_error(exc: ValidationError) -> ConfigError:
    """The first error of ``exc`` as a one-line :class:`ConfigError`, counting the rest.

    An unknown key comes first: a misspelt key also makes the intended one "missing", and the
    misspelling is what the user has to fix.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    path, problem = _problem(errors[0])
    return ConfigError(path, problem, more=len(errors) - 1)


# --- entry points -----------------------------------------------------------------------------------

def config_from_mapping(data: Mapping[str, Any], *, prefix: str = "") -> SimulationConfig:
    """Validate a plain mapping (Hydra node, REST body). Raises :class:`ConfigError`.

    ``prefix`` is prepended to error paths so a Hydra user sees ``scenario.agents[0].balance``.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(prefix, f"expected a mapping, got {type(data).__name__}")
    try:
        return SimulationConfig.model_validate(dict(data))
    except ValidationError as exc:
        err = format_validation_error(exc)
        if prefix:
            path = f"{prefix}.{err.path}" if err.path and not err.path.startswith("[") else f"{prefix}{err.path}"
            raise ConfigError(path, err.problem, more=len(exc.errors()) - 1) from None
        raise err from None


def load_config(path: str | Path) -> SimulationConfig:
    """Read and validate a scenario YAML file. Errors are :class:`ConfigError` (``<path>: <problem>``)."""
    return config_from_mapping(read_scenario_file(path))


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """A scenario YAML file as a mapping, not yet validated (ConfigError naming the file if it cannot
    be read). A relative ``scheduled_payments_file`` is made absolute, relative to the YAML file's
    folder: a scenario and its data travel together, wherever the command is run from."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(str(path), f"invalid YAML{where}: {problem}") from None
    if data is None:
        raise ConfigError(str(path), "file is empty")
    if not isinstance(data, dict):
        raise ConfigError(str(path), f"expected a mapping, got {type(data).__name__}")
    return resolve_data_file(data, path.parent)


def resolve_data_file(scenario: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``scenario`` with a relative ``scheduled_payments_file`` taken relative to ``folder`` (before
    validation: the engine reads the file while validating)."""
    spf = scenario.get("scheduled_payments_file")
    if isinstance(spf, str) and not Path(spf).expanduser().is_absolute():
        return {**scenario, "scheduled_payments_file": str((folder / spf).resolve())}
    return scenario

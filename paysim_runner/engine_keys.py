"""Scenario keys <-> engine keys: one table (:data:`RENAMES`), read both ways.

The scenario schema keeps readable keys (``simulation.seed``, ``agents[].balance``,
``costs``); the engine has its own (``rng_seed``, ``agent_configs[].opening_balance``,
``cost_rates``). :func:`to_engine` builds the engine dict from a scenario through the table, and
:func:`scenario_loc` takes an engine error's ``.loc`` back to the key the user wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["RENAMES", "GroupOrigins", "Loc", "scenario_loc", "to_engine"]

#: Which ``agent_groups`` entry each expanded bank came from (None: an explicit agent), with its id.
GroupOrigins = list[tuple[int, str] | None]


Loc = tuple[str | int, ...]

#: Every scenario location the engine spells differently, as (scenario, engine) key paths; ``*``
#: is any list index. Read scenario->engine to build the engine dict, engine->scenario to report
#: an engine error where the user wrote the value. A location follows its longest listed prefix.
#: The ``agent_groups`` rows apply to banks expanded from a group (the engine sees only banks).
RENAMES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("simulation", "ticks_per_day"), ("ticks_per_day",)),
    (("simulation", "num_days"), ("num_days",)),
    (("simulation", "seed"), ("rng_seed",)),
    (("agents",), ("agent_configs",)),
    (("agents", "*", "balance"), ("agent_configs", "*", "opening_balance")),
    (("agent_groups",), ("agent_configs",)),
    (("agent_groups", "*", "balance"), ("agent_configs", "*", "opening_balance")),
    (("agent_groups", "*", "id_prefix"), ("agent_configs", "*", "id")),
    (("costs",), ("cost_rates",)),
)


def _matches(pattern: Sequence[str], loc: Loc) -> bool:
    """Whether ``loc`` starts with ``pattern`` (``*`` matching any list index)."""
    return len(loc) >= len(pattern) and all(
        isinstance(item, int) if p == "*" else item == p for p, item in zip(pattern, loc, strict=False)
    )


def _translate(loc: Loc, pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> Loc:
    """``loc`` moved from the first to the second side of its longest matching pair."""
    best = max((pair for pair in pairs if _matches(pair[0], loc)), key=lambda pair: len(pair[0]), default=None)
    if best is None:
        return loc
    source, target = best
    indexes = iter(item for p, item in zip(source, loc, strict=False) if p == "*")
    return (*(next(indexes) if t == "*" else t for t in target), *loc[len(source):])


_TO_ENGINE = [(scenario, engine) for scenario, engine in RENAMES if scenario[0] != "agent_groups"]
_AGENTS_BACK = [(engine, scenario) for scenario, engine in RENAMES if scenario[0] != "agent_groups"]
_GROUPS_BACK = [(engine, scenario) for scenario, engine in RENAMES if scenario[0] == "agent_groups"]


def to_engine(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario mapping (groups expanded) under the engine's keys: each value is placed at its
    translated location; only the containers :data:`RENAMES` reaches into are taken apart."""
    out: dict[str, Any] = {}
    deeper = [source for source, _ in _TO_ENGINE]

    def place(value: Any, loc: Loc) -> None:
        inside = any(len(source) > len(loc) and _matches(source[: len(loc)], loc) for source in deeper)
        items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else None
        if not inside or items is None or not value:
            _put(out, _translate(loc, _TO_ENGINE), value)
            return
        for key, item in items:
            place(item, (*loc, key))

    for key, value in scenario.items():
        place(value, (key,))
    return out


def _put(tree: dict[str, Any], loc: Loc, value: Any) -> None:
    """Set ``value`` at ``loc``, creating the mappings and lists (filled in index order) on the way."""
    node: Any = tree
    for key, child in zip(loc, (*loc[1:], None), strict=True):
        if child is None:
            break
        fresh: Any = [] if isinstance(child, int) else {}
        if isinstance(key, int):
            if key == len(node):
                node.append(fresh)
            node = node[key]
        else:
            node = node.setdefault(key, fresh)
    if isinstance(loc[-1], int):
        node.append(value)
    else:
        node[loc[-1]] = value


def scenario_loc(engine_loc: Sequence[str | int], origins: GroupOrigins, problem: str) -> tuple[Loc, str]:
    """An engine error's location as the scenario location the user wrote, and the problem text.

    ``("agent_configs", 0, "opening_balance")`` -> ``("agents", 0, "balance")``, ``("rng_seed",)``
    -> ``("simulation", "seed")``; a bank expanded from ``agent_groups[g]`` is blamed on that group
    (the problem names the bank).
    """
    loc = tuple(engine_loc)
    if len(loc) > 1 and loc[0] == "agent_configs" and isinstance(loc[1], int) and loc[1] < len(origins):
        origin = origins[loc[1]]
        if origin is not None:
            group, bank_id = origin
            return _translate(("agent_configs", group, *loc[2:]), _GROUPS_BACK), f"{problem} (bank {bank_id})"
    return _translate(loc, _AGENTS_BACK), problem

"""The scenario schema (docs/runner.md#scenario-schema): YAML/Hydra mapping -> validated model -> engine dict (docs/semantics.md#engine-configuration).

The YAML keys are those of docs/runner.md#scenario-schema (``simulation``, ``agents[].balance``, ``costs``) so scenario files stay
readable; :meth:`SimulationConfig.to_rust_dict` renames them to the engine's keys and omits every unset
optional so the engine's documented defaults apply. Validation happens here, before a run starts, so a
bad value is reported with its field path instead of failing inside a Ray worker.

Besides explicit ``agents``, a scenario may declare ``agent_groups``: many alike banks in a few lines
(needed for 50- and 1,000-bank days). Groups expand into ordinary agents during validation; a group's
``size`` is how attractive its banks are as receivers, so unequal sizes give core/periphery skew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from paysim_runner import _core, errors
from paysim_runner.engine_keys import GroupOrigins, scenario_loc, to_engine

__all__ = [
    "CONF_DIR",
    "AgentConfig",
    "AgentGroup",
    "ArrivalConfig",
    "ConfigError",
    "CostConfig",
    "SimulationConfig",
    "config_from_mapping",
    "format_validation_error",
    "load_config",
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


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must never silently fall back to a default."""

    model_config = ConfigDict(extra="forbid")


# --- cash-manager policies (docs/semantics.md#policies) -------------------------------------------------
# Policies live in the engine's registry (``_core.POLICY_TYPES``): a new policy is one new Rust type,
# and nothing here changes. The schema checks the ``type``; the engine's own validation
# (``_core.validate_config``, run by SimulationConfig) checks each policy's parameters.

POLICY_TYPES: tuple[str, ...] = tuple(_core.POLICY_TYPES)


class PolicyConfig(BaseModel):
    """``{type: Fifo}``, ``{type: Deadline, urgency_threshold}``, ``{type: LiquidityAware,
    target_buffer, urgency_threshold}``, ``{type: Splitting, max_parts, min_part}``, or any other
    policy the engine registers, with its parameters."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="one of " + ", ".join(_core.POLICY_TYPES))

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in POLICY_TYPES:
            raise ValueError(f"unknown policy {value!r} (expected {', '.join(POLICY_TYPES)})")
        return value


# --- payment amounts ----------------------------------------------------------------------------

class NormalAmount(_Strict):
    type: Literal["Normal"]
    mean: float
    std_dev: float


class LogNormalAmount(_Strict):
    type: Literal["LogNormal"]
    mean_log: float
    std_dev_log: float


class UniformAmount(_Strict):
    type: Literal["Uniform"]
    min: float
    max: float


class ExponentialAmount(_Strict):
    type: Literal["Exponential"]
    mean: float


AmountDistribution = Annotated[
    Union[NormalAmount, LogNormalAmount, UniformAmount, ExponentialAmount],
    Field(discriminator="type"),
]
DISTRIBUTION_TYPES = ("Normal", "LogNormal", "Uniform", "Exponential")


# --- banks ----------------------------------------------------------------------------------------

class ArrivalConfig(_Strict):
    """Random payment orders of one bank: Poisson count per tick, amount distribution, receivers."""

    rate_per_tick: float
    distribution: AmountDistribution
    counterparty_weights: dict[str, float] | None = None
    deadline_offset: int | None = None
    priority: int | None = None
    divisible: bool | None = None


class AgentConfig(_Strict):
    """One direct participant of the RTGS: settlement-account balance and intraday credit line."""

    id: str
    balance: int
    credit_limit: int = 0
    policy: PolicyConfig
    arrival_config: ArrivalConfig | None = None


class GroupArrivals(_Strict):
    """Arrivals of every bank in a group; receivers are weighted by each bank's ``size``."""

    rate_per_tick: float
    distribution: AmountDistribution
    deadline_offset: int | None = None
    priority: int | None = None
    divisible: bool | None = None


class AgentGroup(_Strict):
    """``count`` alike banks named ``<id_prefix><number>`` (zero-padded).

    ``size`` is each member's weight as a receiver of group banks' payments, so a few large banks
    (high size) among many small ones give the skewed core/periphery pattern of real RTGS flows.
    Groups exist only in this schema, so their own fields are checked here.
    """

    id_prefix: str = Field(min_length=1)
    count: int = Field(ge=1, le=100_000)
    balance: int
    credit_limit: int = 0
    size: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    policy: PolicyConfig
    arrival_config: GroupArrivals | None = None

    def member_ids(self) -> list[str]:
        width = len(str(self.count - 1))
        return [f"{self.id_prefix}{i:0{width}d}" for i in range(self.count)]


# --- system-wide settings -------------------------------------------------------------------------

class SimulationParams(_Strict):
    ticks_per_day: int
    num_days: int = 1
    seed: int = 0


class CostConfig(_Strict):
    """Cost rates (docs/semantics.md#costs); unset rates take the engine's defaults."""

    liquidity_cost_per_unit_per_tick: float | None = None
    delay_cost_per_tick: float | None = None
    collateral_cost_per_unit_per_tick: float | None = None
    split_friction_cost: float | None = None
    deadline_penalty: float | None = None
    eod_penalty: float | None = None


class LsmConfig(_Strict):
    mode: Literal["none", "bilateral", "cycles", "multilateral", "t2"] | None = None
    max_cycle_length: int | None = None


class RtgsConfig(_Strict):
    queue: Literal["fifo_bypass", "strict_fifo"] | None = None


class EndOfDayConfig(_Strict):
    unsettled: Literal["drop", "carry"] | None = None


class ScheduledPayment(_Strict):
    """A payment order fixed in advance (replayed data, or a hand-built gridlock)."""

    sender: str
    receiver: str
    amount: int
    arrival_tick: int
    deadline_tick: int | None = None
    priority: int | None = None
    divisible: bool | None = None


class SimulationConfig(_Strict):
    """A complete scenario: the banks, their payment streams and the RTGS/LSM rules.

    After the fields are parsed, ``agent_groups`` are expanded into ``agents`` and the engine dict
    is checked by the engine's own validation; its errors are reported at the scenario's paths
    (``agents[1].balance``, never ``agent_configs[1].opening_balance``).
    """

    simulation: SimulationParams
    agents: list[AgentConfig] = Field(default_factory=list)
    agent_groups: list[AgentGroup] | None = None
    costs: CostConfig | None = None
    lsm: LsmConfig | None = None
    rtgs: RtgsConfig | None = None
    drop_expired: bool | None = None
    end_of_day: EndOfDayConfig | None = None
    scheduled_payments: list[ScheduledPayment] | None = None
    scheduled_payments_file: str | None = None

    @model_validator(mode="after")
    def _expand_and_check(self) -> SimulationConfig:
        groups = _expand_groups(self)
        _check_with_engine(self.to_rust_dict(), groups)
        return self

    @property
    def bank_ids(self) -> list[str]:
        return [a.id for a in self.agents]

    def to_rust_dict(self) -> dict[str, Any]:
        """The engine dict: this scenario under the engine's keys (``engine_keys.RENAMES``), with
        unset optionals left out so the engine's defaults apply."""
        return to_engine(self.model_dump(exclude_none=True))


def _expand_groups(config: SimulationConfig) -> GroupOrigins:
    """Turn ``agent_groups`` into explicit agents so everything downstream sees one list."""
    origins: GroupOrigins = [None] * len(config.agents)
    if not config.agent_groups:
        config.agent_groups = None
        return origins
    sizes: dict[str, float] = {a.id: 1.0 for a in config.agents}
    members: list[tuple[int, AgentGroup, str]] = []
    for g, group in enumerate(config.agent_groups):
        for bank_id in group.member_ids():
            sizes[bank_id] = group.size
            members.append((g, group, bank_id))
    expanded = list(config.agents)
    for g, group, bank_id in members:
        arrival = None
        if group.arrival_config is not None:
            ga = group.arrival_config
            arrival = ArrivalConfig.model_construct(
                rate_per_tick=ga.rate_per_tick,
                distribution=ga.distribution,
                counterparty_weights={b: s for b, s in sizes.items() if b != bank_id},
                deadline_offset=ga.deadline_offset,
                priority=ga.priority,
                divisible=ga.divisible,
            )
        expanded.append(
            AgentConfig.model_construct(
                id=bank_id,
                balance=group.balance,
                credit_limit=group.credit_limit,
                policy=group.policy,
                arrival_config=arrival,
            )
        )
        origins.append((g, bank_id))
    config.agents = expanded
    config.agent_groups = None
    return origins


def _check_with_engine(engine: dict[str, Any], origins: GroupOrigins) -> None:
    """Run the engine's validation of ``engine``; re-raise its first error at the scenario's path."""
    try:
        _core.validate_config(engine)
    except errors.ConfigError as exc:
        loc, problem = scenario_loc(exc.loc, origins, exc.problem)
        raise _field_error(loc, problem, None) from None


# --- errors -----------------------------------------------------------------------------------------

def _field_error(loc: tuple[str | int, ...], problem: str, value: Any) -> ValidationError:
    """A ValidationError at ``loc`` (relative to the model raising it); pydantic prefixes parents."""
    return ValidationError.from_exception_data(
        "SimulationConfig",
        [InitErrorDetails(type=PydanticCustomError("scenario", problem), loc=loc, input=value)],
    )


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
    """Read a scenario YAML file. Errors are :class:`ConfigError` (``<path>: <problem>``).

    A relative ``scheduled_payments_file`` is taken relative to the YAML file's folder.
    """
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
    if isinstance(data, dict) and isinstance(data.get("scheduled_payments_file"), str):
        spf = Path(data["scheduled_payments_file"])
        if not spf.is_absolute():  # before validation: the engine reads the file while validating
            data = {**data, "scheduled_payments_file": str((path.parent / spf).resolve())}
    return config_from_mapping(data)

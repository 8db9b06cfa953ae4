"""The scenario schema (SPEC §6): YAML/Hydra mapping -> validated model -> engine dict (SPEC §3).

The YAML keys are the seeds' (``simulation``, ``agents[].balance``, ``costs``) so scenario files stay
readable; :meth:`SimulationConfig.to_rust_dict` renames them to the engine's keys and omits every unset
optional so the engine's documented defaults apply. Validation happens here, before a run starts, so a
bad value is reported with its field path instead of failing inside a Ray worker.

Besides explicit ``agents``, a scenario may declare ``agent_groups``: many alike banks in a few lines
(needed for 50- and 1,000-bank days). Groups expand into ordinary agents during validation; a group's
``size`` is how attractive its banks are as receivers, so unequal sizes give core/periphery skew.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

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

#: The Hydra config folder shipped with the repo (scenario/, policy/, sweep/); an editable install
#: (the supported one) keeps it beside the package.
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
PRIORITY_MAX = 10
SEED_MAX = 2**63 - 1  # runs.seed is int64


class ConfigError(ValueError):
    """A scenario that cannot be run. ``str()`` is one line: ``<field.path>: <problem>``."""

    def __init__(self, path: str, problem: str, *, more: int = 0) -> None:
        self.path = path
        self.problem = problem
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{path}: {problem}{suffix}" if path else f"{problem}{suffix}")


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must never silently fall back to a default."""

    model_config = ConfigDict(extra="forbid")


# --- cash-manager policies (SPEC §3 Policies) -------------------------------------------------

class FifoPolicy(_Strict):
    """Release every payment at once."""

    type: Literal["Fifo"]


class DeadlinePolicy(_Strict):
    """Hold a payment until it is within ``urgency_threshold`` ticks of its deadline."""

    type: Literal["Deadline"]
    urgency_threshold: int | None = Field(default=None, ge=0)


class LiquidityAwarePolicy(_Strict):
    """Release while the projected balance stays at or above ``target_buffer``, or when urgent."""

    type: Literal["LiquidityAware"]
    target_buffer: int | None = None
    urgency_threshold: int | None = Field(default=None, ge=0)


class SplittingPolicy(_Strict):
    """Split divisible payments that do not fit into up to ``max_parts`` parts of ``min_part`` or more."""

    type: Literal["Splitting"]
    max_parts: int | None = Field(default=None, ge=2)
    min_part: int | None = Field(default=None, ge=1)


PolicyConfig = Annotated[
    Union[FifoPolicy, DeadlinePolicy, LiquidityAwarePolicy, SplittingPolicy],
    Field(discriminator="type"),
]
POLICY_TYPES = ("Fifo", "Deadline", "LiquidityAware", "Splitting")


# --- payment amounts ----------------------------------------------------------------------------

class NormalAmount(_Strict):
    type: Literal["Normal"]
    mean: float = Field(gt=0)
    std_dev: float = Field(ge=0)


class LogNormalAmount(_Strict):
    type: Literal["LogNormal"]
    mean_log: float
    std_dev_log: float = Field(ge=0)


class UniformAmount(_Strict):
    type: Literal["Uniform"]
    min: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> UniformAmount:
        if self.max < self.min:
            raise _field_error(("max",), f"must be >= min ({self.min})", self.max)
        return self


class ExponentialAmount(_Strict):
    type: Literal["Exponential"]
    mean: float = Field(gt=0)


AmountDistribution = Annotated[
    Union[NormalAmount, LogNormalAmount, UniformAmount, ExponentialAmount],
    Field(discriminator="type"),
]
DISTRIBUTION_TYPES = ("Normal", "LogNormal", "Uniform", "Exponential")


# --- banks ----------------------------------------------------------------------------------------

class ArrivalConfig(_Strict):
    """Random payment orders of one bank: Poisson count per tick, amount distribution, receivers."""

    rate_per_tick: float = Field(ge=0)
    distribution: AmountDistribution
    counterparty_weights: dict[str, Annotated[float, Field(ge=0)]] | None = None
    deadline_offset: int | None = Field(default=None, ge=0)
    priority: int | None = Field(default=None, ge=0, le=PRIORITY_MAX)
    divisible: bool | None = None

    @field_validator("rate_per_tick")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be finite")
        return v


class AgentConfig(_Strict):
    """One direct participant of the RTGS: settlement-account balance and intraday credit line."""

    id: str = Field(min_length=1)
    balance: int = Field(ge=0)
    credit_limit: int = Field(default=0, ge=0)
    policy: PolicyConfig
    arrival_config: ArrivalConfig | None = None

    @field_validator("id")
    @classmethod
    def _no_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


class GroupArrivals(_Strict):
    """Arrivals of every bank in a group; receivers are weighted by each bank's ``size``."""

    rate_per_tick: float = Field(ge=0)
    distribution: AmountDistribution
    deadline_offset: int | None = Field(default=None, ge=0)
    priority: int | None = Field(default=None, ge=0, le=PRIORITY_MAX)
    divisible: bool | None = None


class AgentGroup(_Strict):
    """``count`` alike banks named ``<id_prefix><number>`` (zero-padded).

    ``size`` is each member's weight as a receiver of group banks' payments, so a few large banks
    (high size) among many small ones give the skewed core/periphery pattern of real RTGS flows.
    """

    id_prefix: str = Field(min_length=1)
    count: int = Field(ge=1, le=100_000)
    balance: int = Field(ge=0)
    credit_limit: int = Field(default=0, ge=0)
    size: float = Field(default=1.0, gt=0)
    policy: PolicyConfig
    arrival_config: GroupArrivals | None = None

    def member_ids(self) -> list[str]:
        width = len(str(self.count - 1))
        return [f"{self.id_prefix}{i:0{width}d}" for i in range(self.count)]


# --- system-wide settings -------------------------------------------------------------------------

class SimulationParams(_Strict):
    ticks_per_day: int = Field(gt=0)
    num_days: int = Field(default=1, gt=0)
    seed: int = Field(default=0, ge=0, le=SEED_MAX)


class CostConfig(_Strict):
    """Cost rates (SPEC §3 step 6); unset rates take the engine's defaults."""

    liquidity_cost_per_unit_per_tick: float | None = Field(default=None, ge=0)
    delay_cost_per_tick: float | None = Field(default=None, ge=0)
    collateral_cost_per_unit_per_tick: float | None = Field(default=None, ge=0)
    split_friction_cost: float | None = Field(default=None, ge=0)
    deadline_penalty: float | None = Field(default=None, ge=0)
    eod_penalty: float | None = Field(default=None, ge=0)


class LsmConfig(_Strict):
    mode: Literal["none", "bilateral", "cycles", "multilateral", "t2"] | None = None
    max_cycle_length: int | None = Field(default=None, ge=2)


class RtgsConfig(_Strict):
    queue: Literal["fifo_bypass", "strict_fifo"] | None = None


class EndOfDayConfig(_Strict):
    unsettled: Literal["drop", "carry"] | None = None


class ScheduledPayment(_Strict):
    """A payment order fixed in advance (replayed data, or a hand-built gridlock)."""

    sender: str = Field(min_length=1)
    receiver: str = Field(min_length=1)
    amount: int = Field(gt=0)
    arrival_tick: int = Field(ge=0)
    deadline_tick: int | None = Field(default=None, ge=0)
    priority: int | None = Field(default=None, ge=0, le=PRIORITY_MAX)
    divisible: bool | None = None

    @model_validator(mode="after")
    def _deadline_after_arrival(self) -> ScheduledPayment:
        if self.sender == self.receiver:
            raise _field_error(("receiver",), "must differ from sender", self.receiver)
        if self.deadline_tick is not None and self.deadline_tick < self.arrival_tick:
            raise _field_error(
                ("deadline_tick",), f"must be >= arrival_tick ({self.arrival_tick})", self.deadline_tick
            )
        return self


class SimulationConfig(_Strict):
    """A complete scenario: the banks, their payment streams and the RTGS/LSM rules."""

    simulation: SimulationParams
    agents: list[AgentConfig] = Field(default_factory=list)
    agent_groups: list[AgentGroup] | None = None
    costs: CostConfig | None = None
    lsm: LsmConfig | None = None
    rtgs: RtgsConfig | None = None
    drop_expired: bool | None = None
    end_of_day: EndOfDayConfig | None = None
    scheduled_payments: list[ScheduledPayment] | None = None
    scheduled_payments_file: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _expand_groups(self) -> SimulationConfig:
        """Turn ``agent_groups`` into explicit agents so everything downstream sees one list."""
        if not self.agent_groups:
            self.agent_groups = None
            return self
        sizes: dict[str, float] = {a.id: 1.0 for a in self.agents}
        members: list[tuple[AgentGroup, str]] = []
        for group in self.agent_groups:
            for bank_id in group.member_ids():
                sizes[bank_id] = group.size
                members.append((group, bank_id))
        expanded = list(self.agents)
        for group, bank_id in members:
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
        self.agents = expanded
        self.agent_groups = None
        return self

    @model_validator(mode="after")
    def _consistent_banks(self) -> SimulationConfig:
        """Cross-field rules the per-field types cannot express: ids unique, counterparties exist."""
        if not self.agents:
            raise _field_error(("agents",), "at least one bank is required", [])
        seen: dict[str, int] = {}
        for i, agent in enumerate(self.agents):
            if agent.id in seen:
                raise _field_error(
                    ("agents", i, "id"), f"duplicate bank id {agent.id!r} (also agents[{seen[agent.id]}])", agent.id
                )
            seen[agent.id] = i
        for i, agent in enumerate(self.agents):
            weights = agent.arrival_config.counterparty_weights if agent.arrival_config else None
            if weights is None:
                continue
            for bank_id, weight in weights.items():
                loc = ("agents", i, "arrival_config", "counterparty_weights", bank_id)
                if bank_id == agent.id:
                    raise _field_error(loc, "a bank cannot pay itself", weight)
                if bank_id not in seen:
                    raise _field_error(loc, f"unknown bank {bank_id!r}", weight)
            if agent.arrival_config.rate_per_tick > 0 and not any(w > 0 for w in weights.values()):
                raise _field_error(
                    ("agents", i, "arrival_config", "counterparty_weights"), "needs at least one weight > 0", weights
                )
        total_ticks = self.simulation.ticks_per_day * self.simulation.num_days
        for j, payment in enumerate(self.scheduled_payments or []):
            for side in ("sender", "receiver"):
                bank_id = getattr(payment, side)
                if bank_id not in seen:
                    raise _field_error(("scheduled_payments", j, side), f"unknown bank {bank_id!r}", bank_id)
            if payment.arrival_tick >= total_ticks:
                raise _field_error(
                    ("scheduled_payments", j, "arrival_tick"),
                    f"must be < total ticks ({total_ticks})",
                    payment.arrival_tick,
                )
        return self

    @property
    def bank_ids(self) -> list[str]:
        return [a.id for a in self.agents]

    def to_rust_dict(self) -> dict[str, Any]:
        """The engine dict of SPEC §3, with unset optionals left out so engine defaults apply."""
        out: dict[str, Any] = {
            "ticks_per_day": self.simulation.ticks_per_day,
            "num_days": self.simulation.num_days,
            "rng_seed": self.simulation.seed,
            "agent_configs": [_agent_dict(a) for a in self.agents],
        }
        if self.costs is not None:
            out["cost_rates"] = self.costs.model_dump(exclude_none=True)
        if self.lsm is not None:
            out["lsm"] = self.lsm.model_dump(exclude_none=True)
        if self.rtgs is not None:
            out["rtgs"] = self.rtgs.model_dump(exclude_none=True)
        if self.drop_expired is not None:
            out["drop_expired"] = self.drop_expired
        if self.end_of_day is not None:
            out["end_of_day"] = self.end_of_day.model_dump(exclude_none=True)
        if self.scheduled_payments is not None:
            out["scheduled_payments"] = [p.model_dump(exclude_none=True) for p in self.scheduled_payments]
        if self.scheduled_payments_file is not None:
            out["scheduled_payments_file"] = self.scheduled_payments_file
        return out


def _agent_dict(agent: AgentConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": agent.id,
        "opening_balance": agent.balance,
        "credit_limit": agent.credit_limit,
        "policy": agent.policy.model_dump(exclude_none=True),
    }
    if agent.arrival_config is not None:
        arrival = agent.arrival_config
        ac: dict[str, Any] = {
            "rate_per_tick": arrival.rate_per_tick,
            "distribution": arrival.distribution.model_dump(exclude_none=True),
        }
        for key in ("counterparty_weights", "deadline_offset", "priority", "divisible"):
            value = getattr(arrival, key)
            if value is not None:
                ac[key] = dict(value) if key == "counterparty_weights" else value
        out["arrival_config"] = ac
    return out


# --- errors -----------------------------------------------------------------------------------------

def _field_error(loc: tuple[str | int, ...], problem: str, value: Any) -> ValidationError:
    """A ValidationError at ``loc`` (relative to the model raising it); pydantic prefixes parents."""
    return ValidationError.from_exception_data(
        "SimulationConfig",
        [InitErrorDetails(type=PydanticCustomError("scenario", problem), loc=loc, input=value)],
    )


_UNION_NAMES = {"policy": POLICY_TYPES, "distribution": DISTRIBUTION_TYPES}


def format_loc(loc: Sequence[str | int]) -> str:
    """``('agents', 1, 'policy', 'Deadline', 'urgency_threshold')`` -> ``agents[1].policy.urgency_threshold``."""
    parts: list[str] = []
    prev: str | int | None = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
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
    """The first error of ``exc`` as a one-line :class:`ConfigError`, counting the rest."""
    errors = exc.errors()
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
    config = config_from_mapping(data)
    spf = config.scheduled_payments_file
    if spf is not None and not Path(spf).is_absolute():
        config.scheduled_payments_file = str((path.parent / spf).resolve())
    if config.scheduled_payments_file is not None and not Path(config.scheduled_payments_file).is_file():
        raise ConfigError("scheduled_payments_file", f"file not found: {config.scheduled_payments_file}")
    return config

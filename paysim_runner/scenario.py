"""The scenario schema (docs/runner.md#scenario-schema) as pydantic models: a mapping validated
into a :class:`SimulationConfig`, whose :meth:`~SimulationConfig.to_rust_dict` is the engine dict
(docs/semantics.md#engine-configuration).

The keys are those of the scenario files (``simulation``, ``agents[].balance``, ``costs``) so they
stay readable; ``to_rust_dict`` renames them to the engine's keys and omits every unset optional so
the engine's documented defaults apply. After the fields are parsed, the engine's own validation
runs, and its errors come back at the scenario's paths.

Besides explicit ``agents``, a scenario may declare ``agent_groups``: many alike banks in a few lines
(needed for 50- and 1,000-bank days). Groups expand into ordinary agents during validation; a group's
``size`` is how attractive its banks are as receivers, so unequal sizes give core/periphery skew.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from paysim_runner import _core, errors
from paysim_runner.engine_keys import GroupOrigins, scenario_loc, to_engine
from paysim_runner.scenario_events import ScenarioEvent, StrictCount

#: A payment's T2 class (docs/semantics.md#t2-settlement-rules); absent, its priority decides.
RtgsClass = Literal["highly_urgent", "urgent", "normal"]


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must never silently fall back to a default. NaN and the
    infinities are no rate, amount or cost (and 1e400 parses as infinity)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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
    NormalAmount | LogNormalAmount | UniformAmount | ExponentialAmount,
    Field(discriminator="type"),
]
DISTRIBUTION_TYPES = ("Normal", "LogNormal", "Uniform", "Exponential")


# --- banks ----------------------------------------------------------------------------------------

class ArrivalConfig(_Strict):
    """Random payment orders of one bank: Poisson count per tick, amount distribution, receivers."""

    rate_per_tick: float
    distribution: AmountDistribution
    counterparty_weights: dict[str, float] | None = None
    #: Every other bank weighted by its ``size`` (what ``agent_groups`` expand to).
    receivers_by_size: bool | None = None
    deadline_offset: StrictCount | None = None
    priority: int | None = None
    rtgs_class: RtgsClass | None = None
    divisible: bool | None = None


class SenderLimits(_Strict):
    """T2 sender limits on net sending positions (docs/semantics.md#t2-settlement-rules)."""

    bilateral: dict[str, int] | None = None
    multilateral: int | None = None


class GroupLimits(_Strict):
    """A group's members share no counterparty ids in advance, so only a multilateral limit."""

    multilateral: int | None = None


class Reservations(_Strict):
    """Liquidity held back from lower classes (docs/semantics.md#t2-settlement-rules)."""

    highly_urgent: int | None = None
    urgent: int | None = None


class AgentConfig(_Strict):
    """One direct participant of the RTGS: settlement-account balance and intraday credit line."""

    id: str
    balance: int
    credit_limit: int = 0
    policy: PolicyConfig
    arrival_config: ArrivalConfig | None = None
    limits: SenderLimits | None = None
    reservations: Reservations | None = None
    #: Weight as a receiver of the arrivals that draw ``receivers_by_size`` (engine default 1).
    size: float | None = None


class GroupArrivals(_Strict):
    """Arrivals of every bank in a group; receivers are weighted by each bank's ``size``."""

    rate_per_tick: float
    distribution: AmountDistribution
    deadline_offset: StrictCount | None = None
    priority: int | None = None
    rtgs_class: RtgsClass | None = None
    divisible: bool | None = None


class AgentGroup(_Strict):
    """``count`` alike banks named ``<id_prefix><number>`` (zero-padded).

    ``size`` is each member's weight as a receiver of group banks' payments, so a few large banks
    (high size) among many small ones give the skewed core/periphery pattern of real RTGS flows.
    Groups exist only in this schema, so their own fields are checked here.
    """

    id_prefix: str = Field(min_length=1)
    count: StrictCount = Field(ge=1, le=100_000)
    balance: int
    credit_limit: int = 0
    size: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    policy: PolicyConfig
    arrival_config: GroupArrivals | None = None
    limits: GroupLimits | None = None
    reservations: Reservations | None = None

    def member_ids(self) -> list[str]:
        width = len(str(self.count - 1))
        return [f"{self.id_prefix}{i:0{width}d}" for i in range(self.count)]


# --- system-wide settings -------------------------------------------------------------------------

class SimulationParams(_Strict):
    ticks_per_day: StrictCount
    num_days: StrictCount = 1
    seed: int = 0


class CostConfig(_Strict):
    """Cost rates (docs/semantics.md#costs); unset rates take the engine's defaults."""

    liquidity_cost_per_unit_per_tick: float | None = None
    delay_cost_per_tick: float | None = None
    collateral_cost_per_unit_per_tick: float | None = None
    split_friction_cost: float | None = None
    deadline_penalty: float | None = None
    eod_penalty: float | None = None
    eod_borrowing_rate: float | None = None


class LsmOptimalConfig(_Strict):
    """The solver's budget per LSM pass for ``mode: optimal`` and ``measure_optimum``
    (docs/semantics.md#the-optimal-lsm)."""

    time_limit_ms: StrictCount | None = None
    max_queue: StrictCount | None = None


class LsmConfig(_Strict):
    mode: Literal["none", "bilateral", "cycles", "multilateral", "t2", "t2_classic", "optimal"] | None = None
    max_cycle_length: StrictCount | None = None
    include_urgent: bool | None = None
    optimal: LsmOptimalConfig | None = None
    measure_optimum: bool | None = None


class RtgsConfig(_Strict):
    queue: Literal["fifo_bypass", "strict_fifo", "t2"] | None = None
    crediting: Literal["immediate", "deferred"] | None = None


class EndOfDayConfig(_Strict):
    unsettled: Literal["drop", "carry", "borrow"] | None = None


class TickLogConfig(_Strict):
    """Which ticks the ``ticks`` table has rows for (docs/semantics.md#tick-log-sampling): every
    ``every``-th tick of each day, or only ``at: day_end``; the day's last tick always. Unset: every
    tick. Flows are summed over the ticks a row covers; nothing else of the run changes."""

    every: StrictCount | None = None
    at: Literal["day_end"] | None = None


class ScheduledPayment(_Strict):
    """A payment order fixed in advance (replayed data, or a hand-built gridlock)."""

    sender: str
    receiver: str
    amount: int
    arrival_tick: StrictCount
    deadline_tick: StrictCount | None = None
    priority: int | None = None
    rtgs_class: RtgsClass | None = None
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
    events: list[ScenarioEvent] | None = None
    tick_log: TickLogConfig | None = None

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
    members: list[tuple[int, AgentGroup, str]] = []
    for g, group in enumerate(config.agent_groups):
        members.extend((g, group, bank_id) for bank_id in group.member_ids())
    expanded = list(config.agents)
    for g, group, bank_id in members:
        arrival = None
        if group.arrival_config is not None:
            ga = group.arrival_config
            arrival = ArrivalConfig.model_construct(
                rate_per_tick=ga.rate_per_tick,
                distribution=ga.distribution,
                # Every other bank weighted by its size, explicit agents at 1: one table shared
                # by all senders in the engine, rather than a weight per pair (O(banks²)).
                receivers_by_size=True,
                deadline_offset=ga.deadline_offset,
                priority=ga.priority,
                rtgs_class=ga.rtgs_class,
                divisible=ga.divisible,
            )
        expanded.append(
            AgentConfig.model_construct(
                id=bank_id,
                balance=group.balance,
                credit_limit=group.credit_limit,
                policy=group.policy,
                arrival_config=arrival,
                limits=None if group.limits is None else SenderLimits(multilateral=group.limits.multilateral),
                reservations=group.reservations,
                size=group.size,
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


def _field_error(loc: tuple[str | int, ...], problem: str, value: Any) -> ValidationError:
    """A ValidationError at ``loc`` (relative to the model raising it); pydantic prefixes parents."""
    return ValidationError.from_exception_data(
        "SimulationConfig",
        [InitErrorDetails(type=PydanticCustomError("scenario", problem), loc=loc, input=value)],
    )

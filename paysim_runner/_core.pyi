"""Typed face of the Rust engine (`native/python`). See SPEC §3 and README "Engine".

Money is integer minor units (cents). Ticks are global: ``day = tick // ticks_per_day``.
Banks appear in logs as integer indexes into :meth:`Orchestrator.get_agent_ids`.
Categorical log columns are ``uint8`` codes into the ``*_NAMES`` lists below.
"""

from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

__version__: str
ENGINE_VERSION: str
SCHEMA_VERSION: int
#: Codes of ``transaction_log()["status"]``.
STATUS_NAMES: list[str]  # ["queue1", "queue2", "settled", "dropped", "split"]
#: Codes of ``transaction_log()["settled_via"]``; 0 = not settled.
SETTLED_VIA_NAMES: list[str]  # ["", "rtgs", "queue", "bilateral", "multilateral"]
#: Codes of ``transaction_log()["drop_reason"]``; 0 = not dropped.
DROP_REASON_NAMES: list[str]  # ["", "deadline", "eod", "policy"]
#: Keys of ``metrics()``, in a stable order.
METRIC_NAMES: list[str]
#: Policy ``type`` names the engine knows (its policy registry).
POLICY_TYPES: list[str]

def validate_config(config: dict[str, Any]) -> None:
    """Check an engine config without building an engine; ``ConfigError`` names the first bad field."""

class ConfigError(ValueError):
    """An invalid engine config value; the message starts with the field path."""

class InvariantViolation(RuntimeError):
    """The engine broke one of its own invariants (conservation, credit limit, ...), or panicked.
    Always a bug, never bad input."""

class TickResult(TypedDict):
    tick: int
    day: int
    num_arrivals: int
    num_settlements: int
    num_drops: int
    lsm_bilateral_releases: int
    lsm_cycle_releases: int
    queue1_size: int
    queue2_size: int
    total_liquidity_cost: float
    total_delay_cost: float
    total_cost: float
    value_arrived: int
    value_settled: int
    value_dropped: int
    queue1_value: int
    queue2_value: int

class AgentState(TypedDict):
    id: str
    balance: int
    opening_balance: int
    credit_limit: int
    credit_used: int
    queue1_size: int
    queue1_value: int
    queue2_size: int
    queue2_value: int
    cost_total: float

class Orchestrator:
    @staticmethod
    def new(config: dict[str, Any]) -> Orchestrator:
        """Validate ``config`` (SPEC §3 engine dict) and build an engine at tick 0.

        Raises ``ConfigError`` (a ``ValueError``) naming the field path of the first bad value.
        """
    @staticmethod
    def load_state(state: bytes) -> Orchestrator:
        """Restore an engine saved by :meth:`save_state`; it continues exactly as the original.
        Damaged or foreign bytes raise ``ValueError`` (the state is checksummed)."""
    def save_state(self) -> bytes: ...
    def tick(self) -> TickResult:
        """Run one tick (the nine steps). Raises ``RuntimeError`` once the run is finished."""
    def run(self) -> None:
        """Run all remaining ticks in Rust with the GIL released; Ctrl-C raises KeyboardInterrupt
        between ticks, leaving the engine consistent."""
    def is_finished(self) -> bool: ...
    def total_ticks(self) -> int:
        """``ticks_per_day * num_days``."""
    def ticks_per_day(self) -> int: ...
    def current_tick(self) -> int:
        """The next tick to run (0 before the first ``tick()``)."""
    def current_day(self) -> int: ...
    def get_agent_ids(self) -> list[str]: ...
    def get_agent_balance(self, agent_id: str) -> int:
        """Raises ``KeyError`` for an unknown id."""
    def get_queue1_size(self, agent_id: str) -> int:
        """Raises ``KeyError`` for an unknown id."""
    def get_queue2_size(self) -> int: ...
    def agent_states(self) -> list[AgentState]: ...
    def submit_transaction(self, tx: dict[str, Any]) -> str:
        """Enter a payment in the sender's Queue 1 now. Keys: sender, receiver, amount,
        deadline_offset (default 50), priority (default 5), divisible (default False).
        Returns its tx_id as a string. Unknown bank: ``KeyError``; bad value: ``ValueError``."""
    def metrics(self) -> dict[str, float | int | str | None]:
        """Run-level figures (SPEC §4 ``runs``), keys in ``METRIC_NAMES``. Counts and rates are per
        original payment (a split one counts once); ``None`` where undefined (e.g. no payments)."""
    def liquidity_bounds(self) -> dict[str, list[int]]:
        """Per-bank ``lower`` and ``upper`` liquidity bounds of the payments so far, in
        ``get_agent_ids()`` order; their sums are the bound metrics."""
    def tick_log(self) -> dict[str, npt.NDArray[Any]]:
        """One row per tick and bank. Columns: tick, bank, balance, credit_used, queue1_count,
        queue1_value, queue2_count, queue2_value, value_sent, value_received, settled_rtgs,
        settled_queue, settled_bilateral, settled_multilateral, cost_liquidity, cost_delay,
        cost_collateral, cost_split, cost_deadline, cost_eod."""
    def transaction_log(self) -> dict[str, npt.NDArray[Any]]:
        """One row per payment. Columns: tx_id, parent_id (-1 = none), sender, receiver, amount,
        priority, divisible, arrival_tick, deadline_tick, release_tick (-1 = never),
        settle_tick (-1), drop_tick (-1), settled_via, status, drop_reason (uint8 codes)."""

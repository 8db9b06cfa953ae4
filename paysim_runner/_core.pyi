"""Typed face of the Rust engine (``native/python``). See docs/semantics.md.

Money is integer minor units (cents). Ticks are global: ``day = tick // ticks_per_day``.
Banks appear in logs as integer indexes into :meth:`Orchestrator.get_agent_ids`.
Categorical log columns are ``uint8`` codes into the names in :data:`CODES`.

The records' fields are not repeated here: :data:`SCHEMAS` lists every record's ``(name, type)``
fields in order, as the engine declares them.
"""

from typing import Any, final

import numpy.typing as npt

__all__ = [
    "CODES",
    "COST_NAMES",
    "DROP_REASON_NAMES",
    "ENGINE_VERSION",
    "METRIC_NAMES",
    "POLICY_TYPES",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "SETTLED_VIA_NAMES",
    "STATUS_NAMES",
    "TICK_POSITIONS",
    "ConfigError",
    "InvalidPaymentError",
    "InvariantViolation",
    "Orchestrator",
    "PaysimError",
    "RunFinished",
    "StateError",
    "UnknownBankError",
    "__version__",
    "validate_config",
]

__version__: str
ENGINE_VERSION: str
SCHEMA_VERSION: int
#: Every record's fields, in order, as ``(name, type)``; types are ``int64``, ``int64|null``
#: (-1 in log columns), ``int32``, ``uint8``, ``bool``, ``float64``, ``float64|null`` or ``str``.
#: Records: ``metrics``, ``tick_result``, ``agent_state``, ``tick_log``, ``transaction_log``.
SCHEMAS: dict[str, list[tuple[str, str]]]
#: The ``tick_result`` fields that are positions after the tick (the others are flows during it).
TICK_POSITIONS: list[str]
#: Cost components: the ``cost_<name>`` metrics and tick-log columns.
COST_NAMES: list[str]
#: Code tables of the transaction log's categorical columns, by column; "" = not applicable.
CODES: dict[str, list[str]]
#: Codes of ``transaction_log()["status"]``.
STATUS_NAMES: list[str]
#: Codes of ``transaction_log()["settled_via"]``; 0 = not settled.
SETTLED_VIA_NAMES: list[str]
#: Codes of ``transaction_log()["drop_reason"]``; 0 = not dropped.
DROP_REASON_NAMES: list[str]
#: Keys of ``metrics()``, in order (the names of ``SCHEMAS["metrics"]``).
METRIC_NAMES: list[str]
#: Policy ``type`` names the engine knows (its policy registry).
POLICY_TYPES: list[str]

def validate_config(config: dict[str, Any]) -> None:
    """Check an engine config without building an engine; ``ConfigError`` names the first bad field."""

class PaysimError(Exception):
    """Base of every paysim error."""

class ConfigError(PaysimError, ValueError):
    """An invalid config value (or method argument, such as ``tick_n``'s ``n``); ``.loc`` names
    the field (a tuple of keys and list indexes), ``.problem`` says what is wrong; ``str()`` is
    ``<loc>: <problem>``."""

    loc: tuple[str | int, ...]
    problem: str

class UnknownBankError(ConfigError, KeyError):
    """A bank id that is not in the configuration; ``.loc`` names the field that gave it
    (``("receiver",)``, ``("agent_id",)``, ...), ``.bank_id`` is the id."""

    bank_id: str

class InvalidPaymentError(PaysimError, ValueError):
    """A submitted payment the engine refuses; ``.loc`` names its field."""

    loc: tuple[str | int, ...]
    problem: str

class StateError(PaysimError, ValueError):
    """A saved engine state that cannot be restored."""

class RunFinished(PaysimError, RuntimeError):
    """The run has no ticks left for what was asked."""

class InvariantViolation(PaysimError, RuntimeError):
    """The engine broke one of its own invariants (conservation, credit limit, ...), or panicked.
    Always a bug, never bad input."""

@final
class Orchestrator:
    @staticmethod
    def new(config: dict[str, Any]) -> Orchestrator:
        """Validate ``config`` (the engine dict, docs/semantics.md) and build an engine at tick 0.

        Raises ``ConfigError`` (a ``ValueError``) naming the field of the first bad value.
        """
    @staticmethod
    def load_state(state: bytes) -> Orchestrator:
        """Restore an engine saved by :meth:`save_state`; it continues exactly as the original.
        Damaged or foreign bytes raise ``StateError`` (the state is checksummed)."""
    def save_state(self) -> bytes: ...
    def tick(self) -> dict[str, int | float]:
        """Run one tick (the nine steps); the fields of ``SCHEMAS["tick_result"]``.
        Raises ``RunFinished`` once the run is finished."""
    def tick_n(self, n: int) -> dict[str, int | float] | None:
        """Run up to ``n`` ticks in Rust with the GIL released, exactly as ``n`` calls of
        :meth:`tick` would, and return the last one's dict (``None`` only when ``n`` is 0).
        It stops after the run's last tick, returning that tick's dict; called with ticks asked
        and none left, it raises ``RunFinished`` as :meth:`tick` does. An error stops it at the
        tick that fails, raised as :meth:`tick` raises it, the ticks before it kept. Ctrl-C raises
        KeyboardInterrupt between ticks, as in :meth:`run`. An ``n`` that is not an integer from 0
        to 2**64 - 1 (a bool neither) raises ``ConfigError`` with ``.loc == ("n",)``."""
    def step(self, n: int, after: dict[str, int | float] | None = None) -> dict[str, int | float]:
        """Run up to ``n`` ticks in Rust with the GIL released, as :meth:`tick_n` does (it stops
        after the run's last tick, raises as it does), and report the whole step: the fields of
        ``SCHEMAS["tick_result"]``, flows summed over the ticks and positions after the last one,
        plus ``ticks_run``. Given ``after``, an earlier call's dict, the step continues it (flows
        and ``ticks_run`` keep adding up in the same order), so a step run in chunks gives exactly
        the figures of one call. Summing matches :func:`paysim_runner.manager.run_ticks` bit for bit."""
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
        """Raises ``UnknownBankError`` (a ``KeyError``) for an unknown id."""
    def get_queue1_size(self, agent_id: str) -> int:
        """Raises ``UnknownBankError`` (a ``KeyError``) for an unknown id."""
    def get_queue2_size(self) -> int: ...
    def agent_states(self) -> list[dict[str, int | float | str]]:
        """Every bank's position, in config order; the fields of ``SCHEMAS["agent_state"]``."""
    def submit_transaction(self, tx: dict[str, Any]) -> str:
        """Enter a payment in the sender's Queue 1 now. Keys: sender, receiver, amount,
        deadline_offset (default 50), priority (default 5), rtgs_class (``highly_urgent``,
        ``urgent`` or ``normal``; default from priority), divisible (default False).
        Returns its tx_id as a string. Unknown bank: ``UnknownBankError``; bad value:
        ``InvalidPaymentError``; both name the field in ``.loc``."""
    def metrics(self) -> dict[str, float | int | str | None]:
        """Run-level figures (docs/semantics.md), the fields of ``SCHEMAS["metrics"]``. Counts and
        rates are per original payment (a split one counts once); ``None`` where undefined."""
    def liquidity_bounds(self) -> dict[str, list[int]]:
        """Per-bank ``lower`` and ``upper`` liquidity bounds of the payments so far, in
        ``get_agent_ids()`` order; their sums are the bound metrics."""
    def tick_log(self) -> dict[str, npt.NDArray[Any]]:
        """One row per tick and bank; the columns of ``SCHEMAS["tick_log"]``."""
    def transaction_log(self) -> dict[str, npt.NDArray[Any]]:
        """One row per payment; the columns of ``SCHEMAS["transaction_log"]`` (-1 for null)."""
    def transaction_page(self, offset: int, limit: int) -> dict[str, npt.NDArray[Any]]:
        """Rows ``offset .. offset + limit`` of :meth:`transaction_log` (clipped to it; ``tx_id``
        their places in the whole log); only they are exported, so a page costs its own size."""
    def num_transactions(self) -> int:
        """Rows of :meth:`transaction_log`, without exporting it."""
    def log_bytes(self) -> dict[str, int]:
        """Bytes the rows of each log hold: ``transactions``, ``ticks`` and ``events``."""
    def event_log(self) -> dict[str, npt.NDArray[Any]]:
        """One row per scenario event taking effect or ending and per central-bank loan at a close;
        the columns of ``SCHEMAS["event_log"]`` (-1 for null)."""

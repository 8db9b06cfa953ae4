"""The REST server's budgets (docs/api-cli.md#limits): memory per simulation and in all, and time
per tick request, and the step that keeps to them.

A step runs in the engine's ``step`` (Rust, without the GIL) in chunks of about ``CHUNK_SECONDS``,
so between chunks it can notice that its time is up, its client has gone or a memory budget is
reached, and stop there; the chunks' totals continue one another, so a step's figures do not
depend on how it was chunked. Memory is counted as the bytes the engine's logs hold (what grows
as a run goes on), read from the engine after every chunk.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from paysim_runner._core import Orchestrator
from paysim_runner.errors import PaysimError

DEFAULT_MAX_SIMULATION_MEMORY = 1 << 30  # 1 GiB: about 19 M payments (56 B), or 7.7 M tick-log rows (140 B)
DEFAULT_MAX_MEMORY = 4 << 30
DEFAULT_TICK_TIME_BUDGET = 30.0
#: Seconds one chunk of a step aims at: how late a step notices a budget or a gone client.
CHUNK_SECONDS = 0.05

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class MemoryBudgetExceeded(PaysimError, RuntimeError):
    """A simulation's logs, or all simulations' logs together, have reached their memory budget."""


class StepCancelled(PaysimError, RuntimeError):
    """The client of a tick request went away before any of its ticks ran."""


@dataclass(frozen=True)
class Budgets:
    """What one server allows: bytes of logs per simulation and in all, seconds per tick request."""

    max_simulation_memory: int = DEFAULT_MAX_SIMULATION_MEMORY
    max_memory: int = DEFAULT_MAX_MEMORY
    tick_time_budget: float = DEFAULT_TICK_TIME_BUDGET

    def __post_init__(self) -> None:
        for name in ("max_simulation_memory", "max_memory", "tick_time_budget"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Budgets:
        """``PAYSIM_MAX_SIMULATION_MEMORY`` and ``PAYSIM_MAX_MEMORY`` (bytes, or with K, M, G or T,
        binary: ``512M``), ``PAYSIM_TICK_TIME_BUDGET`` (seconds); unset ones keep the defaults."""
        values: dict[str, Any] = {}
        for field, var in [
            ("max_simulation_memory", "PAYSIM_MAX_SIMULATION_MEMORY"),
            ("max_memory", "PAYSIM_MAX_MEMORY"),
        ]:
            if var in env:
                values[field] = parse_bytes(env[var], var)
        seconds = env.get("PAYSIM_TICK_TIME_BUDGET")
        if seconds is not None:
            try:
                values["tick_time_budget"] = float(seconds)
            except ValueError:
                raise ValueError(f"PAYSIM_TICK_TIME_BUDGET: expected seconds, got {seconds!r}") from None
        return cls(**values)


def parse_bytes(text: str, name: str) -> int:
    """``"1073741824"``, ``"512M"`` or ``"1.5G"`` as bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"{name}: expected bytes such as 1073741824 or 512M, got {text!r}")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def show_bytes(count: float) -> str:
    """Bytes for a message: ``1 GiB``, ``612.3 MiB``."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.4g} {unit}"
    return f"{int(count)} B"


def log_bytes(engine: Orchestrator) -> int:
    """Bytes the engine's logs hold now."""
    return sum(engine.log_bytes().values())


def run_step(
    engine: Orchestrator,
    n: int,
    time_budget: float,
    memory_left: Callable[[], int],
    cancelled: Callable[[], bool],
    on_chunk: Callable[[], None],
) -> tuple[dict[str, Any], str | None]:
    """Run up to n ticks (the caller checked that n remain) and return their totals with why the
    step stopped early: ``"time_budget"``, ``"memory_budget"``, ``"cancelled"`` or None.

    The first tick always runs, so a step reports at least one tick. ``on_chunk`` is called after
    every chunk (to publish progress); ``memory_left`` is the bytes still free for this step.
    """
    started, free_at_start = time.monotonic(), memory_left()
    deadline = started + time_budget
    totals = engine.step(1)
    on_chunk()
    chunk = 1
    while (done := int(totals["ticks_run"])) < n:
        free = memory_left()
        if cancelled():
            return totals, "cancelled"
        if time.monotonic() >= deadline:
            return totals, "time_budget"
        if free <= 0:
            return totals, "memory_budget"
        # Chunks grow at most 4x, so one fast first tick does not launch minutes of work, and
        # stay within the time and the memory the ticks so far suggest, so a budget is met
        # within about one tick.
        fits = [chunk * 4, n - done]
        seconds_per_tick = (time.monotonic() - started) / done
        if seconds_per_tick > 0:
            fits.append(int(CHUNK_SECONDS / seconds_per_tick))
        bytes_per_tick = (free_at_start - free) / done
        if bytes_per_tick > 0:
            fits.append(int(free / bytes_per_tick) + 1)
        chunk = max(1, min(fits))
        totals = engine.step(chunk, totals)
        on_chunk()
    return totals, None

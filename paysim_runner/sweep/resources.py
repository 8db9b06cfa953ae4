"""The resource guard: refuse, before anything starts, a sweep whose batch cannot fit in memory.

Otherwise Ray's out-of-memory killer kills the task, Ray retries it, and the sweep never ends. The
estimate is deliberately simple, per run: the tick log (ticks_per_day x num_days x banks rows,
``TICK_ROW_BYTES`` each, held twice: the engine's log and its Arrow copy) when it is logged, plus
the payments (the expected random arrivals, ``PAYMENT_BYTES`` each in the engine, and as many again
in the transactions table when it is logged), which the engine holds whether logged or not; times
the runs of one batch, which a task holds together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from paysim_runner.config import ConfigError
from paysim_runner.sweep.plan import SweepPlan

#: Bytes of one tick-log row in memory (about a dozen 8-byte columns), a round upper estimate.
TICK_ROW_BYTES = 128
#: Bytes of one payment in the engine (its record and queue entries), and again of its log row.
PAYMENT_BYTES = 160
COPIES = 2


def machine_memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def run_memory(engine: Mapping[str, Any], *, ticks: bool, transactions: bool) -> tuple[int, int]:
    """(tick-log bytes, payment bytes) of one run of the engine dict ``engine``, estimated."""
    ticks_in_run = int(engine["ticks_per_day"]) * int(engine.get("num_days", 1))
    agents = engine["agent_configs"]
    tick_bytes = 0
    if ticks and not engine.get("tick_log"):  # a sampled tick log has far fewer rows: not estimated
        tick_bytes = ticks_in_run * len(agents) * TICK_ROW_BYTES * COPIES
    rate = sum(float((a.get("arrival_config") or {}).get("rate_per_tick", 0.0)) for a in agents)
    payment_bytes = int(rate * ticks_in_run) * PAYMENT_BYTES * (COPIES if transactions else 1)
    return tick_bytes, payment_bytes


def check_memory(plan: SweepPlan, available: int | None = None) -> None:
    """ConfigError naming the largest cell when one batch would exceed the machine's memory."""
    available = machine_memory() if available is None else available
    runs = min(plan.batch_size, len(plan.runs))
    logs = {"ticks": plan.logs.ticks, "transactions": plan.logs.transactions}
    per_cell = [(*run_memory(plan.engine_configs[c.cell_id], **logs), c.label) for c in plan.cells]
    if not per_cell:
        return
    tick_bytes, payment_bytes, label = max(per_cell, key=lambda m: m[0] + m[1])
    need = (tick_bytes + payment_bytes) * runs
    if need <= available:
        return
    cell = f"cell {label or '(the only cell)'}"
    if tick_bytes >= payment_bytes:
        raise ConfigError(
            "logs.ticks",
            f"{cell}: a batch would need about {need / 2**30:,.1f} GiB, mostly for its tick log "
            f"({tick_bytes // (TICK_ROW_BYTES * COPIES):,} rows per run x {runs} runs), more than this machine's "
            f"{available / 2**30:,.1f} GiB; set logs.ticks=false, a smaller batch_size or a scenario tick_log",
        )
    raise ConfigError(
        "scenario",
        f"{cell}: a batch would need about {need / 2**30:,.1f} GiB, mostly for its payments "
        f"(about {payment_bytes // (PAYMENT_BYTES * (COPIES if plan.logs.transactions else 1)):,} per run x "
        f"{runs} runs), more than this machine's {available / 2**30:,.1f} GiB; use fewer ticks, lower arrival "
        "rates or a smaller batch_size",
    )

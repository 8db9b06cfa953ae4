"""The resource guard: refuse, before anything starts, a sweep whose tick log cannot fit in memory.

Otherwise Ray's out-of-memory killer kills the task, Ray retries it, and the sweep never ends. The
estimate is deliberately simple (the tick log dominates a run's memory): rows = ticks_per_day x
num_days x banks per run, ``TICK_ROW_BYTES`` each, held twice (the engine's log and its Arrow
copy) for every run of a batch.
"""

from __future__ import annotations

import os

from paysim_runner.config import ConfigError
from paysim_runner.sweep.plan import SweepPlan

#: Bytes of one tick-log row in memory (about a dozen 8-byte columns), a round upper estimate.
TICK_ROW_BYTES = 128
COPIES = 2


def machine_memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(plan: SweepPlan, available: int | None = None) -> None:
    """ConfigError naming the largest cell when one batch's tick log would exceed the machine's memory."""
    if not plan.logs.ticks:
        return
    available = machine_memory() if available is None else available
    worst = None
    for cell in plan.cells:
        engine = plan.engine_configs[cell.cell_id]
        if engine.get("tick_log"):  # sampled: far fewer rows, not estimated
            continue
        rows = int(engine["ticks_per_day"]) * int(engine.get("num_days", 1)) * len(engine["agent_configs"])
        if worst is None or rows > worst[0]:
            worst = (rows, cell.label)
    if worst is None:
        return
    rows, label = worst
    need = rows * TICK_ROW_BYTES * COPIES * min(plan.batch_size, len(plan.runs))
    if need > available:
        raise ConfigError(
            "logs.ticks",
            f"cell {label or '(the only cell)'}: a batch would need about {need / 2**30:,.1f} GiB for its tick log "
            f"({rows:,} rows per run x {plan.batch_size} runs), more than this machine's "
            f"{available / 2**30:,.1f} GiB; set logs.ticks=false, a smaller batch_size or a scenario tick_log",
        )

"""The data of the report's intraday and per-bank figures, computed with DuckDB over ``ticks`` and
``transactions``.

These figures are not part of :class:`~paysim_runner.report.model.Report` (whose fields are the
JSON of ``paysim report --json``): a curve per cell and tick would swamp it. Their SQL is printed in
report.md like every other figure's. Means and sds are taken over lists ordered by ``run_id``
(``list_avg(list(x ORDER BY run_id))``), so the same runs give the same floats whatever DuckDB's
thread count or the order it scans the files in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paysim_runner.report.sql import open_views
from paysim_runner.report.stats import CONFIDENCE

#: Banks shown in each per-bank view.
TOP_BANKS = 10

#: Each bank's opening balance, recovered from its first logged tick's flows (balance + sent −
#: received), and the liquidity it has in use at the end of each tick: opening − balance, floored at 0.
_IN_USE = """opening AS (
  SELECT run_id, bank, arg_min(balance + value_sent - value_received, tick) AS opening
  FROM ticks GROUP BY run_id, bank
),
in_use AS (
  SELECT k.cell_id, k.run_id, k.tick, k.bank, k.queue2_value,
         greatest(o.opening - k.balance, 0) AS liquidity_in_use
  FROM ticks k JOIN opening o USING (run_id, bank)
)"""


def _ci(keys: str, source: str) -> str:
    """n, mean, sd and 95% CI half-width of ``value`` over runs, grouped by ``keys``; over lists in
    run_id order, so the floats do not depend on the scan order."""
    return f"""SELECT {keys}, len(v) AS n, list_avg(v) AS mean, list_stddev_samp(v) AS sd,
       t_quantile({(1 + CONFIDENCE) / 2}, len(v) - 1) * list_stddev_samp(v) / sqrt(len(v)) AS half_width
FROM (SELECT {keys}, list(value ORDER BY run_id) AS v FROM {source} GROUP BY {keys})
ORDER BY {keys}"""


#: Per cell, metric and tick: the system's Queue 2 value and liquidity in use (summed over banks),
#: mean over runs with a 95% CI.
INTRADAY_SQL = f"""WITH {_IN_USE},
per_run AS (
  SELECT cell_id, run_id, tick, sum(queue2_value) AS queue2_value, sum(liquidity_in_use) AS liquidity_in_use
  FROM in_use GROUP BY cell_id, run_id, tick
),
long AS (UNPIVOT per_run ON queue2_value, liquidity_in_use INTO NAME metric VALUE value)
{_ci("cell_id, metric, tick", "long")}"""

#: Per bank, over every run of the sweep: the peak liquidity it had in use in the day.
BANK_LIQUIDITY_SQL = f"""WITH {_IN_USE},
long AS (SELECT run_id, bank, max(liquidity_in_use) AS value FROM in_use GROUP BY run_id, bank)
{_ci("bank", "long")}"""


def bank_delay_sql(ticks_per_day: int, carry: bool) -> str:
    """Per sending bank, over every run: its delay indicator Σv·(settle − arrival) / Σv·(horizon −
    arrival), the horizon being the end of the arrival day (the run's last tick under ``carry``),
    an unsettled payment counting as settled at its horizon (docs/semantics.md#delays)."""
    horizon = ("r.ticks_run - 1" if carry
               else f"(t.arrival_tick // {ticks_per_day} + 1) * {ticks_per_day} - 1")
    return f"""WITH paid AS (
  SELECT t.run_id, t.sender AS bank, t.amount, t.arrival_tick, {horizon} AS horizon, t.settle_tick
  FROM transactions t JOIN runs r USING (run_id)
  WHERE t.status <> 'split'
),
long AS (
  SELECT run_id, bank,
         sum(amount * (least(coalesce(settle_tick, horizon), horizon) - arrival_tick))
           / nullif(sum(amount * (horizon - arrival_tick)), 0) AS value
  FROM paid GROUP BY run_id, bank
)
{_ci("bank", "long WHERE value IS NOT NULL")}"""


@dataclass
class Curves:
    """Rows of the intraday and per-bank queries (empty where the sweep logged no such table)."""

    intraday: list[dict[str, Any]] = field(default_factory=list)
    bank_liquidity: list[dict[str, Any]] = field(default_factory=list)
    bank_delay: list[dict[str, Any]] = field(default_factory=list)
    sql: dict[str, str] = field(default_factory=dict)


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


#: What the queries read: a hand-made or older results folder without them gets no such figure.
TICK_COLUMNS = frozenset({"run_id", "cell_id", "tick", "bank", "balance", "value_sent", "value_received",
                          "queue2_value"})
TRANSACTION_COLUMNS = frozenset({"run_id", "sender", "amount", "arrival_tick", "settle_tick", "status"})


def _columns(con: Any) -> dict[str, set[str]]:
    """{view: its columns} of the connection's views."""
    out: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
        out.setdefault(str(table), set()).add(str(column))
    return out


def _top(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The TOP_BANKS rows with the highest mean, highest first (ties by bank name)."""
    return sorted(rows, key=lambda r: (-(r["mean"] or 0.0), r["bank"]))[:TOP_BANKS]


def query_curves(results_dir: Path, manifest: dict[str, Any]) -> Curves:
    """The figure data of whichever of ``ticks`` and ``transactions`` the sweep logged."""
    scenario = (manifest.get("config") or {}).get("scenario") or {}
    ticks_per_day = int((scenario.get("simulation") or {}).get("ticks_per_day") or 0)
    carry = ((scenario.get("end_of_day") or {}).get("unsettled") == "carry")
    out = Curves()
    with open_views(results_dir, tables=("runs", "ticks", "transactions"), read_only=True) as con:
        columns = _columns(con)
        if columns.get("ticks", set()) >= TICK_COLUMNS:
            out.intraday = _rows(con, INTRADAY_SQL)
            out.bank_liquidity = _top(_rows(con, BANK_LIQUIDITY_SQL))
            out.sql |= {"intraday": INTRADAY_SQL, "bank liquidity": BANK_LIQUIDITY_SQL}
        if columns.get("transactions", set()) >= TRANSACTION_COLUMNS and ticks_per_day > 0:
            delay_sql = bank_delay_sql(ticks_per_day, carry)
            out.bank_delay = _top(_rows(con, delay_sql))
            out.sql["bank delay"] = delay_sql
    return out

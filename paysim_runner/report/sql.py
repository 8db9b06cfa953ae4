"""The report's SQL: DuckDB views over a sweep's Parquet files and the queries behind every figure.

Every statistic of the report is computed by :data:`CELL_STATS_SQL` and :func:`paired_stats_sql`
against the views of :func:`open_views`; ``report.md`` prints the same SQL so that a reader can
re-run it with ``paysim sql`` (docs/reports.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
from duckdb.func import FunctionNullHandling

from paysim_runner.report.model import RATE_METRICS, REPORT_METRICS
from paysim_runner.report.source import check_results_dir, sql_str, table_source, verified_batches
from paysim_runner.report.stats import CONFIDENCE, t_quantile_or_null

#: The views over a sweep's tables (docs/runner.md#output-layout). ``events`` is written for every
#: batch, with no rows when nothing happened, so it is queryable (count 0) even then.
TABLES: tuple[str, ...] = ("runs", "ticks", "transactions", "events")


def register_sql_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``t_quantile(p, dof)`` in ``con``: Student t quantile, NULL when dof < 1 or NULL."""
    con.create_function(
        "t_quantile",
        t_quantile_or_null,
        ["DOUBLE", "BIGINT"],
        "DOUBLE",
        null_handling=FunctionNullHandling.SPECIAL,
    )


def open_views(
    results_dir: Path | str, tables: Sequence[str] = TABLES, *, read_only: bool = False, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with views ``runs``, ``ticks``, ``transactions`` and ``events``
    (or just ``tables``) over a sweep's Parquet files, and the function ``t_quantile(p, dof)`` (NULL
    when dof < 1).

    A table with no complete batch gets no view (``ticks`` or ``transactions`` switched off by
    ``logs``, or ``events`` in a sweep written before the runner wrote it); the other views stand.
    ``read_only``: the connection may read the sweep's table folders and nothing else (no other
    file, no network, no extension), and its configuration is locked; :func:`refuse_writes` keeps
    out the statements that could write into those folders. ``threads`` is set before the lock.
    Close the connection when done (it is a context manager): DuckDB warns at exit about
    connections with Python functions left open.
    """
    results_dir = Path(results_dir).resolve() if read_only else Path(results_dir)
    check_results_dir(results_dir)
    complete = verified_batches(results_dir)
    con = duckdb.connect()
    try:
        register_sql_functions(con)
        for table in tables:
            source = table_source(results_dir, table, complete)
            if source is not None:
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        if read_only:
            folders = ", ".join(sql_str(f"{(results_dir / t).as_posix()}/") for t in TABLES)
            con.execute(f"SET allowed_directories = [{folders}]")
            for setting in ("enable_external_access", "autoinstall_known_extensions", "autoload_known_extensions"):
                con.execute(f"SET {setting} = false")
            con.execute("SET lock_configuration = true")
    except Exception:
        con.close()
        raise
    return con


#: What a read-only connection runs: queries, and the plans of queries.
READ_ONLY_STATEMENTS = ("SELECT", "EXPLAIN")


def refuse_writes(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """ReadOnlyRefused unless every statement of ``query`` is a query (DuckDB's own parser says which:
    a COPY, ATTACH, INSTALL, SET or CREATE is refused before anything runs)."""
    for statement in con.extract_statements(query):
        kind = statement.type.name
        if kind not in READ_ONLY_STATEMENTS:
            raise ReadOnlyRefused(f"a {kind} statement is not allowed read-only (only SELECT and EXPLAIN run)")


class ReadOnlyRefused(ValueError):
    """A statement that could write or reach beyond the sweep, under ``read_only``."""


def _unpivot_stats(source: str, keys: Sequence[str], rate_floor: int) -> str:
    """n, mean, sd and t-based CI of every report metric, grouped by ``keys``, over ``source``; the
    intervals of RATE_METRICS are clipped to [rate_floor, 1] (0 for shares, -1 for differences).

    Mean and sd are taken over each group's values listed in ``run_id`` order: a float sum depends
    on the order of its terms, and ``avg``/``stddev_samp`` add them in whatever order DuckDB's
    threads scan the files, so the last digits moved between builds. Over an ordered list the same
    runs give the same bits with any thread count, in the report and in ``paysim sql`` alike.
    UNPIVOT drops NULLs, so ``n`` counts the runs where the metric is defined."""
    key_list = ", ".join(keys)
    metrics = ", ".join(REPORT_METRICS)
    rates = ", ".join(f"'{m}'" for m in RATE_METRICS)
    return f"""long AS (
  UNPIVOT (SELECT {key_list}, run_id, {metrics} FROM {source})
  ON {metrics} INTO NAME metric VALUE value
),
stats AS (
  SELECT {key_list}, metric, len(v) AS n, list_avg(v) AS mean, list_stddev_samp(v) AS sd
  FROM (SELECT {key_list}, metric, list(value ORDER BY run_id) AS v FROM long GROUP BY {key_list}, metric)
)
SELECT *,
       t_quantile({(1 + CONFIDENCE) / 2}, n - 1) * sd / sqrt(n) AS half_width,
       CASE WHEN metric IN ({rates}) AND half_width IS NOT NULL
            THEN greatest(mean - half_width, {rate_floor}::DOUBLE) ELSE mean - half_width END AS ci_low,
       CASE WHEN metric IN ({rates}) AND half_width IS NOT NULL
            THEN least(mean + half_width, 1::DOUBLE) ELSE mean + half_width END AS ci_high
FROM stats ORDER BY {key_list}, metric"""


def _as_double(prefix: str = "", minus: str | None = None, indent: str = "    ") -> str:
    """One line per metric: ``CAST(x AS DOUBLE) AS x`` or the paired ``t.x − b.x``."""
    sep = ",\n" + indent
    if minus is None:
        return sep.join(f"CAST({prefix}{m} AS DOUBLE) AS {m}" for m in REPORT_METRICS)
    return sep.join(f"CAST({prefix}{m} AS DOUBLE) - CAST({minus}{m} AS DOUBLE) AS {m}" for m in REPORT_METRICS)


#: Per cell: n runs, mean, sample sd and t-based 95% CI of every report metric.
CELL_STATS_SQL = f"""WITH run_metrics AS (
  SELECT cell_id, run_id,
    {_as_double()}
  FROM runs
),
{_unpivot_stats("run_metrics", ["cell_id"], rate_floor=0)}"""


def _pairs_cte(pairing: Sequence[tuple[int, int]]) -> str:
    values = ", ".join(f"({c}, {b})" for c, b in pairing)
    return f"""pairing(cell_id, baseline_cell_id) AS (VALUES {values}),
pairs AS (
  SELECT t.cell_id, p.baseline_cell_id, t.rep, t.run_id, b.run_id AS baseline_run_id,
         t.seed, b.seed AS baseline_seed,
         {_as_double("t.", minus="b.", indent="         ")}
  FROM runs t
  JOIN pairing p ON p.cell_id = t.cell_id
  JOIN runs b ON b.cell_id = p.baseline_cell_id AND b.rep = t.rep
)"""


def paired_stats_sql(pairing: Sequence[tuple[int, int]]) -> str:
    """Per (cell, baseline cell): n pairs, mean paired difference (cell − baseline), its sd and
    t-based 95% CI. Runs pair by replication number, so both ran on the same seed."""
    return f"""WITH {_pairs_cte(pairing)},
{_unpivot_stats("pairs", ["cell_id", "baseline_cell_id"], rate_floor=-1)}"""


def seed_mismatch_sql(pairing: Sequence[tuple[int, int]]) -> str:
    """The first pair of runs that pair by replication but ran on different seeds, if any."""
    return f"""WITH {_pairs_cte(pairing)}
SELECT run_id, baseline_run_id, seed, baseline_seed FROM pairs
WHERE seed IS DISTINCT FROM baseline_seed ORDER BY run_id LIMIT 1"""


RUN_COUNTS_SQL = """SELECT cell_id, count(*) AS n_runs, count(DISTINCT run_id) AS n_distinct
FROM runs GROUP BY cell_id ORDER BY cell_id"""


#: Rows of the event log by type, for the report's one-line summary of what happened in the sweep.
EVENT_COUNTS_SQL = """SELECT event_type, count(*) AS n FROM events GROUP BY event_type ORDER BY event_type"""

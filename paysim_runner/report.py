"""Sweep reports: DuckDB SQL over a sweep's Parquet logs (SPEC §4 "Storage and reports").

Every statistic is computed by the SQL in :data:`CELL_STATS_SQL` and :func:`paired_stats_sql`,
run against the views of :func:`open_views`; the same SQL is printed in ``report.md`` so a reader
can re-run it with ``paysim sql``. Python only reads ``manifest.json`` (axes, cells, which cell is
the baseline), lays out tables and writes files.

Confidence intervals are t-based: mean ± t_{0.975, n−1} · s / √n, with s the sample standard
deviation over runs (cells) or over paired differences (pairs). A cell with one run has a mean and
no interval (NULL / empty), since one observation carries no information about spread.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
from duckdb.func import FunctionNullHandling
from rich.console import Console
from rich.table import Table
from rich.text import Text

from paysim_runner.errors import PaysimError
from paysim_runner.storage import atomic_write_bytes

#: The run-level figures the report summarises, in display order.
HEADLINE_METRICS: tuple[str, ...] = (
    "settlement_rate",
    "value_settlement_rate",
    "delay_indicator",
    "liquidity_used",
    "cost_total",
)
COST_COMPONENTS: tuple[str, ...] = (
    "cost_liquidity",
    "cost_delay",
    "cost_collateral",
    "cost_split",
    "cost_deadline",
    "cost_eod",
)
REPORT_METRICS: tuple[str, ...] = HEADLINE_METRICS + COST_COMPONENTS
#: Shares that cannot leave [0, 1]: their intervals are clipped to [0, 1], and the intervals of their
#: paired differences to [-1, 1]. A t-interval of a share near 0 or 1 would otherwise claim values
#: no run can have.
RATE_METRICS: tuple[str, ...] = ("settlement_rate", "value_settlement_rate", "delay_indicator")
CONFIDENCE = 0.95
TABLES: tuple[str, ...] = ("runs", "ticks", "transactions")

CELLS_CSV = "report_cells.csv"
PAIRED_CSV = "report_paired.csv"
REPORT_MD = "report.md"
COST_PNG = "cost_breakdown.png"
LIQUIDITY_DELAY_PNG = "liquidity_delay.png"


class ReportError(PaysimError, ValueError):
    """The results directory cannot be reported on; the message names the path and the problem."""


# ---------------------------------------------------------------------------------------------
# Student t quantile. Neither the pinned libraries nor DuckDB provide one, so it is computed from
# the regularized incomplete beta function (continued fraction, Numerical Recipes §6.4):
# P(T > t) = ½ · I_{ν/(ν+t²)}(ν/2, ½), inverted by bisection to full double precision.
# ---------------------------------------------------------------------------------------------

_TINY = 1e-300
_MAX_CF_TERMS = 100_000


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction of I_x(a, b); converges for x < (a+1)/(a+b+2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_CF_TERMS):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < 1e-16:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def regularized_incomplete_beta(x: float, a: float, b: float, y: float | None = None) -> float:
    """I_x(a, b) for 0 ≤ x ≤ 1, a, b > 0. ``y`` is 1 − x when the caller knows it more precisely."""
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def _student_t_upper_tail(t: float, dof: float) -> float:
    """P(T > t) for t ≥ 0, without forming 1 − x by subtraction."""
    t2 = t * t
    return 0.5 * regularized_incomplete_beta(dof / (dof + t2), dof / 2.0, 0.5, y=t2 / (dof + t2))


def student_t_cdf(t: float, dof: float) -> float:
    """P(T ≤ t) for Student's t with ``dof`` degrees of freedom."""
    if not dof > 0:
        raise ValueError(f"dof: must be > 0, got {dof}")
    upper = _student_t_upper_tail(abs(t), dof)
    return 1.0 - upper if t >= 0 else upper


@lru_cache(maxsize=1024)
def student_t_quantile(p: float, dof: float) -> float:
    """The p-quantile of Student's t with ``dof`` degrees of freedom (0 < p < 1, dof > 0).

    Accurate to ~1e-12 relative: e.g. t_{0.975,4} = 2.776445, t_{0.975,29} = 2.045230.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p: must be in (0, 1), got {p}")
    if not (dof > 0 and math.isfinite(dof)):
        raise ValueError(f"dof: must be a finite number > 0, got {dof}")
    if p == 0.5:
        return 0.0
    tail = min(p, 1.0 - p)
    lo, hi = 0.0, 1.0
    while _student_t_upper_tail(hi, dof) > tail:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _student_t_upper_tail(mid, dof) > tail:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    return t if p > 0.5 else -t


def t_quantile_or_null(p: float | None, dof: int | None) -> float | None:
    """SQL face of :func:`student_t_quantile`: NULL when there is no spread to estimate (dof < 1)."""
    if p is None or dof is None or dof < 1:
        return None
    return student_t_quantile(float(p), float(dof))


def ci_half_width(sd: float | None, n: int, confidence: float = CONFIDENCE) -> float | None:
    """Half-width t_{(1+c)/2, n−1} · sd / √n of the t-based interval; None when n < 2."""
    if n < 2 or sd is None:
        return None
    return student_t_quantile((1.0 + confidence) / 2.0, n - 1) * sd / math.sqrt(n)


# ---------------------------------------------------------------------------------------------
# Reading a results directory
# ---------------------------------------------------------------------------------------------


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _batch_files(results_dir: Path, table: str) -> dict[str, Path]:
    """{batch directory name: parquet file} of one table."""
    return {p.parent.name: p for p in sorted((results_dir / table).glob("batch=*/*.parquet"))}


def _check_results_dir(results_dir: Path) -> None:
    if not results_dir.exists():
        raise ReportError(f"{results_dir}: no such results directory")
    if not results_dir.is_dir():
        raise ReportError(f"{results_dir}: not a directory (expected a sweep's results folder)")
    if not _batch_files(results_dir, "runs"):
        raise ReportError(f"{results_dir}: no runs found (expected {results_dir / 'runs'}/batch=*/*.parquet)")


def _table_source(results_dir: Path, table: str, complete: set[str]) -> str | None:
    """The read_parquet(...) of one table, limited to complete batches (those whose runs file exists:
    runs is written last), so a batch cut off mid-write never shows half its rows."""
    files = _batch_files(results_dir, table)
    if not files:
        return None
    if set(files) <= complete:
        glob = (results_dir / table).as_posix() + "/**/*.parquet"
        return f"read_parquet({_sql_str(glob)}, hive_partitioning = true)"
    kept = [files[b].as_posix() for b in sorted(files) if b in complete]
    if not kept:
        return None
    return f"read_parquet([{', '.join(_sql_str(f) for f in kept)}], hive_partitioning = true)"


def register_sql_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``t_quantile(p, dof)`` in ``con``: Student t quantile, NULL when dof < 1 or NULL."""
    con.create_function(
        "t_quantile",
        t_quantile_or_null,
        ["DOUBLE", "BIGINT"],
        "DOUBLE",
        null_handling=FunctionNullHandling.SPECIAL,
    )


def open_views(results_dir: Path | str, tables: Sequence[str] = TABLES) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with views ``runs``, ``ticks`` and ``transactions`` (or just
    ``tables``) over a sweep's Parquet files, and the function ``t_quantile(p, dof)`` (NULL when dof < 1).

    A table with no complete batch gets no view. Close the connection when done (it is a context
    manager): DuckDB warns at exit about connections with Python functions left open.
    """
    results_dir = Path(results_dir)
    _check_results_dir(results_dir)
    complete = set(_batch_files(results_dir, "runs"))
    con = duckdb.connect()
    try:
        register_sql_functions(con)
        for table in tables:
            source = _table_source(results_dir, table, complete)
            if source is not None:
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
    except Exception:
        con.close()
        raise
    return con


def load_manifest(results_dir: Path) -> dict[str, Any]:
    """The sweep's manifest.json, with the keys the report relies on checked."""
    path = results_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{path}: manifest not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ReportError(f"{path}: not a JSON object")
    for key in ("sweep", "grid_axes", "cells"):
        if key not in manifest:
            raise ReportError(f"{path}: missing key '{key}'")
    for i, cell in enumerate(manifest["cells"]):
        if not (isinstance(cell, dict) and isinstance(cell.get("cell_id"), int) and isinstance(cell.get("params"), dict)
                and "cell" in cell):
            raise ReportError(f"{path}: cells[{i}] needs cell_id, cell and params")
    return manifest


# ---------------------------------------------------------------------------------------------
# The SQL
# ---------------------------------------------------------------------------------------------


def _unpivot_stats(source: str, keys: Sequence[str], rate_floor: int) -> str:
    """n, mean, sd and t-based CI of every report metric, grouped by ``keys``, over ``source``; the
    intervals of RATE_METRICS are clipped to [rate_floor, 1] (0 for shares, -1 for differences)."""
    key_list = ", ".join(keys)
    metrics = ", ".join(REPORT_METRICS)
    rates = ", ".join(f"'{m}'" for m in RATE_METRICS)
    return f"""long AS (
  UNPIVOT (SELECT {key_list}, {metrics} FROM {source})
  ON {metrics} INTO NAME metric VALUE value
),
stats AS (
  SELECT {key_list}, metric, count(value) AS n, avg(value) AS mean, stddev_samp(value) AS sd
  FROM long GROUP BY {key_list}, metric
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
  SELECT cell_id,
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


def _seed_mismatch_sql(pairing: Sequence[tuple[int, int]]) -> str:
    return f"""WITH {_pairs_cte(pairing)}
SELECT run_id, baseline_run_id, seed, baseline_seed FROM pairs
WHERE seed IS DISTINCT FROM baseline_seed ORDER BY run_id LIMIT 1"""


RUN_COUNTS_SQL = """SELECT cell_id, count(*) AS n_runs, count(DISTINCT run_id) AS n_distinct
FROM runs GROUP BY cell_id ORDER BY cell_id"""


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Mean and t-based 95% CI of one metric; ``ci_low``/``ci_high`` are None when n < 2.

    ``half_width`` is t · s/√n; the interval is mean ± half_width, clipped to [0, 1] for shares
    (RATE_METRICS) and to [-1, 1] for their differences.
    """

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    half_width: float | None = None

    @property
    def excludes_zero(self) -> bool:
        """The CI lies wholly on one side of zero (a difference distinguishable from none)."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class CellSummary:
    cell_id: int
    cell: str
    params: dict[str, Any]
    n_runs: int
    n_planned: int
    stats: dict[str, Estimate]


@dataclass(frozen=True)
class PairedSummary:
    """Differences cell − baseline over runs paired by replication (common random numbers); the two
    cells differ only on ``axis``, where the baseline cell has the value ``baseline``."""

    axis: str
    baseline: Any
    cell_id: int
    cell: str
    baseline_cell_id: int
    baseline_cell: str
    n_pairs: int
    diffs: dict[str, Estimate]


@dataclass
class Report:
    results_dir: Path
    sweep: str
    grid_axes: list[str]
    compare: list[dict[str, Any]]  # [{axis, baseline}], one paired table each
    cells: list[CellSummary]
    paired: list[PairedSummary]
    sql: dict[str, str]
    plots: dict[str, Any] | None = None  # manifest "plots"; None for manifests written before it existed
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def cell(self, cell_id: int) -> CellSummary:
        return next(c for c in self.cells if c.cell_id == cell_id)

    def paired_along(self, axis: str) -> list[PairedSummary]:
        return [p for p in self.paired if p.axis == axis]


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def compare_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's ``compare``: a list of ``{axis, baseline}`` (a single dict, from older
    manifests, or null are accepted too)."""
    compare = manifest.get("compare")
    if not compare:
        return []
    return [compare] if isinstance(compare, dict) else list(compare)


def _pairing(manifest: dict[str, Any], path: Path) -> list[tuple[dict[str, Any], list[tuple[int, int]]]]:
    """Per compare entry, (cell_id, baseline_cell_id) for every non-baseline cell with a baseline
    counterpart: same values on every other axis, the baseline value on the compare axis."""
    axes = list(manifest["grid_axes"])
    cells = manifest["cells"]
    out = []
    for compare in compare_entries(manifest):
        axis, baseline = compare.get("axis"), compare.get("baseline")
        if axis not in axes:
            raise ReportError(f"{path}: compare.axis {axis!r} is not one of the grid axes {axes}")
        if not any(c["params"].get(axis) == baseline for c in cells):
            raise ReportError(f"{path}: compare.baseline {baseline!r} is not a value of axis {axis!r}")

        def others(params: dict[str, Any], axis: str = axis) -> str:
            return json.dumps({a: params.get(a) for a in axes if a != axis}, sort_keys=True)

        baseline_of = {others(c["params"]): c["cell_id"] for c in cells if c["params"].get(axis) == baseline}
        pairs = [
            (c["cell_id"], baseline_of[others(c["params"])])
            for c in cells
            if c["params"].get(axis) != baseline and others(c["params"]) in baseline_of
        ]
        out.append(({"axis": axis, "baseline": baseline}, pairs))
    return out


def _estimates(rows: Iterable[dict[str, Any]], key_of: Any) -> dict[Any, dict[str, Estimate]]:
    out: dict[Any, dict[str, Estimate]] = {}
    for r in rows:
        out.setdefault(key_of(r), {})[r["metric"]] = Estimate(
            n=int(r["n"]), mean=r["mean"], sd=r["sd"], ci_low=r["ci_low"], ci_high=r["ci_high"],
            half_width=r["half_width"],
        )
    return out


def _fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def build_report(results_dir: Path | str, console: Console | None = None) -> Report:
    """Compute a sweep's report with DuckDB, print it to ``console`` (default: stdout; pass
    ``Console(quiet=True)`` for silence) and write report.md, the CSVs and the PNGs beside it."""
    started = time.perf_counter()
    results_dir = Path(results_dir)
    _check_results_dir(results_dir)
    manifest_path = results_dir / "manifest.json"
    manifest = load_manifest(results_dir)
    comparisons = _pairing(manifest, manifest_path)
    # a (cell, baseline) pair differs on exactly one axis, so the pairs of all comparisons are distinct
    pairing = [pair for _, pairs in comparisons for pair in pairs]

    with open_views(results_dir, tables=("runs",)) as con:  # binding the big tables' views costs time
        counts = _fetch_dicts(con, RUN_COUNTS_SQL)
        for c in counts:
            if c["n_runs"] != c["n_distinct"]:
                raise ReportError(f"{results_dir / 'runs'}: cell {c['cell_id']} has duplicate run_id rows")
        cell_rows = _fetch_dicts(con, CELL_STATS_SQL)
        paired_rows: list[dict[str, Any]] = []
        if pairing:
            mismatch = _fetch_dicts(con, _seed_mismatch_sql(pairing))
            if mismatch:
                m = mismatch[0]
                raise ReportError(
                    f"{results_dir / 'runs'}: runs {m['run_id']} (seed {m['seed']}) and {m['baseline_run_id']}"
                    f" (seed {m['baseline_seed']}) pair by replication but ran on different seeds"
                )
            paired_rows = _fetch_dicts(con, paired_stats_sql(pairing))

    n_runs = {c["cell_id"]: int(c["n_runs"]) for c in counts}
    n_planned: dict[int, int] = {}
    for run in manifest.get("runs", []):
        n_planned[run["cell_id"]] = n_planned.get(run["cell_id"], 0) + 1
    cell_stats = _estimates(cell_rows, lambda r: r["cell_id"])
    cells = [
        CellSummary(
            cell_id=c["cell_id"],
            cell=c["cell"],
            params=dict(c["params"]),
            n_runs=n_runs.get(c["cell_id"], 0),
            n_planned=n_planned.get(c["cell_id"], n_runs.get(c["cell_id"], 0)),
            stats=cell_stats.get(c["cell_id"], {}),
        )
        for c in sorted(manifest["cells"], key=lambda c: c["cell_id"])
    ]
    label = {c.cell_id: c.cell for c in cells}
    pair_stats = _estimates(paired_rows, lambda r: (r["cell_id"], r["baseline_cell_id"]))
    paired = [
        PairedSummary(
            axis=compare["axis"],
            baseline=compare["baseline"],
            cell_id=c,
            cell=label[c],
            baseline_cell_id=b,
            baseline_cell=label[b],
            n_pairs=max((e.n for e in pair_stats.get((c, b), {}).values()), default=0),
            diffs=pair_stats.get((c, b), {}),
        )
        for compare, pairs in comparisons
        for c, b in pairs
    ]
    sql = {"cells": CELL_STATS_SQL}
    if pairing:
        sql["paired"] = paired_stats_sql(pairing)
    report = Report(
        results_dir=results_dir,
        sweep=str(manifest["sweep"]),
        grid_axes=list(manifest["grid_axes"]),
        compare=[compare for compare, _ in comparisons],
        cells=cells,
        paired=paired,
        sql=sql,
        plots=manifest.get("plots") if isinstance(manifest.get("plots"), dict) else None,
    )
    _write_outputs(report, manifest)
    report.seconds = time.perf_counter() - started
    print_report(report, console if console is not None else Console())
    return report


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue().encode()


def _param_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _cells_csv(report: Report) -> bytes:
    header = ["cell_id", "cell", *report.grid_axes, "n_runs", "n_planned", "metric", "n", "mean", "sd",
              "ci_low", "ci_high"]
    rows = []
    for c in report.cells:
        for m in REPORT_METRICS:
            e = c.stats.get(m)
            if e is None:
                continue
            rows.append([c.cell_id, c.cell, *(_param_text(c.params.get(a)) for a in report.grid_axes),
                         c.n_runs, c.n_planned, m, e.n, e.mean, e.sd, e.ci_low, e.ci_high])
    return _csv_bytes(header, rows)


def _paired_csv(report: Report) -> bytes:
    header = ["axis", "baseline", "cell_id", "cell", "baseline_cell_id", "baseline_cell", "metric", "n_pairs",
              "mean_diff", "sd_diff", "ci_low", "ci_high"]
    rows = [
        [p.axis, _param_text(p.baseline), p.cell_id, p.cell, p.baseline_cell_id, p.baseline_cell, m, e.n, e.mean,
         e.sd, e.ci_low, e.ci_high]
        for p in report.paired
        for m in REPORT_METRICS
        if (e := p.diffs.get(m)) is not None
    ]
    return _csv_bytes(header, rows)


def _write_outputs(report: Report, manifest: dict[str, Any]) -> None:
    from paysim_runner import plots  # matplotlib loads only when files are written

    out = report.results_dir
    written: list[Path] = []
    atomic_write_bytes(out / CELLS_CSV, _cells_csv(report))
    written.append(out / CELLS_CSV)
    if report.paired:
        atomic_write_bytes(out / PAIRED_CSV, _paired_csv(report))
        written.append(out / PAIRED_CSV)
    elif (out / PAIRED_CSV).exists():
        (out / PAIRED_CSV).unlink()  # a stale file from an earlier manifest would mislead

    figures: dict[str, str] = {}
    png = plots.cost_breakdown_png(
        [c.cell for c in report.cells],
        {m: [_mean(c, m) for c in report.cells] for m in COST_COMPONENTS},
        [c.stats.get("cost_total") for c in report.cells],
    )
    atomic_write_bytes(out / COST_PNG, png)
    written.append(out / COST_PNG)
    figures["Cost breakdown by cell (mean per run, cents)"] = COST_PNG

    curve = liquidity_delay_series(report)
    if curve is not None:
        axis, series = curve
        atomic_write_bytes(out / LIQUIDITY_DELAY_PNG, plots.liquidity_delay_png(series, xlabel=axis))
        written.append(out / LIQUIDITY_DELAY_PNG)
        figures[f"Liquidity–delay curve over `{axis}`"] = LIQUIDITY_DELAY_PNG

    atomic_write_bytes(out / REPORT_MD, render_markdown(report, manifest, figures).encode())
    written.append(out / REPORT_MD)
    report.files = written


def _mean(cell: CellSummary, metric: str) -> float:
    e = cell.stats.get(metric)
    return 0.0 if e is None or e.mean is None else float(e.mean)


#: (liquidity level, delay indicator, value settlement rate) of one cell.
CurvePoint = tuple[float, "Estimate | None", "Estimate | None"]

#: Axes that step liquidity by their name alone, when the manifest has no ``plots`` (older sweeps).
LIQUIDITY_AXES: tuple[str, ...] = ("liquidity_fraction", "balance_scale")


def liquidity_axis(report: Report) -> str | None:
    """The grid axis of the liquidity–delay curve: ``plots.liquidity_delay.x`` of the manifest (the
    sweep's ``plot: {liquidity_delay: {x: AXIS}}``, or an axis named liquidity_fraction or
    balance_scale), if it is numeric with two or more values."""
    if report.plots is not None:
        wanted = [(report.plots.get("liquidity_delay") or {}).get("x")]
    else:
        wanted = [a for a in report.grid_axes if a in LIQUIDITY_AXES]
    for axis in wanted:
        values = {c.params.get(axis) for c in report.cells}
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if axis in report.grid_axes and numeric and len(values) >= 2:
            return axis
    return None


def liquidity_delay_series(report: Report) -> tuple[str, dict[str, list[CurvePoint]]] | None:
    """Delay indicator and value settlement rate against the liquidity axis, one line per
    combination of the other axes (e.g. one per LSM mode)."""
    axis = liquidity_axis(report)
    if axis is None:
        return None
    series: dict[str, list[CurvePoint]] = {}
    for c in report.cells:
        others = [f"{a}={c.params.get(a)}" for a in report.grid_axes if a != axis]
        name = ", ".join(others) or "all runs"
        series.setdefault(name, []).append(
            (float(c.params[axis]), c.stats.get("delay_indicator"), c.stats.get("value_settlement_rate"))
        )
    for points in series.values():
        points.sort(key=lambda p: p[0])
    return axis, series


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def fmt_number(x: float | None, digits: int = 4) -> str:
    """Significant digits for small figures, whole cents with separators for large ones."""
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_short(x: float | None, digits: int = 3) -> str:
    """``digits`` significant digits with k/M/G for thousands, millions, billions: 414000 -> '414k'.

    Terminal tables use it so a figure fits its column and is never folded mid-digit at 80 columns.
    """
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    rounded = float(f"{x:.{digits}g}")
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(rounded) >= scale:
            return f"{rounded / scale:.{digits}g}{suffix}"
    return f"{rounded:.{digits}g}"


def fmt_estimate(e: Estimate | None, style: str = "ci") -> str:
    """'mean [low, high]' (style 'ci') or 'mean ± half' (style 'pm'); mean alone when n < 2."""
    if e is None:
        return "–"
    if e.ci_low is None or e.ci_high is None:
        return f"{fmt_number(e.mean)} (n={e.n}, no CI)"
    if style == "pm":
        return f"{fmt_number(e.mean)} ± {fmt_number(e.half_width)}"
    return f"{fmt_number(e.mean)} [{fmt_number(e.ci_low)}, {fmt_number(e.ci_high)}]"


#: Short column headers for the terminal, where width is scarce.
SHORT_NAMES: dict[str, str] = {
    "settlement_rate": "settled",
    "value_settlement_rate": "value\nsettled",
    "delay_indicator": "delay\nind.",
    "liquidity_used": "liq.\nused",
    "cost_total": "cost\ntotal",
}


#: Cost columns of the terminal table: short enough for 80 columns.
COST_HEADERS: dict[str, str] = {
    "cost_liquidity": "liquid.",
    "cost_delay": "delay",
    "cost_collateral": "collat.",
    "cost_split": "split",
    "cost_deadline": "deadline",
    "cost_eod": "eod",
}


def _terminal_number(x: float | None, metric: str) -> str:
    """Shares with 3 decimals, other figures with 3 significant digits and k/M/G."""
    if x is not None and metric in RATE_METRICS and math.isfinite(x):
        text = f"{x:.3f}"
        return "0.000" if text == "-0.000" else text
    return fmt_short(x)


def _terminal_estimate(e: Estimate | None, metric: str, bold_if_nonzero: bool = False) -> Text:
    """'mean' over '±half-width' (two lines keep columns narrow), bold when the interval excludes 0."""
    if e is None:
        return Text("–")
    if e.half_width is None:
        return Text(_terminal_number(e.mean, metric))
    return Text(f"{_terminal_number(e.mean, metric)}\n±{_terminal_number(e.half_width, metric)}",
                style="bold" if bold_if_nonzero and e.excludes_zero else "")


def _number_column(table: Table, header: str) -> None:
    """Figures are never wrapped; when the terminal is narrow, the label columns fold instead."""
    table.add_column(header, justify="right", no_wrap=True)


def _axis_columns(report: Report, table: Table, skip: str | None = None) -> list[str]:
    axes = [a for a in report.grid_axes if a != skip]
    for a in axes:
        table.add_column(a, overflow="fold")
    return axes


def print_report(report: Report, console: Console) -> None:
    """The terminal view: headline metrics and cost components per cell (one column per grid axis),
    then paired differences against the baseline."""
    single = any(c.n_runs < 2 for c in report.cells)
    t = Table(title=f"{report.sweep}: mean ±95% CI half-width per cell", title_justify="left",
              caption="no ±: one run, no interval" if single else None, caption_justify="left")
    axes = _axis_columns(report, t)
    t.add_column("n", justify="right", no_wrap=True)
    for m in HEADLINE_METRICS:
        _number_column(t, SHORT_NAMES[m])
    for c in report.cells:
        n = f"{c.n_runs}" if c.n_runs == c.n_planned else f"{c.n_runs}/{c.n_planned}"
        t.add_row(*(Text(str(c.params.get(a))) for a in axes), n,
                  *(_terminal_estimate(c.stats.get(m), m) for m in HEADLINE_METRICS))
    console.print(t)

    t = Table(title="cost components: mean ±95% CI per run (cents)", title_justify="left")
    axes = _axis_columns(report, t)
    for m in COST_COMPONENTS:
        _number_column(t, COST_HEADERS[m])
    for c in report.cells:
        t.add_row(*(Text(str(c.params.get(a))) for a in axes),
                  *(_terminal_estimate(c.stats.get(m), m) for m in COST_COMPONENTS))
    console.print(t)

    for compare in report.compare:
        axis, baseline = compare["axis"], compare["baseline"]
        pairs = report.paired_along(axis)
        if not pairs:
            continue
        t = Table(title=f"paired differences vs {axis}={baseline}, same seeds (bold: 95% CI excludes 0)",
                  title_justify="left")
        axes = _axis_columns(report, t, skip=axis)
        t.add_column(axis, overflow="fold")
        t.add_column("pairs", justify="right", no_wrap=True)
        for m in HEADLINE_METRICS:
            _number_column(t, "Δ " + SHORT_NAMES[m])
        for p in pairs:
            params = report.cell(p.cell_id).params
            t.add_row(*(Text(str(params.get(a))) for a in axes), Text(str(params.get(axis))), str(p.n_pairs),
                      *(_terminal_estimate(p.diffs.get(m), m, bold_if_nonzero=True) for m in HEADLINE_METRICS))
        console.print(t)
    console.print(f"report written to {report.results_dir / REPORT_MD} ({report.seconds:.2f} s)")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_md_escape(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


HOW_TO_READ = """\
- Each **cell** is one point of the sweep grid; each of its **runs** is one replication with its own
  seed. Replication *r* uses the same seed in every cell (common random numbers), so cells differ only
  by their parameters, never by their luck.
- Figures are **means over runs** with a **95% confidence interval** `[low, high]` = mean ± t₀.₉₇₅,ₙ₋₁ · s/√n
  (Student t, s = sample standard deviation across runs). A cell with one run has a mean and no interval.
  The intervals of the shares `settlement_rate`, `value_settlement_rate` and `delay_indicator` are
  clipped to [0, 1], and those of their paired differences to [−1, 1]: no run can fall outside.
- `settlement_rate` counts payments, `value_settlement_rate` weighs them by value.
  `delay_indicator` is Leinonen–Soramäki's Σv·(settle−arrival) / Σv·(eod−arrival): 0 means every payment
  settled on arrival, 1 means every payment waited until the end of its day (unsettled payments count as
  maximal delay). `liquidity_used` sums over banks the peak of (opening balance − balance), in cents.
  Costs are in cents per run.
- **Paired differences** subtract, run by run, the baseline cell's figure from the cell's figure for
  the same replication (same seed), then average. Their interval is narrower than comparing two cell
  means because the common random arrivals cancel. An interval that excludes 0 is a difference the runs
  can distinguish from none at the 5% level.
- Every figure here comes from the SQL at the end of this file, run with DuckDB over the Parquet files;
  run it yourself with `paysim sql <results dir> "<query>"` (views `runs`, `ticks`, `transactions` and the
  function `t_quantile(p, dof)` are predefined)."""


def render_markdown(report: Report, manifest: dict[str, Any], figures: dict[str, str]) -> str:
    """report.md: no timings or paths that vary, so the same results give the same bytes."""
    versions = manifest.get("versions") or {}
    total_runs = sum(c.n_runs for c in report.cells)
    total_planned = sum(c.n_planned for c in report.cells)
    out = [f"# Report: sweep `{report.sweep}`", ""]
    meta = [
        ("runs", f"{total_runs} of {total_planned} planned in {len(report.cells)} cells"),
        ("grid axes", ", ".join(f"`{a}`" for a in report.grid_axes) or "none"),
        ("replications", str(manifest.get("replications", "–"))),
        ("root seed", str(manifest.get("root_seed", "–"))),
        ("baselines", ", ".join(f"`{c['axis']}` = `{c['baseline']}`" for c in report.compare) or "none"),
        ("created by", str(manifest.get("created_by", "–"))),
        ("git commit", f"`{manifest.get('git_commit', '–')}`"
                       + (" with uncommitted changes" if manifest.get("git_dirty") else "")),
        ("engine", f"{versions.get('engine', '–')} (schema {versions.get('schema', '–')})"),
    ]
    out += [_md_table(["", ""], meta), "", "## How to read this", "", HOW_TO_READ, ""]

    out += ["## Per cell: mean [95% CI]", ""]
    header = ["cell", "runs", *HEADLINE_METRICS]
    rows = [[c.cell, str(c.n_runs), *(fmt_estimate(c.stats.get(m)) for m in HEADLINE_METRICS)] for c in report.cells]
    out += [_md_table(header, rows), ""]
    out += ["### Cost components: mean [95% CI], cents per run", ""]
    rows = [[c.cell, *(fmt_estimate(c.stats.get(m)) for m in COST_COMPONENTS)] for c in report.cells]
    out += [_md_table(["cell", *COST_COMPONENTS], rows), ""]

    for compare in report.compare:
        axis, baseline = compare["axis"], compare["baseline"]
        pairs = report.paired_along(axis)
        out += [f"## Paired differences against `{axis}` = `{baseline}`", ""]
        if not pairs:
            out += ["No cell has a baseline counterpart on the other axes.", ""]
            continue
        out += [
            "Mean of (cell − baseline) over runs with the same replication number and seed, [95% CI]. "
            "**Bold**: the interval excludes 0.",
            "",
        ]
        for group, metrics in (("Headline figures", HEADLINE_METRICS), ("Cost components", COST_COMPONENTS)):
            rows = []
            for p in pairs:
                row = [f"{p.cell} − {p.baseline_cell}", str(p.n_pairs)]
                for m in metrics:
                    e = p.diffs.get(m)
                    text = fmt_estimate(e)
                    row.append(f"**{text}**" if e is not None and e.excludes_zero else text)
                rows.append(row)
            out += [f"### {group} (`{axis}`)", "", _md_table(["cell − baseline", "pairs", *metrics], rows), ""]

    out += ["## Figures", ""]
    for caption, name in figures.items():
        out += [f"### {caption}", "", f"![{caption}]({name})", ""]

    out += ["## Files", "", f"- `{CELLS_CSV}`: one row per cell and metric (n, mean, sd, ci_low, ci_high)."]
    if report.paired:
        out.append(f"- `{PAIRED_CSV}`: one row per compared axis, cell, baseline cell and metric (n_pairs, mean_diff, "
                   "sd_diff, CI).")
    out += [f"- `{name}`" for name in figures.values()]
    out += ["", "## SQL used", ""]
    for name, sql in report.sql.items():
        out += [f"### {name}", "", "```sql", sql, "```", ""]
    return "\n".join(out)

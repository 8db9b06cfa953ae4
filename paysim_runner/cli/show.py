"""``paysim show``: one run of a sweep up close, its ``runs`` row and its banks' intraday balance and
queue curves from the ``ticks`` table, the way to check that a strange number in a report is real."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

import typer

from paysim_runner.cli.app import CliError, JsonOpt, out
from paysim_runner.cli.output import emit_json, key_value_table, print_banks

#: Banks drawn when none is chosen: the run's largest users of liquidity.
DEFAULT_BANKS = 3

#: Per bank: the balance before the first tick (tick 0's end-of-tick balance less what tick 0 settled
#: and what its transfers moved), and from it the bank's share of the run's ``liquidity_used``, max
#: over ticks of (opening − end-of-tick balance) floored at 0 (docs/semantics.md#metrics): the shares
#: sum to the run's figure.
BANKS_SQL = """WITH t AS (SELECT * FROM ticks WHERE run_id = $run),
moved AS (
  SELECT bank, amount FROM {events} WHERE run_id = $run AND tick = 0 AND event_type IN ('transfer', 'injection')
  UNION ALL
  SELECT counterparty, -amount FROM {events} WHERE run_id = $run AND tick = 0 AND event_type = 'transfer'
),
opening AS (
  SELECT bank, balance - value_received + value_sent
               - coalesce((SELECT sum(amount) FROM moved m WHERE m.bank = t.bank), 0) AS opening_balance
  FROM t WHERE tick = 0
)
SELECT bank, any_value(o.opening_balance) AS opening_balance,
       greatest(0, max(o.opening_balance - t.balance)) AS liquidity_used,
       min(t.balance) AS lowest_balance, arg_max(t.balance, t.tick) AS closing_balance,
       max(t.queue1_value) AS peak_queue1_value, max(t.queue2_value) AS peak_queue2_value
FROM t JOIN opening o USING (bank) GROUP BY bank ORDER BY liquidity_used DESC, bank"""

#: The per-bank figures printed, headers short enough for 80 columns (Q1, Q2: the queues' values).
BANK_HEADERS = {"id": "bank", "opening_balance": "opening", "liquidity_used": "liquidity used",
                "lowest_balance": "lowest", "closing_balance": "closing", "peak_queue1_value": "peak Q1",
                "peak_queue2_value": "peak Q2"}
#: The curves drawn: ticks-table column, panel title.
CURVES = {"balance": "balance (cents)", "queue1_value": "Queue 1 value (cents): the bank's own queue",
          "queue2_value": "Queue 2 value (cents): the central RTGS queue"}
#: matplotlib's tab10, one colour per bank in the order drawn.
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")
DPI = 100
FIGSIZE = (9.0, 8.0)


def show(
    results_dir: Annotated[Path, typer.Argument(help="A sweep's output folder.")],
    run_id: Annotated[str, typer.Argument(help="A run of the sweep, as in the runs table (c0000-r0000).")],
    banks: Annotated[list[str] | None, typer.Option(
        "--bank", metavar="ID",
        help="A bank to draw (repeat for more; default: the 3 that used the most liquidity).")] = None,
    png: Annotated[Path | None, typer.Option(
        "--png", help="Where to write the plot (default: RESULTS_DIR/show_RUN_ID.png).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print one run's figures (its runs row and its banks' liquidity and queues) and draw the chosen
    banks' intraday balance, Queue 1 and Queue 2 curves into a PNG."""
    from paysim_runner.report import ReportError, open_views
    from paysim_runner.storage import atomic_write_bytes

    try:
        views = open_views(results_dir, read_only=True)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    with views as con:
        cursor = con.execute("SELECT * FROM runs WHERE run_id = $run", {"run": run_id})
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        if not found:
            known = [r for (r,) in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
            span = f"{known[0]} … {known[-1]}, {len(known)} in all" if known else "none"
            raise CliError(f"no run {run_id!r} in {results_dir} (its runs: {span})")
        views_there = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        if "ticks" not in views_there:
            raise CliError(f"{results_dir} has no ticks table (the sweep ran with logs.ticks=false), so there "
                           "are no curves to draw")
        events = "events" if "events" in views_there else "(SELECT NULL::VARCHAR AS run_id, 0 AS tick, "\
            "NULL AS event_type, NULL AS bank, NULL AS counterparty, 0 AS amount WHERE false)"
        per_bank = _records(con.execute(BANKS_SQL.format(events=events), {"run": run_id}))
        chosen = _choose(banks, [b["bank"] for b in per_bank], run_id)
        curves = _records(con.execute(
            "SELECT bank, tick, balance, queue1_value, queue2_value FROM ticks WHERE run_id = $run "
            "AND list_contains($banks, bank) ORDER BY tick", {"run": run_id, "banks": chosen}))
    row = dict(zip(names, found[0], strict=True))
    shown = [next(b for b in per_bank if b["bank"] == bank) for bank in chosen]
    path = png if png is not None else results_dir / f"show_{run_id}.png"
    atomic_write_bytes(path, curves_png(row, shown, curves))
    if as_json:
        emit_json({"run": row, "banks": shown, "png": str(path)})
        return
    out.print(key_value_table(f"run {run_id}", row))
    print_banks("banks drawn", [{"id": b["bank"], **b} for b in shown], BANK_HEADERS)
    out.print(f"Wrote: {path}")


def _records(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _choose(asked: list[str] | None, ranked: list[str], run_id: str) -> list[str]:
    """The banks asked for, in the order given and once each, or the DEFAULT_BANKS first ``ranked``."""
    if not asked:
        return ranked[:DEFAULT_BANKS]
    for bank in asked:
        if bank not in ranked:
            listed = ", ".join(sorted(ranked)[:10]) + (" …" if len(ranked) > 10 else "")
            raise CliError(f"no bank {bank!r} in run {run_id} (its banks: {listed})")
    return list(dict.fromkeys(asked))


def curves_png(row: dict[str, Any], banks: list[dict[str, Any]], curves: list[dict[str, Any]]) -> bytes:
    """One panel per curve, a step line per bank (the ticks table logs end-of-tick values), the
    opening balance dotted. The PNG carries no software or date text, so the same run draws the
    same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    fig = Figure(figsize=FIGSIZE, layout="constrained")
    axes = fig.subplots(len(CURVES), 1, sharex=True)
    for k, bank in enumerate(banks):
        colour = _COLOURS[k % len(_COLOURS)]
        points = [c for c in curves if c["bank"] == bank["bank"]]
        for ax, column in zip(axes, CURVES, strict=True):
            ax.step([p["tick"] for p in points], [p[column] for p in points], where="post", color=colour,
                    linewidth=1.2, label=bank["bank"])
        axes[0].axhline(bank["opening_balance"], color=colour, linewidth=0.8, linestyle=":")
    for ax, title in zip(axes, CURVES.values(), strict=True):
        ax.set_title(title, fontsize=9, loc="left")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))  # cents: no 0.02 ticks
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.grid(alpha=0.3)
    for ax in axes[1:]:  # a queue's value is never negative; an empty one still gets a 0-1 axis
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
    axes[0].set_title(f"{CURVES['balance']}; dotted: opening balance", fontsize=9, loc="left")
    axes[0].axhline(0, color="black", linewidth=0.8)  # below it the bank is using intraday credit
    axes[-1].set_xlabel("tick")
    fig.suptitle(f"run {row['run_id']} · {row['cell']} · seed {row['seed']}", fontsize=10)
    fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncols=min(len(banks), 6),
               fontsize=8, frameon=False)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()

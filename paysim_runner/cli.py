"""The ``paysim`` command: step a simulation by hand between shell commands, and query sweep results.

State lives in a file between commands (engine ``save_state``/``load_state`` behind a small header),
so ``paysim create`` then three ``paysim tick 10`` ends byte for byte where one ``paysim tick 30``
would. Every command prints a rich table for people or, with ``--json``, one JSON document for
scripts; bad input gives a one-line ``error:`` on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from paysim_runner.config import ConfigError, load_config

if TYPE_CHECKING:
    from paysim_runner._core import Orchestrator

#: Ticks from which `paysim tick` shows a progress bar (on a terminal, without --json).
_PROGRESS_FROM = 10_000

app = typer.Typer(
    name="paysim",
    help="Step RTGS payment simulations by hand, serve them over HTTP, and query sweep results.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No rich markup in our own output: state paths, bank ids and SQL values are the user's text, and a
# "[1]" or "[b]" in them must be printed, not swallowed as a style tag.
out = Console(markup=False)
err = Console(stderr=True, markup=False)

StateOpt = Annotated[Path, typer.Option("--state", help="State file (written atomically).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


# -- state file --------------------------------------------------------------------------------


def write_state(path: Path, engine: Orchestrator) -> None:
    """Save an engine: the file is exactly its ``save_state()`` bytes, written atomically.

    The engine's bytes carry their own magic, format version and checksum, so a foreign, truncated
    or damaged file is refused on load; the atomic write leaves the old file or the new one, never
    half of one.
    """
    from paysim_runner.storage import atomic_write_bytes  # numpy and pyarrow: only for commands that write

    atomic_write_bytes(path, engine.save_state())


def read_state(path: Path) -> Orchestrator:
    """Restore the engine saved in ``path`` for a command that only reads it (no lock needed:
    writers replace the file atomically, so it is always the previous or the next whole state)."""
    fd = _open_state(path)
    assert fd is not None
    try:
        return _restore(path, _read_all(fd))
    finally:
        os.close(fd)


@contextmanager
def updating_state(path: Path) -> Iterator[Orchestrator]:
    """The engine of an existing state file, held under an exclusive lock until the command has
    replaced the file, so two commands cannot both read one state and lose one's update.

    The lock is taken on the state file itself (no lock file is left behind). A waiting command
    that wakes up after another replaced the file finds a new file at the path and locks that one.
    """
    with _locked(path, must_exist=True) as fd:
        assert fd is not None
        yield _restore(path, _read_all(fd))


@contextmanager
def replacing_state(path: Path) -> Iterator[None]:
    """Hold the lock of the state file at ``path``, if there is one, while it is overwritten."""
    with _locked(path, must_exist=False):
        yield


@contextmanager
def _locked(path: Path, *, must_exist: bool) -> Iterator[int | None]:
    while True:
        fd = _open_state(path, missing_ok=not must_exist)
        if fd is None:
            yield None  # nothing to protect: the new file appears whole with one rename
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
                yield fd
                return
        finally:
            os.close(fd)  # releases the lock


def _open_state(path: Path, *, missing_ok: bool = False) -> int | None:
    """Open a state file for reading; a folder, a special file or (unless missing_ok) a missing
    file is a CliError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block us
    except FileNotFoundError:
        if missing_ok:
            return None
        raise CliError(f"{path}: no such state file (make one with `paysim create --config FILE --state {path}`)")
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise CliError(f"{path}: {'is a directory' if stat.S_ISDIR(mode) else 'not a regular file'}, not a state file")
    return fd


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb", closefd=False) as fh:
        return fh.read()


def _restore(path: Path, data: bytes) -> Orchestrator:
    from paysim_runner._core import Orchestrator

    try:
        return Orchestrator.load_state(data)
    except Exception as exc:  # the engine's own decoder; any failure means this file cannot be used
        raise CliError(f"{path}: {_one_line(str(exc)).removeprefix('cannot restore state: ')}")


# -- output -------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """JSON with nulls for NaN/inf (undefined ratios) and strings for paths and other odd types."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return str(value)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def _key_value_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        table.add_row(key, _fmt(value))
    return table


#: Short headers, so the bank table fits an 80-column terminal; other fields show their name.
_HEADERS = {"id": "bank", "queue1_size": "Q1", "queue1_value": "Q1 value", "queue2_size": "Q2",
            "queue2_value": "Q2 value", "cost_total": "cost"}
#: What a bank starts the run with (shown by `create`); the position table shows the rest.
_OPENING = ("id", "opening_balance", "credit_limit")


def _columns(names: list[str]) -> dict[str, str]:
    return {name: _HEADERS.get(name, name.replace("_", " ")) for name in names}


def _position_columns() -> dict[str, str]:
    """Every ``agent_state`` field (``_core.SCHEMAS``) but the opening figures, with its header."""
    from paysim_runner._core import SCHEMAS

    return _columns(["id", *(name for name, _ in SCHEMAS["agent_state"] if name not in _OPENING)])


def _print_banks(title: str, agents: list[dict[str, Any]], columns: dict[str, str] | None = None) -> None:
    columns = columns if columns is not None else _position_columns()
    caption = "Q1: the bank's own queue, Q2: the central RTGS queue" if "queue1_size" in columns else None
    table = Table(title=title, title_justify="left", caption=caption, box=box.SIMPLE_HEAD)
    for name, header in columns.items():
        table.add_column(header, justify="left" if name == "id" else "right")
    for agent in agents:
        table.add_row(*(_fmt(agent[name]) for name in columns))
    _print_whole(table, [{header: agent[name] for name, header in columns.items()} for agent in agents], "bank")


def _print_whole(table: Table, records: list[dict[str, Any]], label: str) -> None:
    """Print ``table`` if it fits the terminal; otherwise one figure/value block per record, so no
    number is ever cut short (``2,672,7…``) or folded mid-digit to fit."""
    natural = Measurement.get(out, out.options.update_width(1_000_000), table).maximum
    if natural <= out.width:
        out.print(table)
        return
    for i, record in enumerate(records, start=1):
        out.print(_key_value_table(f"{label} {i} of {len(records)}", record))


def _one_line(message: str) -> str:
    return " ".join(message.split())


# -- simulation commands ------------------------------------------------------------------------


@app.command()
def create(
    config: Annotated[Path, typer.Option("--config", help="Scenario YAML (docs/runner.md#scenario-schema).")],
    state: StateOpt,
    as_json: JsonOpt = False,
) -> None:
    """Build a simulation at tick 0 from a scenario file and save it to the state file."""
    from paysim_runner._core import Orchestrator
    from paysim_runner.manager import engine_state

    try:
        scenario = load_config(config)
    except ConfigError as exc:
        message = str(exc)  # validation errors name the field; say which file too
        raise CliError(message if message.startswith(str(config)) else f"{config}: {message}")
    try:
        engine = Orchestrator.new(scenario.to_rust_dict())
    except (ValueError, TypeError, OverflowError) as exc:
        raise CliError(f"{config}: engine rejected the scenario: {_one_line(str(exc))}")
    with replacing_state(state):
        write_state(state, engine)
    snapshot = engine_state(engine)
    if as_json:
        emit_json({"state_file": str(state), **snapshot})
        return
    out.print(
        f"Created {state}: {len(snapshot['agents'])} banks, {snapshot['total_ticks']} ticks"
        f" ({snapshot['ticks_per_day']} per day), seed {scenario.simulation.seed}"
    )
    _print_banks("Banks", snapshot["agents"], _columns(list(_OPENING)))


@app.command()
def tick(
    n: Annotated[int, typer.Argument(min=1, metavar="N", help="Ticks to run.")],
    state: StateOpt,
    as_json: JsonOpt = False,
) -> None:
    """Run N ticks and save; flows are summed over them, positions are after the last one."""
    from paysim_runner.manager import run_ticks, too_few_ticks_left

    with updating_state(state) as engine:
        remaining = engine.total_ticks() - engine.current_tick()
        if n > remaining:
            raise CliError("N" + too_few_ticks_left(n, remaining, engine.total_ticks()).removeprefix("n"))
        if n >= _PROGRESS_FROM and not as_json and err.is_terminal:
            from rich.progress import Progress

            with Progress(console=err, transient=True) as progress:
                task = progress.add_task("ticking", total=n)
                result = run_ticks(engine, n, on_tick=lambda: progress.advance(task))
        else:
            result = run_ticks(engine, n)
        write_state(state, engine)
    if as_json:
        emit_json(result)
        return
    title = f"Ticks {result['first_tick']}–{result['tick']} (next tick {result['current_tick']})"
    if result["is_finished"]:
        title += " — run finished"
    out.print(_key_value_table(title, {k: v for k, v in result.items() if k not in ("first_tick", "current_tick")}))


@app.command()
def submit(
    state: StateOpt,
    sender: Annotated[str, typer.Option("--sender", help="Paying bank id.")],
    receiver: Annotated[str, typer.Option("--receiver", help="Receiving bank id.")],
    amount: Annotated[int, typer.Option("--amount", min=1, help="Minor units (cents).")],
    deadline: Annotated[int, typer.Option("--deadline", min=0, help="Ticks from now to the deadline.")] = 50,
    priority: Annotated[int, typer.Option("--priority", min=0, max=10, help="0-10; 8+ is urgent.")] = 5,
    divisible: Annotated[bool, typer.Option("--divisible", help="A Splitting policy may split it.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Enter a payment in the sender's Queue 1 now (the next tick processes it) and save."""
    from paysim_runner.errors import InvalidPaymentError, UnknownBankError

    with updating_state(state) as engine:
        if engine.is_finished():
            raise CliError(f"{state}: the run has ended (tick {engine.total_ticks()}); no payment can enter it")
        payment = {"sender": sender, "receiver": receiver, "amount": amount, "deadline_offset": deadline,
                   "priority": priority, "divisible": divisible}
        try:
            tx_id = engine.submit_transaction(payment)
        except UnknownBankError as exc:
            banks = engine.get_agent_ids()
            listed = ", ".join(banks[:10]) + (", ..." if len(banks) > 10 else "")
            raise CliError(f"{_flag(exc.loc)}: {exc.problem} (banks: {listed})")
        except InvalidPaymentError as exc:
            raise CliError(f"{_flag(exc.loc)}: {_one_line(exc.problem)}")
        arrival = engine.current_tick()
        write_state(state, engine)
    accepted = {"transaction_id": tx_id, "arrival_tick": arrival, "deadline_tick": arrival + deadline, **payment}
    if as_json:
        emit_json(accepted)
        return
    out.print(f"Payment {tx_id} entered {sender}'s Queue 1 at tick {arrival}: {amount:,} to {receiver},"
              f" deadline tick {arrival + deadline}, priority {priority}")


#: Payment fields whose option is not ``--<field>``.
_FLAGS = {"deadline_offset": "--deadline"}


def _flag(loc: tuple[str | int, ...]) -> str:
    """The command-line option of the payment field an engine error's location names."""
    field = str(loc[0]) if loc else "payment"
    return _FLAGS.get(field, f"--{field}")


@app.command("state")
def show_state(state: StateOpt, as_json: JsonOpt = False) -> None:
    """Show the next tick to run and every bank's balance, credit used and queues."""
    from paysim_runner.manager import engine_state

    engine = read_state(state)
    snapshot = engine_state(engine)
    if as_json:
        emit_json(snapshot)
        return
    if snapshot["is_finished"]:
        where = f"finished after all {snapshot['total_ticks']} ticks"
    else:
        where = f"day {snapshot['day']}, next tick {snapshot['tick']} of {snapshot['total_ticks']}"
    out.print(f"{state}: {where}; Queue 2 holds {snapshot['queue2_size']} payments")
    _print_banks("Banks", snapshot["agents"])


@app.command()
def stats(state: StateOpt, as_json: JsonOpt = False) -> None:
    """Show the run-level figures so far: settlement, delay, liquidity, costs (docs/semantics.md#metrics)."""
    engine = read_state(state)
    figures = dict(engine.metrics())
    # The engine's clock restarts at every load and a state file carries no timing (its bytes depend
    # only on the scenario and the commands run), so this figure would always read 0 here.
    figures["engine_seconds"] = None
    if as_json:
        emit_json(figures)
        return
    out.print(_key_value_table(f"{state}: run figures after {engine.current_tick()} ticks", figures))


# -- serving and results -------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind; keep 127.0.0.1 unless you mean it.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    as_json: JsonOpt = False,
) -> None:
    """Serve the REST API (paysim_runner.api:app) with uvicorn; docs at /docs."""
    import uvicorn

    url = f"http://{host}:{port}"
    if as_json:
        emit_json({"url": url, "docs": f"{url}/docs"})
        sys.stdout.flush()
    uvicorn.run("paysim_runner.api:app", host=host, port=port, log_level="warning" if as_json else "info")


@app.command()
def report(
    results_dir: Annotated[Path, typer.Argument(help="A sweep's output folder (holds manifest.json).")],
    as_json: JsonOpt = False,
) -> None:
    """Build a sweep's report (per-cell means, 95% CIs, paired differences) and write its files."""
    from paysim_runner.report import ReportError, build_report

    try:
        built = build_report(results_dir, console=Console(quiet=True) if as_json else Console())
    except ReportError as exc:
        raise CliError(str(exc))
    if as_json:
        emit_json(built)
        return
    out.print("Wrote:")
    for path in built.files:
        out.print(f"  {path}")


@app.command()
def sql(
    results_dir: Annotated[Path, typer.Argument(help="A sweep's output folder.")],
    query: Annotated[str, typer.Argument(help="DuckDB SQL over the views runs, ticks, transactions.")],
    as_json: JsonOpt = False,
) -> None:
    """Run DuckDB SQL with the views runs, ticks and transactions defined over a sweep's Parquet."""
    import duckdb

    from paysim_runner.report import ReportError, open_views

    try:
        views = open_views(results_dir)
    except ReportError as exc:
        raise CliError(str(exc))
    with views as con:
        try:
            cursor = con.execute(query)
        except duckdb.Error as exc:
            raise CliError(f"query failed: {_one_line(str(exc))}")
        if cursor.description is None:  # a statement without a result set
            names, rows = [], []
        else:
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    if as_json:
        emit_json([dict(zip(names, row, strict=True)) for row in rows])
        return
    table = Table(caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    for i, name in enumerate(names):
        numeric = bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_fmt(v) for v in row))
    _print_whole(table, [dict(zip(names, row, strict=True)) for row in rows], "row")


# -- entry point --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the command, turning every user error into one line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args or ["--help"], prog_name="paysim", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, missing argument
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except (CliError, ConfigError) as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "), 1)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    err.print(f"error: {_one_line(message)}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


if __name__ == "__main__":
    main()

"""The commands that step a simulation by hand on a state file: ``create``, ``tick``, ``submit``,
``state``, ``stats`` and ``events`` (docs/api-cli.md#the-cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from paysim_runner.cli.app import CliError, JsonOpt, StateOpt, err, one_line, out
from paysim_runner.cli.output import OPENING, columns, emit_json, fmt, key_value_table, print_banks, print_whole
from paysim_runner.cli.state_file import read_state, replacing_state, updating_state, write_state
from paysim_runner.config import ConfigError, load_config
from paysim_runner.scenario import RtgsClass

#: Ticks from which `paysim tick` shows a progress bar (on a terminal, without --json).
_PROGRESS_FROM = 10_000


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
        raise CliError(message if message.startswith(str(config)) else f"{config}: {message}") from exc
    try:
        engine = Orchestrator.new(scenario.to_rust_dict())
    except (ValueError, TypeError, OverflowError) as exc:
        raise CliError(f"{config}: engine rejected the scenario: {one_line(str(exc))}") from exc
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
    print_banks("Banks", snapshot["agents"], columns(list(OPENING)))


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
    out.print(key_value_table(title, {k: v for k, v in result.items() if k not in ("first_tick", "current_tick")}))


def submit(
    state: StateOpt,
    sender: Annotated[str, typer.Option("--sender", help="Paying bank id.")],
    receiver: Annotated[str, typer.Option("--receiver", help="Receiving bank id.")],
    amount: Annotated[int, typer.Option("--amount", min=1, help="Minor units (cents).")],
    deadline: Annotated[int, typer.Option("--deadline", min=0, help="Ticks from now to the deadline.")] = 50,
    priority: Annotated[int, typer.Option("--priority", min=0, max=10, help="0-10; 8+ is urgent.")] = 5,
    rtgs_class: Annotated[
        RtgsClass | None,
        typer.Option("--rtgs-class", help="T2 class; default from priority (10 highly urgent, 8-9 urgent)."),
    ] = None,
    divisible: Annotated[bool, typer.Option("--divisible", help="A Splitting policy may split it.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Enter a payment in the sender's Queue 1 now (the next tick processes it) and save."""
    from paysim_runner.errors import InvalidPaymentError, UnknownBankError

    with updating_state(state) as engine:
        if engine.is_finished():
            raise CliError(f"{state}: the run has ended (tick {engine.total_ticks()}); no payment can enter it")
        payment = {"sender": sender, "receiver": receiver, "amount": amount, "deadline_offset": deadline,
                   "priority": priority, "rtgs_class": rtgs_class, "divisible": divisible}
        try:
            tx_id = engine.submit_transaction(payment)
        except UnknownBankError as exc:
            banks = engine.get_agent_ids()
            listed = ", ".join(banks[:10]) + (", ..." if len(banks) > 10 else "")
            raise CliError(f"{_flag(exc.loc)}: {exc.problem} (banks: {listed})") from exc
        except InvalidPaymentError as exc:
            raise CliError(f"{_flag(exc.loc)}: {one_line(exc.problem)}") from exc
        arrival = engine.current_tick()
        write_state(state, engine)
    accepted = {"transaction_id": tx_id, "arrival_tick": arrival, "deadline_tick": arrival + deadline, **payment}
    if as_json:
        emit_json(accepted)
        return
    chosen = f", class {rtgs_class}" if rtgs_class is not None else ""
    out.print(f"Payment {tx_id} entered {sender}'s Queue 1 at tick {arrival}: {amount:,} to {receiver},"
              f" deadline tick {arrival + deadline}, priority {priority}{chosen}")


#: Payment fields whose option is not ``--<field>``.
_FLAGS = {"deadline_offset": "--deadline", "rtgs_class": "--rtgs-class"}


def _flag(loc: tuple[str | int, ...]) -> str:
    """The command-line option of the payment field an engine error's location names."""
    field = str(loc[0]) if loc else "payment"
    return _FLAGS.get(field, f"--{field}")


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
    print_banks("Banks", snapshot["agents"])


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
    out.print(key_value_table(f"{state}: run figures after {engine.current_tick()} ticks", figures))


def events(state: StateOpt, as_json: JsonOpt = False) -> None:
    """Show the event log so far: scenario events taking effect or ending, central-bank loans at a close."""
    import pyarrow as pa

    from paysim_runner._core import CODES, SCHEMAS
    from paysim_runner.storage import EVENT_BANK_COLUMNS, event_columns

    engine = read_state(state)
    rows = pa.table(event_columns(engine.event_log(), engine.get_agent_ids())).to_pylist()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print(f"{state}: no events in the first {engine.current_tick()} ticks")
        return
    names = [name for name, _ in SCHEMAS["event_log"]]
    table = Table(title=f"{state}: event log after {engine.current_tick()} ticks", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for name in names:
        named = name in EVENT_BANK_COLUMNS or name in CODES  # bank ids and event types; the rest are numbers
        table.add_column(name.replace("_", " "), justify="left" if named else "right")
    for row in rows:
        table.add_row(*(fmt(row[name]) for name in names))
    print_whole(table, rows, "event")

"""The ``paysim`` command: step a simulation by hand between shell commands, and query sweep results.

State lives in a file between commands (the engine's ``save_state`` bytes), so ``paysim create``
then three ``paysim tick 10`` ends byte for byte where one ``paysim tick 30`` would. Every command
prints a rich table for people or, with ``--json``, one JSON document for scripts; bad input gives
a one-line ``error:`` on stderr and a non-zero exit, never a traceback.

Modules by job: ``app`` (the typer app, consoles, options, ``CliError``), ``state_file`` (atomic,
locked state files), ``output`` (JSON and tables), ``simulation`` (create, tick, submit, state,
stats, events), ``results`` (report, sql; ``formats`` prints a query's result), ``show``
(one run's figures and curves) and ``serve``; this module puts them on the app in help order.
"""

from __future__ import annotations

import sys

import typer

from paysim_runner.cli import results, serve, show, simulation
from paysim_runner.cli.app import CliError, app, err, one_line
from paysim_runner.cli.state_file import read_state, write_state
from paysim_runner.config import ConfigError

__all__ = ["CliError", "app", "main", "read_state", "write_state"]

# Registered here, not by decorators in their modules, so `paysim --help` lists them in this order.
app.command()(simulation.create)
app.command()(simulation.tick)
app.command()(simulation.submit)
app.command("state")(simulation.show_state)
app.command()(simulation.stats)
app.command()(simulation.events)
app.command()(serve.serve)
app.command()(results.report)
app.command()(results.sql)
app.command()(show.show)


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
    err.print(f"error: {one_line(message)}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)

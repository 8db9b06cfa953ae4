"""What every ``paysim`` command shares: the typer app, the two consoles, the user-error type and
the ``--state``/``--json`` options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="paysim",
    help="Step RTGS payment simulations by hand, serve them over HTTP, and query sweep results.",
    add_completion=True,  # typer's --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's help layout: a flag is `--json`, an option shows its type (`--port INTEGER`)
)


def _print_version(value: bool) -> None:
    if value:
        from paysim_runner._core import ENGINE_VERSION
        from paysim_runner.storage import package_version

        out.print(f"paysim {package_version()} (engine {ENGINE_VERSION})")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print paysim's and the engine's versions and exit.")] = False,
) -> None:
    """Step RTGS payment simulations by hand, serve them over HTTP, and query sweep results."""
# No rich markup in our own output: state paths, bank ids and SQL values are the user's text, and a
# "[1]" or "[b]" in them must be printed, not swallowed as a style tag.
out = Console(markup=False)
err = Console(stderr=True, markup=False)

StateOpt = Annotated[Path, typer.Option("--state", help="State file (written atomically).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def one_line(message: str) -> str:
    """``message`` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(message.split())

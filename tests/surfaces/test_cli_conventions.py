"""``paysim`` follows its ecosystem's conventions (issue 14): ``--version``, typer's shell
completion, and help that shows each option's type while a flag is just its name."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from paysim_runner._core import ENGINE_VERSION
from paysim_runner.storage import package_version

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_version(paysim: Run) -> None:
    result = paysim("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, f"paysim {package_version()} (engine {ENGINE_VERSION})\n", "")


def test_shell_completion_is_typers(paysim: Run) -> None:
    result = paysim("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    assert "_paysim_completion()" in result.stdout
    assert "complete " in result.stdout


def test_help_shows_types_and_bare_flags(paysim: Run) -> None:
    serve = paysim("serve", "--help").stdout
    assert "--json " in serve
    assert "<bool>" not in serve  # a flag takes no value
    assert "--port <int range>" in serve
    assert "--state <path>" in paysim("tick", "--help").stdout

"""``paysim`` follows its ecosystem's conventions (issue 14): ``--version``, typer's shell
completion, and help that shows each option's type while a flag is just its name."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from paysim_runner._core import ENGINE_VERSION
from paysim_runner.storage import package_version
from tests.helpers.surfaces import PAYSIM

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_version(paysim: Run) -> None:
    result = paysim("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, f"paysim {package_version()} (engine {ENGINE_VERSION})\n", "")


def test_shell_completion_is_typers(tmp_path: Path) -> None:
    """Typer detects the shell from the process tree (shellingham): run from bash, as a user would."""
    result = subprocess.run(["bash", "-c", f"'{PAYSIM}' --show-completion"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "_paysim_completion()" in result.stdout
    assert "complete " in result.stdout


def test_help_shows_types_and_bare_flags(paysim: Run) -> None:
    serve = paysim("serve", "--help").stdout
    assert "--json " in serve
    assert "<bool>" not in serve  # a flag takes no value
    assert "--port <int range>" in serve
    assert "--state <path>" in paysim("tick", "--help").stdout

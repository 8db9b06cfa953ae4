"""`_core.pyi` describes exactly what the extension exports: names, signatures and class bases."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import paysim_runner._core as core

STUBS = ast.parse((Path(core.__file__).parent / "_core.pyi").read_text())


@pytest.mark.slow  # mypy stubtest: 7-13 s
def test_stubtest_finds_the_stubs_match_the_extension() -> None:
    """mypy's stubtest imports the extension and compares every name and signature with the stub."""
    package_root = str(Path(core.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "paysim_runner._core"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exception_bases_match_the_stubs() -> None:
    """stubtest does not compare base classes; the hierarchy is part of the contract."""
    stubbed = {
        node.name: [ast.unparse(base) for base in node.bases]
        for node in STUBS.body
        if isinstance(node, ast.ClassDef) and node.name != "Orchestrator"
    }
    runtime = {name: [base.__name__ for base in getattr(core, name).__bases__] for name in stubbed}
    assert stubbed == runtime

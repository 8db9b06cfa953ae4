"""`_core.pyi` describes exactly what the extension exports: no missing or stale names."""

import ast
from pathlib import Path

import paysim_runner._core as core

STUBS = ast.parse((Path(core.__file__).parent / "_core.pyi").read_text())


def _stub_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_module_names_match_the_stubs() -> None:
    runtime = {n for n in dir(core) if not n.startswith("_")} | {"__version__"}
    stubbed = _stub_names(STUBS.body) - {"TickResult", "AgentState"}  # typing-only helpers
    assert stubbed == runtime


def test_orchestrator_methods_match_the_stubs() -> None:
    [cls] = [n for n in STUBS.body if isinstance(n, ast.ClassDef) and n.name == "Orchestrator"]
    runtime = {n for n in dir(core.Orchestrator) if not n.startswith("_")}
    assert _stub_names(cls.body) == runtime

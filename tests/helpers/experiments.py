"""Load an experiment's ``run.py`` (experiments/<name>/) as a module, as its tests need it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def load_experiment(name: str) -> ModuleType:
    """``experiments/<name>/run.py``, with its folder on ``sys.path`` (a run.py may import its
    siblings, as when run as a script) and registered by name (dataclasses look their module up)."""
    folder = EXPERIMENTS / name
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"{name}_run", folder / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module

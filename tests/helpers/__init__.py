"""Helpers the test folders share: builders, readers and oracles (docs/testing.md#helpers).

Fixtures stay in the ``conftest.py`` files, which import what they need from here.
"""

from __future__ import annotations

from pathlib import Path

#: The checkout: the runner's subprocesses start here, and child Pythons put it on sys.path to
#: import ``tests.helpers``.
REPO = Path(__file__).resolve().parents[2]

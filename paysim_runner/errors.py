"""The package's one exception hierarchy: everything paysim raises on purpose is a ``PaysimError``.

The engine's classes are defined by the extension (``paysim_runner._core``) and re-exported here;
each also derives from the builtin a caller expects (``ValueError`` for bad input, ``KeyError`` for
an unknown bank, ``RuntimeError`` for a finished run or a bug), so ``except ValueError`` keeps
working. Errors about an input field carry it as data: ``.loc`` (a tuple of keys and list indexes,
as in pydantic) and ``.problem``; ``str()`` is one line, ``<field.path>: <problem>``. Python-side
errors (scenario files, sweeps, reports, the simulation manager) derive from ``PaysimError`` too.
"""

from __future__ import annotations

from paysim_runner._core import (
    ConfigError,
    InvalidPaymentError,
    InvariantViolation,
    PaysimError,
    RunFinished,
    StateError,
    UnknownBankError,
)

__all__ = [
    "ConfigError",
    "InvalidPaymentError",
    "InvariantViolation",
    "PaysimError",
    "RunFinished",
    "StateError",
    "UnknownBankError",
]

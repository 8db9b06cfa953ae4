"""``python -m paysim_runner.cli``: the ``paysim`` command without its console script."""

from __future__ import annotations

from paysim_runner.cli import main

main()

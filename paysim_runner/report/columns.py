"""One number format per table column, so the figures of a column line up and compare by eye.

A column of shares (RATE_METRICS and their differences) gets 4 decimals. A column of money or
counts gets whole numbers with thousands separators when its largest figure reaches 10,000, and
otherwise the decimals that give its largest figure 4 significant digits; every figure of the
column (means and interval bounds alike) then has those decimals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from paysim_runner.report.model import RATE_METRICS, Estimate

Format = Callable[[float | None], str]

SHARE_DECIMALS = 4
SIGNIFICANT = 4
MAX_DECIMALS = 8


def _fixed(decimals: int, separators: bool = False) -> Format:
    def fmt(x: float | None) -> str:
        if x is None:
            return "–"
        if math.isnan(x):
            return "NaN"
        text = f"{x:,.{decimals}f}" if separators else f"{x:.{decimals}f}"
        return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text  # no "-0.00"

    return fmt


def figures_of(estimates: Iterable[Estimate | None]) -> list[float]:
    """Every finite figure a column shows: means and interval bounds."""
    out = []
    for e in estimates:
        if e is not None:
            out += [x for x in (e.mean, e.ci_low, e.ci_high) if x is not None and math.isfinite(x)]
    return out


def column_format(metric: str, estimates: Iterable[Estimate | None]) -> Format:
    """The format of a column of ``metric`` whose cells show ``estimates``."""
    if metric in RATE_METRICS:
        return _fixed(SHARE_DECIMALS)
    largest = max((abs(x) for x in figures_of(estimates)), default=0.0)
    if largest >= 10 ** SIGNIFICANT:
        return _fixed(0, separators=True)
    if largest == 0.0:
        return _fixed(0)
    decimals = SIGNIFICANT - 1 - math.floor(math.log10(largest))
    return _fixed(min(max(decimals, 0), MAX_DECIMALS))

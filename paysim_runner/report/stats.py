"""The t-based confidence intervals of the report (docs/reports.md).

An interval is mean ± t_{(1+c)/2, n−1} · s / √n, with s the sample standard deviation over runs
(cells) or over paired differences (pairs). One observation carries no information about spread,
so n < 2 gives a mean and no interval. The Student t quantile is scipy's ``stdtrit``; it also feeds
the SQL function ``t_quantile`` (see :func:`paysim_runner.report.sql.register_sql_functions`), so
the report's SQL and the Python helpers here use one quantile.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from scipy.special import stdtrit

from paysim_runner.report.model import Estimate

CONFIDENCE = 0.95


def student_t_quantile(p: float, dof: float) -> float:
    """The p-quantile of Student's t with ``dof`` degrees of freedom (0 < p < 1, finite dof > 0).

    scipy answers NaN for arguments outside its domain; a NaN bound in a report would pass
    silently, so bad arguments raise here, naming the argument.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p: must be in (0, 1), got {p}")
    if not (dof > 0 and math.isfinite(dof)):
        raise ValueError(f"dof: must be a finite number > 0, got {dof}")
    return float(stdtrit(dof, p))


def t_quantile_or_null(p: float | None, dof: int | None) -> float | None:
    """SQL face of :func:`student_t_quantile`: NULL when there is no spread to estimate (dof < 1)."""
    if p is None or dof is None or dof < 1:
        return None
    return student_t_quantile(float(p), float(dof))


def ci_half_width(sd: float | None, n: int, confidence: float = CONFIDENCE) -> float | None:
    """Half-width t_{(1+c)/2, n−1} · sd / √n of the t-based interval; None when n < 2."""
    if n < 2 or sd is None:
        return None
    return student_t_quantile((1.0 + confidence) / 2.0, n - 1) * sd / math.sqrt(n)


def estimate(values: Sequence[float], clip: tuple[float, float] | None = None,
             confidence: float = CONFIDENCE) -> Estimate:
    """Mean, sample sd and t-based interval of ``values``, for figures computed outside DuckDB
    (the experiments). ``clip`` bounds the interval to a range the figure cannot leave, e.g.
    (0, 1) for a share, as the report's SQL does for RATE_METRICS."""
    if not values:
        raise ValueError("values: need at least one observation")
    n = len(values)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if n >= 2 else None
    half = ci_half_width(sd, n, confidence)
    if half is None:
        return Estimate(n=n, mean=mean, sd=sd, ci_low=None, ci_high=None, half_width=None)
    low, high = mean - half, mean + half
    if clip is not None:
        low, high = max(clip[0], low), min(clip[1], high)
    return Estimate(n=n, mean=mean, sd=sd, ci_low=low, ci_high=high, half_width=half)

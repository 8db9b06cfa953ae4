"""What a sweep report is: the metrics it summarises, its file names and its result records.

The records are plain dataclasses: the build step fills them, the terminal, Markdown and CSV views
read them, and ``paysim report --json`` serialises them field by field, so their fields are part of
the CLI's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paysim_runner import _core
from paysim_runner.errors import PaysimError

#: The run-level figures the report summarises, in display order.
HEADLINE_METRICS: tuple[str, ...] = (
    "settlement_rate",
    "value_settlement_rate",
    "delay_indicator",
    "liquidity_used",
    "cost_total",
)
#: The engine's cost components, in its order (``_core.COST_NAMES``): a new cost needs no edit here.
COST_COMPONENTS: tuple[str, ...] = tuple(f"cost_{name}" for name in _core.COST_NAMES)
REPORT_METRICS: tuple[str, ...] = HEADLINE_METRICS + COST_COMPONENTS
#: Shares that cannot leave [0, 1]: their intervals are clipped to [0, 1], and the intervals of their
#: paired differences to [-1, 1]. A t-interval of a share near 0 or 1 would otherwise claim values
#: no run can have.
RATE_METRICS: tuple[str, ...] = ("settlement_rate", "value_settlement_rate", "delay_indicator")

CELLS_CSV = "report_cells.csv"
PAIRED_CSV = "report_paired.csv"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
COST_PNG = "cost_breakdown.png"
LIQUIDITY_DELAY_PNG = "liquidity_delay.png"
CELL_MEANS_PNG = "cell_means.png"
INTRADAY_PNG = "intraday.png"
BANKS_PNG = "banks.png"


def forest_png_name(axis: str) -> str:
    """The forest plot of the paired differences along ``axis`` (a column name: no path characters)."""
    return f"paired_{axis}.png"


def tradeoff_png_name(axis: str) -> str:
    """The cost trade-off curve over the numeric axis ``axis``."""
    return f"cost_vs_{axis}.png"


class ReportError(PaysimError, ValueError):
    """The results directory cannot be reported on; the message names the path and the problem."""


@dataclass(frozen=True)
class Estimate:
    """Mean and t-based 95% CI of one metric; ``ci_low``/``ci_high`` are None when n < 2.

    ``half_width`` is t · s/√n; the interval is mean ± half_width, clipped to [0, 1] for shares
    (RATE_METRICS) and to [-1, 1] for their differences.
    """

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    half_width: float | None = None

    @property
    def excludes_zero(self) -> bool:
        """The CI lies wholly on one side of zero (a difference distinguishable from none)."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class CellSummary:
    cell_id: int
    cell: str
    params: dict[str, Any]
    n_runs: int
    n_planned: int
    stats: dict[str, Estimate]


@dataclass(frozen=True)
class PairedSummary:
    """Differences cell − baseline over runs paired by replication (common random numbers); the two
    cells differ only on ``axis``, where the baseline cell has the value ``baseline``."""

    axis: str
    baseline: Any
    cell_id: int
    cell: str
    baseline_cell_id: int
    baseline_cell: str
    n_pairs: int
    diffs: dict[str, Estimate]


@dataclass
class Report:
    """A sweep's figures. ``files`` and ``seconds`` stay empty until the report is written."""

    results_dir: Path
    sweep: str
    grid_axes: list[str]
    compare: list[dict[str, Any]]  # [{axis, baseline}], one paired table each
    cells: list[CellSummary]
    paired: list[PairedSummary]
    sql: dict[str, str]
    plots: dict[str, Any] | None = None  # manifest "plots"; None for manifests written before it existed
    events: dict[str, int] = field(default_factory=dict)  # event-log rows by type, over every run
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def cell(self, cell_id: int) -> CellSummary:
        return next(c for c in self.cells if c.cell_id == cell_id)

    def paired_along(self, axis: str) -> list[PairedSummary]:
        return [p for p in self.paired if p.axis == axis]

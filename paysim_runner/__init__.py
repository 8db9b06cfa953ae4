"""paysim: a Monte Carlo experiment runner for RTGS payment systems on a Rust engine.

The engine is :mod:`paysim_runner._core`; the runner modules are ``scenario`` (scenario schema),
``config`` (loading scenarios), ``sweep`` (grids and seeds), ``run`` (one run and one batch),
``ray_backend`` (Ray), ``driver`` (a whole sweep), ``storage`` (Parquet), ``report`` (DuckDB),
``cli`` and ``api``. Every error the package raises on purpose is a :class:`PaysimError`
(``paysim_runner.errors``).
"""

from paysim_runner._core import ENGINE_VERSION, Orchestrator
from paysim_runner.errors import PaysimError

__version__ = "0.1.0"
__all__ = ["ENGINE_VERSION", "Orchestrator", "PaysimError", "__version__"]

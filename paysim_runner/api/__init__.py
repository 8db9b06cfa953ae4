"""REST API over live simulations: tools create a scenario, step it, inject payments and read it over HTTP.

Engine work runs in threads, the ticks in Rust without the GIL, so it never stalls the event loop
(``/health`` answers while a long tick runs); the manager's per-simulation lock serializes requests
on one simulation, and its budgets bound each request's time and the memory the logs hold.
Every failure the caller can cause maps to a 4xx with a message naming the field; serve with
``paysim serve`` (127.0.0.1:8000 by default).

Modules by job: ``models`` (requests and responses, record shapes from the engine's schemas),
``routes`` (the endpoints) and ``handlers`` (the manager's errors as 4xx answers).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from paysim_runner.api.handlers import add_error_handlers
from paysim_runner.api.routes import router
from paysim_runner.budget import Budgets
from paysim_runner.manager import DEFAULT_MAX_SIMULATIONS, SimulationManager

__all__ = ["app", "create_app"]


def create_app(manager: SimulationManager | None = None) -> FastAPI:
    """Build the app around a manager; ``paysim_runner.api:app`` uses one bounded by PAYSIM_MAX_SIMULATIONS
    and the budgets of ``Budgets.from_env`` (docs/api-cli.md#concurrency-and-bounds)."""
    manager = manager or SimulationManager(
        max_simulations=int(os.environ.get("PAYSIM_MAX_SIMULATIONS", DEFAULT_MAX_SIMULATIONS)),
        budgets=Budgets.from_env(),
    )
    app = FastAPI(
        title="paysim",
        summary="Step RTGS payment simulations by hand over HTTP",
        version=_package_version(),
    )
    app.state.manager = manager
    add_error_handlers(app)
    app.include_router(router)
    return app


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paysim-runner")
    except PackageNotFoundError:
        return "0.0.0"


app = create_app()

"""REST API over live simulations: tools create a scenario, step it, inject payments and read it over HTTP.

Engine work runs in threads, the ticks in Rust without the GIL, so it never stalls the event loop
(``/health`` answers while a long tick runs); the manager's per-simulation lock serializes requests
on one simulation, and its budgets bound each request's time and the memory the logs hold.
Every failure the caller can cause maps to a 4xx with a message naming the field; serve with
``paysim serve`` (127.0.0.1:8000 by default).

Modules by job: ``models`` (requests and responses, record shapes from the engine's schemas),
``routes`` (the endpoints), ``handlers`` (the manager's errors as 4xx answers), ``limits`` (what one
request may cost: body bytes, a scenario's log rows) and ``docs`` (``/docs`` served offline).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from paysim_runner.api.docs import add_offline_docs
from paysim_runner.api.handlers import add_error_handlers
from paysim_runner.api.limits import BodyLimit, Limits
from paysim_runner.api.routes import router
from paysim_runner.budget import Budgets
from paysim_runner.manager import DEFAULT_MAX_SIMULATIONS, SimulationManager

__all__ = ["app", "create_app"]


def create_app(manager: SimulationManager | None = None, limits: Limits | None = None) -> FastAPI:
    """Build the app around a manager and request limits; ``paysim_runner.api:app`` takes them from
    PAYSIM_MAX_SIMULATIONS, the budgets of ``Budgets.from_env``, PAYSIM_MAX_BODY_BYTES and
    PAYSIM_MAX_SCENARIO_ROWS (docs/api-cli.md#concurrency-and-bounds)."""
    manager = manager or SimulationManager(
        max_simulations=int(os.environ.get("PAYSIM_MAX_SIMULATIONS", DEFAULT_MAX_SIMULATIONS)),
        budgets=Budgets.from_env(),
    )
    limits = limits or Limits.from_env()
    app = FastAPI(
        title="paysim",
        summary="Step RTGS payment simulations by hand over HTTP",
        version=_package_version(),
        docs_url=None,  # served by add_offline_docs, from the package rather than a CDN
    )
    app.state.manager = manager
    app.state.limits = limits
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    add_error_handlers(app)
    app.include_router(router)
    add_offline_docs(app)
    return app


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paysim-runner")
    except PackageNotFoundError:
        return "0.0.0"


app = create_app()

"""``paysim serve``: the REST API (``paysim_runner.api:app``) under uvicorn, docs/api-cli.md."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from paysim_runner.cli.app import JsonOpt
from paysim_runner.cli.output import emit_json


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind; keep 127.0.0.1 unless you mean it.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    as_json: JsonOpt = False,
) -> None:
    """Serve the REST API (paysim_runner.api:app) with uvicorn; docs at /docs."""
    import uvicorn

    url = f"http://{host}:{port}"
    if as_json:
        emit_json({"url": url, "docs": f"{url}/docs"})
        sys.stdout.flush()
    uvicorn.run("paysim_runner.api:app", host=host, port=port, log_level="warning" if as_json else "info")

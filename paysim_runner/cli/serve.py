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
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-body-bytes", min=1, help="Largest request body, else a 413 [default: PAYSIM_MAX_BODY_BYTES or 4 MiB]"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the REST API (paysim_runner.api:app) with uvicorn; docs at /docs."""
    import uvicorn

    from paysim_runner.api import create_app
    from paysim_runner.api.limits import Limits

    url = f"http://{host}:{port}"
    if as_json:
        emit_json({"url": url, "docs": f"{url}/docs"})
        sys.stdout.flush()
    overrides = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    app = create_app(limits=Limits.from_env(**overrides))
    uvicorn.run(app, host=host, port=port, log_level="warning" if as_json else "info")

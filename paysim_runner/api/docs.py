"""``/docs`` served offline: Swagger UI's JavaScript and CSS come from the ``swagger-ui-bundle-v2``
package under ``/static/swagger-ui``, not from a CDN, so the page works on a network without the
internet (where central banks run tools). FastAPI's self-hosting recipe: ``docs_url=None`` on the
app, and this route instead. That package's Swagger UI is 5.x, which renders OpenAPI 3.1 (FastAPI's)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC = "/static/swagger-ui"


def add_offline_docs(app: FastAPI) -> None:
    """Serve ``/docs`` with the packaged Swagger UI assets (no OAuth2 redirect page: the API has no auth)."""
    app.mount(STATIC, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
        )


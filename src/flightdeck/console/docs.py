"""``/docs`` (Swagger UI) and ``/redoc`` that work offline.

The viewers' JavaScript and CSS come from the ``fastapi-offline`` package on PyPI (installed
like any dependency, never copied into this repository); the pages are the console's own and
start the viewers from a static script, so no inline script is needed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from flightdeck.console import pages

VIEWER_PREFIX = "/static/api-viewers"
DOCS_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def viewer_assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def mount_docs(app: FastAPI) -> None:
    app.mount(VIEWER_PREFIX, StaticFiles(directory=viewer_assets_dir()), name="api-viewers")

    def page(template: str) -> HTMLResponse:
        body = pages.templates.get_template(template).render(
            viewers=VIEWER_PREFIX, openapi_url=app.openapi_url, title=app.title
        )
        return HTMLResponse(body, headers=DOCS_HEADERS)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(_request: Request) -> HTMLResponse:
        return page("api_docs.html")

    @app.get("/redoc", include_in_schema=False)
    def redoc(_request: Request) -> HTMLResponse:
        return page("api_redoc.html")

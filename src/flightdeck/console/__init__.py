"""The web console: server-rendered pages at ``/`` over the same services and authorization
as the API, with a little of the project's own JavaScript (Copy, live updates)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from flightdeck.console import data, docs, pages
from flightdeck.console.views import ROUTERS

NOT_FOUND_MESSAGE = "There is nothing here, or it is not yours to see. Check the address."

# Paths that belong to machines, not people: their errors stay JSON.
_MACHINE_PREFIXES = ("/api/", "/healthz", "/openapi.json")

Handler = Callable[[Request, Any], Any]


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(_MACHINE_PREFIXES)


async def _delegate(handler: Handler, request: Request, exc: Exception) -> Response:
    """Hand an API path's error to the API's own JSON handler."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    response: Response = result
    return response


def mount_console(app: FastAPI) -> None:
    """Add the pages, their static files, offline /docs and /redoc, and HTML error pages
    for page paths (API paths keep their JSON errors)."""
    app.mount(pages.STATIC_PREFIX, StaticFiles(directory=pages.STATIC_DIR), name="console-static")
    docs.mount_docs(app)
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)

    json_domain: Handler = app.exception_handlers[data.DomainError]
    json_validation: Handler = app.exception_handlers[RequestValidationError]
    json_http: Handler = app.exception_handlers[StarletteHTTPException]

    async def domain(request: Request, exc: data.DomainError) -> Response:
        if not _is_page(request):
            return await _delegate(json_domain, request, exc)
        if isinstance(exc, data.NotFound):
            return pages.error_page(request, 404, NOT_FOUND_MESSAGE)
        if isinstance(exc, data.Forbidden):
            return pages.error_page(request, 403, exc.message)
        if isinstance(exc, data.Unauthenticated):
            return pages.sign_in_redirect(request, pages.SignInRequired("/", expired=True))
        status = 409 if isinstance(exc, data.Conflict) else 422
        return pages.error_page(request, status, exc.message)

    async def validation(request: Request, exc: RequestValidationError) -> Response:
        if not _is_page(request):
            return await _delegate(json_validation, request, exc)
        return pages.error_page(request, 422, "The request was not understood; go back and retry.")

    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        if not _is_page(request) or exc.status_code not in (404, 405):
            return await _delegate(json_http, request, exc)
        return pages.error_page(request, 404, NOT_FOUND_MESSAGE)

    async def sign_in(request: Request, exc: pages.SignInRequired) -> Response:
        return pages.sign_in_redirect(request, exc)

    async def page_error(request: Request, exc: pages.PageError) -> Response:
        return pages.error_page(request, exc.status, exc.message)

    app.add_exception_handler(data.DomainError, domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http)  # type: ignore[arg-type]
    app.add_exception_handler(pages.SignInRequired, sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(pages.PageError, page_error)  # type: ignore[arg-type]

"""The one place domain errors become HTTP responses. Bodies are always
``{"error": {"code", "message", "field"}}``; nothing internal leaks."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from flightdeck.services.errors import (
    AwsRefused,
    AwsUnavailable,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found.")
    message: str = Field(description="One sentence naming the field and the fix.")
    field: str | None = Field(description="The request field at fault, when there is one.")
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "Not signed in, or the API token is invalid, expired or revoked.",
    403: "Signed in, but the role does not allow this.",
    404: "The organization or resource does not exist, or is not visible to the caller.",
    409: "The request conflicts with the current state (a duplicate name, the last Owner...).",
    422: "A field is missing or invalid; the message names it.",
    429: "Too many attempts; retry after the Retry-After header's seconds.",
    502: "AWS refused the call; the message says why.",
    503: "AWS could not be reached; retry later.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for error answers, all with the ErrorOut body."""
    return {
        status: {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unauthenticated: 401,
    AwsRefused: 502,
    AwsUnavailable: 503,
    TooManyAttempts: 429,
}


def error_body(
    code: str, message: str, field: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        error["details"] = details
    return {"error": error}


def _status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


# A validator's own wording ("String should have at most 100 characters") never reaches a
# user: each kind of failure is said once, in the services' style, with its bound.
_VALIDATION_MESSAGES: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request; remove it",
    "string_too_long": "must be at most {max_length} characters long",
    "string_too_short": "must be at least {min_length} characters long",
    "too_long": "must have at most {max_length} items",
    "too_short": "must have at least {min_length} items",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be an object",
}


def _describe_validation(errors: list[Any]) -> tuple[str, str | None]:
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    kind = first.get("type")
    if kind == "json_invalid":
        return "request body: is not valid JSON", None
    template = _VALIDATION_MESSAGES.get(str(kind))
    message = str(first.get("msg", "invalid input"))
    if template is not None:
        with contextlib.suppress(KeyError, IndexError):
            message = template.format(**(first.get("ctx") or {}))
    return (f"{field}: {message}" if field else message), field


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field, exc.details),
            status_code=_status_for(exc),
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = _describe_validation(list(exc.errors()))
        return JSONResponse(error_body("invalid_input", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return JSONResponse(
            error_body("internal", "the server hit an unexpected error; it has been logged"),
            status_code=500,
        )

"""Domain errors. The API maps them to HTTP in one place; the CLI prints their message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(
        self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    """Also what a non-member sees for another organization's ids: never a hint they exist."""

    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class AwsRefused(DomainError):
    """AWS (or the customer's role) refused a call the platform made; the message says why
    and how to fix it."""

    code = "aws_refused"


class AwsUnavailable(DomainError):
    """AWS throttled or is temporarily unavailable; try again shortly."""

    code = "aws_unavailable"


class TooManyAttempts(DomainError):
    """Throttled (e.g. sign-in): the API answers 429 with ``Retry-After``."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds

"""Reading AWS's answer out of a botocore exception, without ever quoting its parameters:
the one ``error_code`` and ``absent_on`` every AWS module uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code (``AccessDenied``, ``Throttling`` ...) of a ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def describe_error(exc: BaseException) -> str:
    """``Code: message`` for a ClientError, the exception's type otherwise."""
    code = error_code(exc)
    if code is not None:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
        return f"{code}: {message}".rstrip(": ")
    return type(exc).__name__


def absent_on(codes: tuple[str, ...], call: Callable[..., T], **arguments: Any) -> T | None:
    """``call(**arguments)``; ``None`` when AWS answers with one of the "does not exist"
    ``codes``. Deletion treats "not found" as done, lookups as "create it"."""
    try:
        return call(**arguments)
    except Exception as exc:
        if error_code(exc) in codes:
            return None
        raise

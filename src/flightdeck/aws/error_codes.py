"""Reading AWS's answer out of a botocore exception, without ever quoting its parameters."""

from __future__ import annotations


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

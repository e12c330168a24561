"""Checks shared by every use case; each failure names the field and how to fix it."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from flightdeck.services.errors import InvalidInput

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-]?$"
"""Organization, workspace, cluster, Deployment and token names (1-64 characters)."""
NAME_MAX_LENGTH = 64
NAME_RULE = (
    f"1-{NAME_MAX_LENGTH} letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"
)
"""The one wording of the name rule: the API's schema and errors, the services, the CLI."""
_NAME = re.compile(NAME_PATTERN)
_SHOWN = 24  # a refused name is quoted up to this many characters
MIN_PASSWORD_LENGTH = 12


def normalise_email(email: str, field: str = "email") -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None
    return result.normalized.lower()


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"{field}: must be at least {MIN_PASSWORD_LENGTH} characters long", field=field
        )
    if len(password) > 1024:
        raise InvalidInput(f"{field}: must be at most 1024 characters long", field=field)


def name_problem(name: str) -> str | None:
    """Why ``name`` (surrounding blanks removed) is not a valid name, or None."""
    name = name.strip()
    if _NAME.match(name):
        return None
    shown = repr(name) if len(name) <= _SHOWN else f"{name[:_SHOWN]!r}... ({len(name)} characters)"
    return f"{shown} is not a valid name; use {NAME_RULE}"


def check_name(name: str, field: str) -> str:
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem}", field=field)
    return name.strip()


def check_choice(value: str, choices: tuple[str, ...], field: str) -> str:
    if value not in choices:
        raise InvalidInput(f"{field}: {value!r} is not one of {', '.join(choices)}", field=field)
    return value

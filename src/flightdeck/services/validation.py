"""Checks shared by every use case; each failure names the field and how to fix it."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from flightdeck.services.errors import InvalidInput

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-]?$"
"""Organization, workspace, cluster, Deployment and token names (1-64 characters)."""
NAME_MAX_LENGTH = 64
_NAME = re.compile(NAME_PATTERN)
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


def check_name(name: str, field: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidInput(
            f"{field}: {name!r} is not a valid name; use 1-64 letters, digits, spaces, "
            "'.', '_' or '-', starting with a letter or digit",
            field=field,
        )
    return name


def check_choice(value: str, choices: tuple[str, ...], field: str) -> str:
    if value not in choices:
        raise InvalidInput(f"{field}: {value!r} is not one of {', '.join(choices)}", field=field)
    return value

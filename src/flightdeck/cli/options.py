"""Options many commands share, declared once so their names, short forms, environment
variables and help read the same in every ``--help``; and the validators of AWS values
that several commands take."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ORG = Annotated[
    str | None,
    typer.Option(
        "--org", envvar="FLIGHTDECK_ORG", help="Organization id or slug [default: your only one]."
    ),
]
WORKSPACE = Annotated[str | None, typer.Option("--workspace", help="Workspace id or name.")]
YES = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PROJECT_DIR = Annotated[
    Path,
    typer.Option(
        "--project-dir",
        "-p",
        envvar="FLIGHTDECK_DEV_PROJECT_DIR",
        help="The project directory (default: the current directory or a parent of it).",
    ),
]

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def platform_account_id(value: str | None) -> str | None:
    """Callback for ``--platform-account``: the platform's 12-digit AWS account ID."""
    return None if value is None else account_id(value)


def account_id(value: str) -> str:
    """Callback for an AWS account ID, checked here before anything is sent."""
    from flightdeck.aws.reference import InvalidAccountId, check_account_id

    try:
        return check_account_id(value)
    except InvalidAccountId as exc:
        raise typer.BadParameter(exc.problem) from None


def account_ref(value: str) -> str:
    """Callback for a registered account: its 12-digit AWS account ID or flightdeck id."""
    from flightdeck.aws.reference import InvalidAccountId, check_account_ref

    try:
        return check_account_ref(value)
    except InvalidAccountId as exc:
        raise typer.BadParameter(exc.problem) from None


def aws_region(value: str | None) -> str | None:
    """Callback for ``--region``: an AWS region name."""
    if value is not None and not _REGION.match(value):
        raise typer.BadParameter(f"{value!r} is not an AWS region name such as us-east-1")
    return value

"""``flightdeck aws role``: create the cross-account role with the customer's own credentials."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Create the cross-account role flightdeck assumes.")

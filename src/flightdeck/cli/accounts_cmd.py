"""Placeholder command group, filled in by its own issue."""

from __future__ import annotations

import typer

from flightdeck.cli import role_cmd, trust_policy_cmd

app = typer.Typer(no_args_is_help=True)
app.add_typer(trust_policy_cmd.app, name="trust-policy")
app.add_typer(role_cmd.app, name="role")

"""The ``flightdeck`` command: one root application, one module per command group."""

from __future__ import annotations

import sys

import typer

from flightdeck.cli import (
    auth_cmd,
    aws_cmd,
    cluster_cmd,
    db_cmd,
    deploy_cmd,
    deployment_cmd,
    dev_cmd,
    emulator_cmd,
    notifications_cmd,
    organization_cmd,
    quickstart_cmd,
    server_cmd,
    token_cmd,
    user_cmd,
    worker_cmd,
    workspace_cmd,
)
from flightdeck.cli.errors import CliError

app = typer.Typer(
    name="flightdeck",
    help="Run Apache Airflow in your own AWS account, managed from one control plane.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

quickstart_cmd.register(app)
auth_cmd.register(app)
server_cmd.register(app)
worker_cmd.register(app)
app.add_typer(db_cmd.app, name="db")
app.add_typer(organization_cmd.app, name="organization")
app.add_typer(workspace_cmd.app, name="workspace")
app.add_typer(user_cmd.app, name="user")
app.add_typer(token_cmd.app, name="token")
app.add_typer(aws_cmd.app, name="aws")
app.add_typer(cluster_cmd.app, name="cluster")
app.add_typer(deployment_cmd.app, name="deployment")
app.add_typer(deploy_cmd.app, name="deploy")
app.add_typer(notifications_cmd.app, name="notifications")
app.add_typer(emulator_cmd.app, name="emulator")
app.add_typer(dev_cmd.app, name="dev")


def main() -> None:
    """Entry point: a domain or usage error is one line on stderr and a non-zero exit."""
    try:
        app()
    except CliError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)

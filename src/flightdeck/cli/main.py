"""The ``flightdeck`` command: one root application, one module per command or group.

A module is named for its place in the command tree (``flightdeck aws role`` lives in
``aws_role_cmd.py``, ``flightdeck server`` in ``server_cmd.py``; ``auth_cmd.py`` holds
``signup``, ``login`` and ``logout``) and adds itself to its parent with
``register(parent)``: a group under its name, a top-level command directly.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

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
    reference_cmd,
    server_cmd,
    token_cmd,
    user_cmd,
    worker_cmd,
    workspace_cmd,
)
from flightdeck.cli.context import Invocation
from flightdeck.cli.errors import CliError

app = typer.Typer(
    name="flightdeck",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"flightdeck {version('flightdeck')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Run Apache Airflow in your own AWS account, managed from one control plane.

    Start with `flightdeck quickstart` to see it all work on this machine, or
    `flightdeck server` and `flightdeck signup` to run your own.
    """
    ctx.ensure_object(Invocation)


quickstart_cmd.register(app)
server_cmd.register(app)
auth_cmd.register(app)
organization_cmd.register(app)
workspace_cmd.register(app)
user_cmd.register(app)
token_cmd.register(app)
aws_cmd.register(app)
cluster_cmd.register(app)
reference_cmd.register(app)
deployment_cmd.register(app)
deploy_cmd.register(app)
dev_cmd.register(app)
notifications_cmd.register(app)
worker_cmd.register(app)
db_cmd.register(app)
emulator_cmd.register(app)


def _wants_json(args: list[str]) -> bool:
    """``--json`` among the command's own arguments (not after a ``--``)."""
    own = args[: args.index("--")] if "--" in args else args
    return "--json" in own


def _json_error(message: str, exit_code: int) -> None:
    """With ``--json`` a failure is a JSON object on stderr, so a script reads it as data."""
    typer.echo(json.dumps({"error": {"message": message, "exit_code": exit_code}}), err=True)
    sys.exit(exit_code)


def main() -> None:
    """Entry point: a domain or usage error is one line on stderr and a non-zero exit; with
    ``--json``, that line is a JSON object and the exit code is the same."""
    if not _wants_json(sys.argv[1:]):
        try:
            app()
        except CliError as exc:
            typer.echo(f"Error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        return
    try:
        code = app(standalone_mode=False)
    except CliError as exc:
        _json_error(exc.message, exc.exit_code)
    except typer.Abort:
        _json_error("aborted", 1)
    except typer.TyperException as exc:  # usage: a bad option or argument (exit 2)
        describe = getattr(exc, "format_message", None)
        _json_error(describe() if describe else str(exc), int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)

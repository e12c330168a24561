"""The ``flightdeck`` command: one root application, one module per command or group.

A module is named for its place in the command tree (``flightdeck aws role`` lives in
``aws_role_cmd.py``, ``flightdeck server`` in ``server_cmd.py``; ``auth_cmd.py`` holds
``signup``, ``login`` and ``logout``) and adds itself to its parent with
``register(parent)``: a group under its name, a top-level command directly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Annotated

import typer

from flightdeck.cli.context import Invocation
from flightdeck.cli.errors import CliError

# Each top-level command and the module that adds it (``register(parent)``), in the order
# they are registered. Only the module a command line names is imported, so a call such as
# `flightdeck aws policy compare` does not import (nor build the options of) every other
# command; `flightdeck --help`, no command or an unknown one registers them all.
COMMAND_MODULES: dict[str, str] = {
    "quickstart": "quickstart_cmd",
    "server": "server_cmd",
    "signup": "auth_cmd",
    "verify-email": "auth_cmd",
    "login": "auth_cmd",
    "logout": "auth_cmd",
    "organization": "organization_cmd",
    "workspace": "workspace_cmd",
    "user": "user_cmd",
    "token": "token_cmd",
    "aws": "aws_cmd",
    "cluster": "cluster_cmd",
    "reference": "reference_cmd",
    "deployment": "deployment_cmd",
    "deploy": "deploy_cmd",
    "dev": "dev_cmd",
    "notifications": "notifications_cmd",
    "alert": "alert_cmd",
    "worker": "worker_cmd",
    "db": "db_cmd",
    "emulator": "emulator_cmd",
}

_root = typer.Typer(
    name="flightdeck",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_registered: set[str] = set()


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"flightdeck {version('flightdeck')}")
        raise typer.Exit()


@_root.callback()
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


def build_app(argv: Sequence[str] | None = None) -> typer.Typer:
    """The root application with the command ``argv`` names registered (None: all)."""
    named = next((arg for arg in argv or () if not arg.startswith("-")), None)
    if argv is not None and named in COMMAND_MODULES:
        modules = [COMMAND_MODULES[named]]
    else:
        modules = list(dict.fromkeys(COMMAND_MODULES.values()))
    for module in modules:
        if module not in _registered:
            _registered.add(module)
            import_module(f"flightdeck.cli.{module}").register(_root)
    return _root


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command tree, for callers that run it in process (tests)."""
    if name == "app":
        return build_app()
    raise AttributeError(name)


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
    app = build_app(sys.argv[1:])
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

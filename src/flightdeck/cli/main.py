"""The ``flightdeck`` command: one root application, one module per command or group.

A module is named for its place in the command tree (``flightdeck aws role`` lives in
``aws_role_cmd.py``, ``flightdeck server`` in ``server_cmd.py``; ``auth_cmd.py`` holds
``signup``, ``login`` and ``logout``) and adds itself to its parent with
``register(parent)``: a group under its name, a top-level command directly.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module

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
    "deployment": "deployment_cmd",
    "deploy": "deploy_cmd",
    "dev": "dev_cmd",
    "notifications": "notifications_cmd",
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


@_root.callback()
def root(ctx: typer.Context) -> None:
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


def main() -> None:
    """Entry point: a domain or usage error is one line on stderr and a non-zero exit."""
    app = build_app(sys.argv[1:])
    try:
        app()
    except CliError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)

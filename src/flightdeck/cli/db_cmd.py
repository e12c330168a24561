"""`flightdeck db`: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Manage the control-plane database.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="db")


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from flightdeck.cli.output import success
    from flightdeck.cli.settings import load_settings
    from flightdeck.db import migrate

    url = load_settings().resolved_database_url
    migrate.upgrade(url, revision)
    success(f"database at revision {migrate.current_revision(url)}")


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")]) -> None:
    """Revert migrations down to REVISION."""
    from flightdeck.cli.output import success
    from flightdeck.cli.settings import load_settings
    from flightdeck.db import migrate

    url = load_settings().resolved_database_url
    migrate.downgrade(url, revision)
    success(f"database at revision {migrate.current_revision(url) or 'base'}")


@app.command()
def current(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the database's current revision."""
    from flightdeck.cli.output import print_json
    from flightdeck.cli.settings import load_settings
    from flightdeck.db import migrate

    revision = migrate.current_revision(load_settings().resolved_database_url)
    if json_output:
        print_json({"revision": revision})
    else:
        typer.echo(revision or "base (empty database)")

"""`flightdeck workspace`: list, create, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG, YES

app = typer.Typer(no_args_is_help=True, help="Workspaces of an organization.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="workspace")


@app.command("list")
def list_(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List the workspaces you can see."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/workspaces"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(
            rows,
            [("id", "ID"), ("name", "NAME"), ("created_at", "CREATED")],
            empty="No workspace yet; create one with `flightdeck workspace create NAME`.",
        )


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workspace name.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create a workspace (Organization Owners)."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    workspace = cli.client.post(cli.org_path("/workspaces"), json={"name": name})
    if cli.json_output:
        print_json(workspace)
    else:
        success(f"workspace {workspace['name']} created ({workspace['id']})")


@app.command()
def delete(
    ctx: typer.Context,
    workspace: Annotated[str, typer.Argument(help="Workspace id or name.")],
    org: ORG = None,
    yes: YES = False,
) -> None:
    """Delete a workspace (Workspace Admins and Organization Owners)."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    target = cli.workspace(workspace)
    if not yes:
        typer.confirm(f"Delete workspace {target['name']}?", abort=True)
    cli.client.delete(cli.org_path(f"/workspaces/{target['id']}"))
    success(f"workspace {target['name']} deleted")

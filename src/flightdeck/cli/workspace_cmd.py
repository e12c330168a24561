"""`flightdeck workspace`: list, create, delete."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Workspaces of an organization.")

JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ORG = Annotated[
    str | None,
    typer.Option(
        "--org", envvar="FLIGHTDECK_ORG", help="Organization id or name [default: your only one]."
    ),
]


@app.command("list")
def list_(org: ORG = None, json_output: JSON = False) -> None:
    """List the workspaces you can see."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_json, print_table

    client = ApiClient()
    rows = client.get(f"/organizations/{resolve_org(client, org)['id']}/workspaces")
    if json_output:
        print_json(rows)
    else:
        print_table(rows, [("id", "ID"), ("name", "NAME"), ("created_at", "CREATED")])


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Workspace name.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create a workspace (Organization Owners)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_json, success

    client = ApiClient()
    workspace = client.post(
        f"/organizations/{resolve_org(client, org)['id']}/workspaces", json={"name": name}
    )
    if json_output:
        print_json(workspace)
    else:
        success(f"workspace {workspace['name']} created ({workspace['id']})")


@app.command()
def delete(
    workspace: Annotated[str, typer.Argument(help="Workspace id or name.")],
    org: ORG = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a workspace (Workspace Admins and Organization Owners)."""
    from flightdeck.cli.client import ApiClient, resolve_org, resolve_workspace
    from flightdeck.cli.output import success

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    target = resolve_workspace(client, org_id, workspace)
    if not yes:
        typer.confirm(f"Delete workspace {target['name']}?", abort=True)
    client.delete(f"/organizations/{org_id}/workspaces/{target['id']}")
    success(f"workspace {target['name']} deleted")

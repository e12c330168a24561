"""`flightdeck organization`: list, create, show, and reveal the AWS external ID (Owners)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Organizations you belong to.")

JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ORG = Annotated[
    str | None,
    typer.Argument(
        help="Organization id or name [default: your only organization].",
        envvar="FLIGHTDECK_ORG",
        show_envvar=True,
    ),
]


@app.command("list")
def list_(json_output: JSON = False) -> None:
    """List your organizations and your role in each."""
    from flightdeck.cli.client import ApiClient
    from flightdeck.cli.output import print_json, print_table

    organizations = ApiClient().get("/organizations")
    if json_output:
        print_json(organizations)
    else:
        print_table(organizations, [("id", "ID"), ("name", "NAME"), ("role", "YOUR ROLE")])


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Organization name.")], json_output: JSON = False
) -> None:
    """Create an organization; you become its Owner."""
    from flightdeck.cli.client import ApiClient
    from flightdeck.cli.output import print_json, success

    org = ApiClient().post("/organizations", json={"name": name})
    if json_output:
        print_json(org)
    else:
        success(f"organization {org['name']} created ({org['id']}); you are its Owner")


@app.command()
def show(org: ORG = None, json_output: JSON = False) -> None:
    """Show an organization."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_fields, print_json

    client = ApiClient()
    data = client.get(f"/organizations/{resolve_org(client, org)['id']}")
    if json_output:
        print_json(data)
    else:
        print_fields(
            data, [("id", "ID"), ("name", "Name"), ("role", "Your role"), ("created_at", "Created")]
        )


@app.command("external-id")
def external_id(org: ORG = None, json_output: JSON = False) -> None:
    """Reveal the organization's AWS external ID (Organization Owners only; audited)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_json

    client = ApiClient()
    data = client.get(f"/organizations/{resolve_org(client, org)['id']}/aws-external-id")
    if json_output:
        print_json(data)
    else:
        typer.echo(data["external_id"])

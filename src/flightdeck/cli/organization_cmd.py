"""`flightdeck organization`: list, create, show, and reveal the AWS external ID (Owners)."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli import organization_sso_cmd
from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON

app = typer.Typer(no_args_is_help=True, help="Organizations you belong to.")
organization_sso_cmd.register(app)

ORG_ARGUMENT = Annotated[
    str | None,
    typer.Argument(
        help="Organization id or slug [default: your only organization].",
        envvar="FLIGHTDECK_ORG",
        show_envvar=True,
    ),
]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="organization")


@app.command("list")
def list_(ctx: typer.Context, json_output: JSON = False) -> None:
    """List your organizations and your role in each."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, json_output=json_output)
    organizations = cli.client.get("/organizations")
    if cli.json_output:
        print_json(organizations)
    else:
        print_table(
            organizations,
            [("slug", "SLUG"), ("name", "NAME"), ("role", "YOUR ROLE"), ("id", "ID")],
        )


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Organization name.")],
    json_output: JSON = False,
) -> None:
    """Create an organization; you become its Owner."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, json_output=json_output)
    org = cli.client.post("/organizations", json={"name": name})
    if cli.json_output:
        print_json(org)
    else:
        success(
            f"organization {org['name']} created (slug {org['slug']}, id {org['id']}); "
            f"you are its Owner; name it with `--org {org['slug']}`"
        )


@app.command()
def show(ctx: typer.Context, org: ORG_ARGUMENT = None, json_output: JSON = False) -> None:
    """Show an organization."""
    from flightdeck.cli.output import print_fields, print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path())
    if cli.json_output:
        print_json(data)
    else:
        print_fields(
            data,
            [
                ("id", "ID"),
                ("slug", "Slug"),
                ("name", "Name"),
                ("role", "Your role"),
                ("created_at", "Created"),
            ],
        )


@app.command("external-id")
def external_id(ctx: typer.Context, org: ORG_ARGUMENT = None, json_output: JSON = False) -> None:
    """Reveal the organization's AWS external ID (Organization Owners only; audited)."""
    from flightdeck.cli.output import print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path("/aws-external-id"))
    if cli.json_output:
        print_json(data)
    else:
        typer.echo(data["external_id"])

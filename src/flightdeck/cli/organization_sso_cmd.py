"""`flightdeck organization sso`: the organization's OpenID Connect identity providers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG

app = typer.Typer(
    no_args_is_help=True, help="Single sign-on: identity providers (Organization Owners)."
)

COLUMNS = [
    ("id", "ID"),
    ("issuer", "ISSUER"),
    ("client_id", "CLIENT ID"),
    ("domains", "DOMAINS"),
    ("default_role", "NEW USERS' ROLE"),
]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="sso")


@app.command("add")
def add(
    ctx: typer.Context,
    issuer: Annotated[str, typer.Option(help="The provider's issuer URL (discovery is read).")],
    client_id: Annotated[str, typer.Option(help="The client id the provider issued.")],
    domain: Annotated[
        list[str],
        typer.Option(
            "--domain", metavar="<domain>", help="An email domain it signs in (repeatable)."
        ),
    ],
    client_secret: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            envvar="FLIGHTDECK_SSO_CLIENT_SECRET",
            show_envvar=True,
            help="The client secret (asked for when not in the environment; sealed at rest).",
        ),
    ],
    role: Annotated[
        str, typer.Option("--role", help="Organization role of new users: member or owner.")
    ] = "member",
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Add an OpenID Connect identity provider for email domains (audited)."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    provider = cli.client.post(
        cli.org_path("/sso/providers"),
        json={
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": client_secret,
            "domains": domain,
            "default_role": role,
        },
    )
    if cli.json_output:
        print_json(provider)
    else:
        names = ", ".join(d["domain"] for d in provider["domains"])
        success(
            f"identity provider {provider['issuer']} added ({provider['id']}) for {names}; "
            f"new users join as {provider['default_role']}"
        )
        typer.echo("  each domain signs in once verified: publish its TXT record, then run")
        typer.echo("  `flightdeck organization sso verify-domain <domain>`")
        for claim in provider["domains"]:
            typer.echo(f'  {claim["txt_record_name"]}  TXT  "{claim["txt_record_value"]}"')


@app.command("list")
def list_(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List the organization's identity providers (never their secrets)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    providers = cli.client.get(cli.org_path("/sso/providers"))
    if cli.json_output:
        print_json(providers)
    else:
        rows = [
            p | {"domains": ", ".join(_domain_label(d) for d in p["domains"])} for p in providers
        ]
        print_table(rows, COLUMNS)


def _domain_label(claim: dict[str, Any]) -> str:
    return claim["domain"] if claim["verified"] else f"{claim['domain']} (unverified)"


@app.command("verify-domain")
def verify_domain(
    ctx: typer.Context,
    domain: Annotated[str, typer.Argument(help="A domain one of the providers claims.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Check the domain's TXT record (see `sso list --json`) through the server's resolver;
    once verified, the domain's users sign in with the provider (audited)."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    from urllib.parse import quote

    name = quote(domain.strip().lower(), safe="")
    claim = cli.client.post(cli.org_path(f"/sso/domains/{name}/verify"))
    if cli.json_output:
        print_json(claim)
    else:
        success(f"{claim['domain']} is verified: its users sign in with the organization's SSO")


@app.command("remove")
def remove(
    ctx: typer.Context,
    provider_id: Annotated[str, typer.Argument(help="Identity provider id (see `sso list`).")],
    org: ORG = None,
) -> None:
    """Remove an identity provider; its domains sign in with passwords again (audited)."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    cli.client.delete(cli.org_path(f"/sso/providers/{provider_id}"))
    success(f"identity provider {provider_id} removed")

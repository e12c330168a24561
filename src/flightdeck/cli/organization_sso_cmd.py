"""`flightdeck organization sso`: the organization's OpenID Connect identity providers."""

from __future__ import annotations

from enum import StrEnum
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


MAP = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="<group>=<role>",
        help="Map an IdP group to a role, applied at every sign-in (repeatable): "
        "GROUP=owner, GROUP=member, or GROUP=workspace:NAME:admin|member.",
    ),
]
GROUPS_CLAIM = Annotated[
    str, typer.Option(help="The ID token claim that lists the user's groups.")
]


def _rule(text: str) -> dict[str, str]:
    """``GROUP=owner`` or ``GROUP=workspace:NAME:ROLE``; the last ``=`` splits, so a group
    may itself hold one (an LDAP DN)."""
    from flightdeck.cli.errors import CliError

    group, _, target = text.rpartition("=")
    parts = target.split(":")
    if group and len(parts) == 1 and parts[0]:
        return {"group": group, "organization_role": parts[0]}
    if group and len(parts) == 3 and parts[0] == "workspace" and parts[1] and parts[2]:
        return {"group": group, "workspace": parts[1], "workspace_role": parts[2]}
    raise CliError(
        f"--map: {text!r} is not GROUP=owner, GROUP=member or GROUP=workspace:NAME:admin|member"
    )


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
    mapping: MAP = None,
    groups_claim: GROUPS_CLAIM = "groups",
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
            "groups_claim": groups_claim,
            "role_mapping": [_rule(item) for item in mapping or []],
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


@app.command("map")
def map_roles(
    ctx: typer.Context,
    provider_id: Annotated[str, typer.Argument(help="Identity provider id (see `sso list`).")],
    mapping: MAP = None,
    groups_claim: GROUPS_CLAIM = "groups",
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Replace a provider's group-to-role mapping (none given: clear it); it applies from
    each user's next sign-in (audited)."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    provider = cli.client.put(
        cli.org_path(f"/sso/providers/{provider_id}/role-mapping"),
        json={"groups_claim": groups_claim, "role_mapping": [_rule(m) for m in mapping or []]},
    )
    if cli.json_output:
        print_json(provider)
    else:
        count = len(provider["role_mapping"])
        success(
            f"{provider['issuer']}: {count} group rule{'s' if count != 1 else ''} on the "
            f"{provider['groups_claim']!r} claim, applied at each sign-in"
        )


class Switch(StrEnum):
    on = "on"
    off = "off"


@app.command("enforce")
def enforce(
    ctx: typer.Context,
    state: Annotated[Switch | None, typer.Argument(help="on or off; omitted: show it.")] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Enforce SSO: refuse password sign-in to the organization's members, break-glass
    Owners excepted (needs a verified domain; audited)."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    path = cli.org_path("/sso/enforcement")
    if state is None:
        result = cli.client.get(path)
    else:
        result = cli.client.put(path, json={"enforced": state == Switch.on})
    if cli.json_output:
        print_json(result)
        return
    owners = ", ".join(o["email"] for o in result["break_glass_owners"]) or "none"
    if result["enforced"]:
        success(f"SSO is enforced: members sign in with SSO only; break-glass Owners: {owners}")
    else:
        success(f"SSO is not enforced: passwords sign in too; break-glass Owners: {owners}")


@app.command("break-glass")
def break_glass(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="An Owner's email address.")],
    off: Annotated[bool, typer.Option("--off", help="Unmark the Owner instead.")] = False,
    org: ORG = None,
) -> None:
    """Mark an Owner as a break-glass account: their password keeps working while SSO is
    enforced, and each such sign-in is audited."""
    from flightdeck.cli.errors import CliError
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    wanted = email.strip().lower()
    members = [m for m in cli.client.get(cli.org_path("/members")) if m["email"] == wanted]
    if not members:
        raise CliError(f"email: {email} is not a member of this organization")
    result = cli.client.put(
        cli.org_path(f"/sso/break-glass/{members[0]['user_id']}"), json={"break_glass": not off}
    )
    if result["break_glass"]:
        success(f"{result['email']} is a break-glass Owner: their password opens enforced SSO")
    else:
        success(f"{result['email']} is no longer a break-glass account")


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

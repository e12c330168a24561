"""`flightdeck user`: invite, list, change roles, remove — in the organization or a workspace."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Members of an organization or workspace.")

JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ORG = Annotated[
    str | None,
    typer.Option(
        "--org", envvar="FLIGHTDECK_ORG", help="Organization id or name [default: your only one]."
    ),
]
WORKSPACE = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Act on this workspace's membership instead of the organization's.",
    ),
]


@app.command()
def invite(
    email: Annotated[str, typer.Argument(help="Email address to invite.")],
    role: Annotated[str, typer.Option(help="Organization role: owner or member.")] = "member",
    workspace: WORKSPACE = None,
    workspace_role: Annotated[
        str, typer.Option(help="Role in --workspace: admin or member.")
    ] = "member",
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Invite a user to the organization; they accept (or sign up) as the mail tells them."""
    from flightdeck.cli.client import ApiClient, resolve_org, resolve_workspace
    from flightdeck.cli.output import print_json, success

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    body: dict[str, str] = {"email": email, "role": role}
    if workspace:
        body["workspace_id"] = resolve_workspace(client, org_id, workspace)["id"]
        body["workspace_role"] = workspace_role
    result = client.post(f"/organizations/{org_id}/members", json=body)
    if json_output:
        print_json(result)
    else:
        success(f"invitation {result['invitation']['id']} sent to {email} (mailed: they "
                "accept it with `flightdeck user accept`, or sign up with its token)")
        typer.echo(
            f"  flightdeck signup --email {email} --invitation-token {result['invitation_token']}"
        )


@app.command("list")
def list_(workspace: WORKSPACE = None, org: ORG = None, json_output: JSON = False) -> None:
    """List members and their roles."""
    from flightdeck.cli.client import ApiClient, resolve_org, resolve_workspace
    from flightdeck.cli.output import print_json, print_table

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    path = f"/organizations/{org_id}/members"
    if workspace:
        ws_id = resolve_workspace(client, org_id, workspace)["id"]
        path = f"/organizations/{org_id}/workspaces/{ws_id}/members"
    rows = client.get(path)
    if json_output:
        print_json(rows)
    else:
        print_table(
            rows, [("user_id", "ID"), ("email", "EMAIL"), ("name", "NAME"), ("role", "ROLE")]
        )


@app.command()
def role(
    user: Annotated[str, typer.Argument(help="Member email or user id.")],
    new_role: Annotated[
        str, typer.Argument(metavar="ROLE", help="owner|member, or with --workspace admin|member.")
    ],
    workspace: WORKSPACE = None,
    org: ORG = None,
) -> None:
    """Change a member's role (an organization always keeps at least one Owner)."""
    from flightdeck.cli.client import ApiClient, resolve_member, resolve_org, resolve_workspace
    from flightdeck.cli.output import success

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    member = resolve_member(client, org_id, user)
    if workspace:
        ws = resolve_workspace(client, org_id, workspace)
        path = f"/organizations/{org_id}/workspaces/{ws['id']}/members"
        client.post(path, json={"user_id": member["user_id"], "role": new_role})
        success(f"{member['email']} is now {new_role} of workspace {ws['name']}")
    else:
        client.patch(
            f"/organizations/{org_id}/members/{member['user_id']}", json={"role": new_role}
        )
        success(f"{member['email']} is now {new_role}")


@app.command()
def remove(
    user: Annotated[str, typer.Argument(help="Member email or user id.")],
    workspace: WORKSPACE = None,
    org: ORG = None,
) -> None:
    """Remove a member from the organization (and its workspaces), or from one workspace."""
    from flightdeck.cli.client import ApiClient, resolve_member, resolve_org, resolve_workspace
    from flightdeck.cli.output import success

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    member = resolve_member(client, org_id, user)
    if workspace:
        ws = resolve_workspace(client, org_id, workspace)
        client.delete(f"/organizations/{org_id}/workspaces/{ws['id']}/members/{member['user_id']}")
        success(f"{member['email']} removed from workspace {ws['name']}")
    else:
        client.delete(f"/organizations/{org_id}/members/{member['user_id']}")
        success(f"{member['email']} removed from the organization")


@app.command()
def invitations(
    sent: Annotated[
        bool, typer.Option("--sent", help="The organization's open invitations (Owners).")
    ] = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Invitations waiting for you (or, with --sent, the ones your organization sent)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_json, print_table

    client = ApiClient()
    if sent:
        rows = client.get(f"/organizations/{resolve_org(client, org)['id']}/invitations")
        columns = [("id", "ID"), ("email", "EMAIL"), ("role", "ROLE"), ("expires_at", "EXPIRES")]
    else:
        rows = client.get("/me/invitations")
        columns = [("id", "ID"), ("organization_name", "ORGANIZATION"), ("role", "ROLE"),
                   ("expires_at", "EXPIRES")]
    if json_output:
        print_json(rows)
    else:
        print_table(rows, columns)


@app.command()
def accept(
    invitation: Annotated[
        str, typer.Argument(help="Invitation id (`flightdeck user invitations`).")
    ],
) -> None:
    """Accept an invitation addressed to you: you join its organization."""
    from flightdeck.cli.client import ApiClient
    from flightdeck.cli.output import success

    member = ApiClient().post(f"/me/invitations/{invitation}/accept")
    success(f"joined as {member['role']}")


@app.command("revoke-invitation")
def revoke_invitation(
    invitation: Annotated[str, typer.Argument(help="Invitation id (`user invitations --sent`).")],
    org: ORG = None,
) -> None:
    """Revoke an open invitation of your organization (Owners)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import success

    client = ApiClient()
    revoked = client.delete(
        f"/organizations/{resolve_org(client, org)['id']}/invitations/{invitation}"
    )
    success(f"invitation for {revoked['email']} revoked")

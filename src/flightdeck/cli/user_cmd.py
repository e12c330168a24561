"""`flightdeck user`: invite, list, change roles, remove — in the organization or a workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG

app = typer.Typer(no_args_is_help=True, help="Members of an organization or workspace.")

# Not options.WORKSPACE: here it chooses whose membership a command acts on.
WORKSPACE = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Act on this workspace's membership instead of the organization's.",
    ),
]
USER = Annotated[str, typer.Argument(help="Member email or user id.")]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="user")


@app.command()
def invite(
    ctx: typer.Context,
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
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    body: dict[str, str] = {"email": email, "role": role}
    if workspace:
        body["workspace_id"] = cli.workspace(workspace)["id"]
        body["workspace_role"] = workspace_role
    result = cli.client.post(cli.org_path("/members"), json=body)
    if cli.json_output:
        print_json(result)
    else:
        success(f"invitation {result['invitation']['id']} sent to {email} (mailed: they "
                "accept it with `flightdeck user accept`, or sign up with its token)")
        typer.echo(
            f"  flightdeck signup --email {email} --invitation-token {result['invitation_token']}"
        )


@app.command("list")
def list_(
    ctx: typer.Context, workspace: WORKSPACE = None, org: ORG = None, json_output: JSON = False
) -> None:
    """List members and their roles."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    path = cli.org_path("/members")
    if workspace:
        path = cli.org_path(f"/workspaces/{cli.workspace(workspace)['id']}/members")
    rows = cli.client.get(path)
    if cli.json_output:
        print_json(rows)
    else:
        print_table(
            rows, [("user_id", "ID"), ("email", "EMAIL"), ("name", "NAME"), ("role", "ROLE")]
        )


@app.command()
def role(
    ctx: typer.Context,
    user: USER,
    new_role: Annotated[
        str, typer.Argument(metavar="ROLE", help="owner|member, or with --workspace admin|member.")
    ],
    workspace: WORKSPACE = None,
    org: ORG = None,
) -> None:
    """Change a member's role (an organization always keeps at least one Owner)."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    member = cli.member(user)
    if workspace:
        ws = cli.workspace(workspace)
        cli.client.post(
            cli.org_path(f"/workspaces/{ws['id']}/members"),
            json={"user_id": member["user_id"], "role": new_role},
        )
        success(f"{member['email']} is now {new_role} of workspace {ws['name']}")
    else:
        cli.client.patch(cli.org_path(f"/members/{member['user_id']}"), json={"role": new_role})
        success(f"{member['email']} is now {new_role}")


@app.command()
def remove(
    ctx: typer.Context, user: USER, workspace: WORKSPACE = None, org: ORG = None
) -> None:
    """Remove a member from the organization (and its workspaces), or from one workspace."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    member = cli.member(user)
    if workspace:
        ws = cli.workspace(workspace)
        cli.client.delete(cli.org_path(f"/workspaces/{ws['id']}/members/{member['user_id']}"))
        success(f"{member['email']} removed from workspace {ws['name']}")
    else:
        cli.client.delete(cli.org_path(f"/members/{member['user_id']}"))
        success(f"{member['email']} removed from the organization")


@app.command()
def invitations(
    ctx: typer.Context,
    sent: Annotated[
        bool, typer.Option("--sent", help="The organization's open invitations (Owners).")
    ] = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Invitations waiting for you (or, with --sent, the ones your organization sent)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    if sent:
        rows = cli.client.get(cli.org_path("/invitations"))
        columns = [("id", "ID"), ("email", "EMAIL"), ("role", "ROLE"), ("expires_at", "EXPIRES")]
    else:
        rows = cli.client.get("/me/invitations")
        columns = [("id", "ID"), ("organization_name", "ORGANIZATION"), ("role", "ROLE"),
                   ("expires_at", "EXPIRES")]
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, columns)


@app.command()
def accept(
    ctx: typer.Context,
    invitation: Annotated[
        str, typer.Argument(help="Invitation id (`flightdeck user invitations`).")
    ],
) -> None:
    """Accept an invitation addressed to you: you join its organization."""
    from flightdeck.cli.output import success

    member = invocation(ctx).client.post(f"/me/invitations/{invitation}/accept")
    success(f"joined as {member['role']}")


@app.command("revoke-invitation")
def revoke_invitation(
    ctx: typer.Context,
    invitation: Annotated[str, typer.Argument(help="Invitation id (`user invitations --sent`).")],
    org: ORG = None,
) -> None:
    """Revoke an open invitation of your organization (Owners)."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    revoked = cli.client.delete(cli.org_path(f"/invitations/{invitation}"))
    success(f"invitation for {revoked['email']} revoked")

"""`flightdeck aws account`: the AWS accounts registered with the organization."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli import options
from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG, account_ref

app = typer.Typer(no_args_is_help=True, help="AWS accounts registered with your organization.")

ACCOUNT = Annotated[str, typer.Argument(
    help="12-digit AWS account ID (or its flightdeck id).", callback=account_ref)]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="account")


def _exit_if_failed(account: dict[str, object]) -> None:
    if account["status"] == "failed":
        raise typer.Exit(1)


@app.command("add")
def add(
    ctx: typer.Context,
    account_id: Annotated[
        str, typer.Argument(help="12-digit AWS account ID.", callback=options.account_id)],
    role_arn: Annotated[str | None, typer.Option(
        help="Role ARN [default: arn:aws:iam::<account>:role/flightdeck-remote-management].")
    ] = None,
    verify: Annotated[bool, typer.Option(help="Verify the role right away.")] = True,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Register an AWS account's cross-account role (Organization Owners)."""
    from flightdeck.cli.output import print_checks, print_json, success

    cli = invocation(ctx, org, json_output)
    body = {"account_id": account_id, "role_arn": role_arn}
    account = cli.client.post(cli.org_path("/aws/accounts"),
                              json={k: v for k, v in body.items() if v is not None})
    if verify:
        account = cli.client.post(cli.org_path(f"/aws/accounts/{account['id']}/verify"))
    if cli.json_output:
        print_json(account)
    else:
        success(f"account {account['account_id']} registered ({account['role_arn']})")
        if verify:
            print_checks(account["checks"], title="Verification")
    if verify:
        _exit_if_failed(account)


@app.command("hosted")
def hosted(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """Hosted mode: get a platform-owned AWS account for your clusters (Owners)."""
    from flightdeck.cli.output import print_checks, print_json, success

    cli = invocation(ctx, org, json_output)
    account = cli.client.post(cli.org_path("/aws/hosted-account"))
    if cli.json_output:
        print_json(account)
    else:
        success(f"hosted account {account['account_id']} ready ({account['status']})")
        print_checks(account["checks"], title="Verification")
    _exit_if_failed(account)


@app.command("verify")
def verify(
    ctx: typer.Context, account: ACCOUNT, org: ORG = None, json_output: JSON = False
) -> None:
    """Assume the role with the external ID and check trust policy and permissions."""
    from flightdeck.cli.output import print_checks, print_json

    cli = invocation(ctx, org, json_output)
    result = cli.client.post(cli.org_path(f"/aws/accounts/{account}/verify"))
    if cli.json_output:
        print_json(result)
    else:
        print_checks(result["checks"],
                     title=f"Account {result['account_id']}: {result['status']}")
    _exit_if_failed(result)


@app.command("list")
def list_(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List the organization's AWS accounts and their verification status."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/aws/accounts"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("account_id", "ACCOUNT"), ("status", "STATUS"),
                           ("role_arn", "ROLE"), ("verified_at", "VERIFIED")],
                    empty="No AWS account registered yet; create its role with "
                          "`flightdeck aws role create` or add one with "
                          "`flightdeck aws account add`.")

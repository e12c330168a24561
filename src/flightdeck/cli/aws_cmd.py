"""`flightdeck aws`: the cross-account role, the organization's AWS accounts, and the
trust-policy checker for security reviewers."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli import (
    aws_monitor_cmd,
    aws_pattern_cmd,
    aws_policy_cmd,
    aws_role_cmd,
    aws_trust_policy_cmd,
)

app = typer.Typer(
    no_args_is_help=True,
    help="AWS: onboard accounts through the cross-account role, govern and monitor the role, "
    "compare policies and test filter patterns.",
)
app.add_typer(aws_trust_policy_cmd.app, name="trust-policy")
app.add_typer(aws_role_cmd.app, name="role")
app.add_typer(aws_pattern_cmd.app, name="pattern")
app.add_typer(aws_monitor_cmd.app, name="monitor")
app.add_typer(aws_policy_cmd.app, name="policy")

account_app = typer.Typer(no_args_is_help=True,
                          help="AWS accounts registered with your organization.")
app.add_typer(account_app, name="account")

JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ORG = Annotated[str | None, typer.Option(
    "--org", envvar="FLIGHTDECK_ORG", help="Organization id or name [default: your only one].")]
ACCOUNT = Annotated[str, typer.Argument(help="12-digit AWS account ID (or its flightdeck id).")]


def _exit_for(report_status: str) -> None:
    if report_status == "fail":
        raise typer.Exit(1)


@account_app.command("add")
def add(
    account_id: Annotated[str, typer.Argument(help="12-digit AWS account ID.")],
    role_arn: Annotated[str | None, typer.Option(
        help="Role ARN [default: arn:aws:iam::<account>:role/flightdeck-remote-management].")
    ] = None,
    verify: Annotated[bool, typer.Option(help="Verify the role right away.")] = True,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Register an AWS account's cross-account role (Organization Owners)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_checks, print_json, success

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    body = {"account_id": account_id, "role_arn": role_arn}
    account = client.post(f"/organizations/{org_id}/aws/accounts",
                          json={k: v for k, v in body.items() if v is not None})
    if verify:
        account = client.post(f"/organizations/{org_id}/aws/accounts/{account['id']}/verify")
    if json_output:
        print_json(account)
    else:
        success(f"account {account['account_id']} registered ({account['role_arn']})")
        if verify:
            print_checks(account["checks"], title="Verification")
    if verify:
        _exit_for("fail" if account["status"] == "failed" else "pass")


@account_app.command("hosted")
def hosted(org: ORG = None, json_output: JSON = False) -> None:
    """Hosted mode: get a platform-owned AWS account for your clusters (Owners)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_checks, print_json, success

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    account = client.post(f"/organizations/{org_id}/aws/hosted-account")
    if json_output:
        print_json(account)
    else:
        success(f"hosted account {account['account_id']} ready ({account['status']})")
        print_checks(account["checks"], title="Verification")
    _exit_for("fail" if account["status"] == "failed" else "pass")


@account_app.command("verify")
def verify(account: ACCOUNT, org: ORG = None, json_output: JSON = False) -> None:
    """Assume the role with the external ID and check trust policy and permissions."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_checks, print_json

    client = ApiClient()
    org_id = resolve_org(client, org)["id"]
    result = client.post(f"/organizations/{org_id}/aws/accounts/{account}/verify")
    if json_output:
        print_json(result)
    else:
        print_checks(result["checks"],
                     title=f"Account {result['account_id']}: {result['status']}")
    _exit_for("fail" if result["status"] == "failed" else "pass")


@account_app.command("list")
def list_(org: ORG = None, json_output: JSON = False) -> None:
    """List the organization's AWS accounts and their verification status."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_json, print_table

    client = ApiClient()
    rows = client.get(f"/organizations/{resolve_org(client, org)['id']}/aws/accounts")
    if json_output:
        print_json(rows)
    else:
        print_table(rows, [("account_id", "ACCOUNT"), ("status", "STATUS"),
                           ("role_arn", "ROLE"), ("verified_at", "VERIFIED")])


@app.command("setup")
def setup(org: ORG = None, json_output: JSON = False) -> None:
    """Show how to create the role: quick-create link, template URL, CLI command (Owners)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_fields, print_json

    client = ApiClient()
    data = client.get(f"/organizations/{resolve_org(client, org)['id']}/aws/role-setup")
    if json_output:
        print_json(data)
        return
    print_fields(data, [("platform_account_id", "Platform account"), ("role_name", "Role"),
                        ("policy_name", "Policy"), ("policy_version", "Policy version"),
                        ("template_url", "Template"), ("quick_create_url", "Quick-create"),
                        ("cli_command", "Or run")])

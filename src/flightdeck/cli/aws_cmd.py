"""`flightdeck aws`: the cross-account role, the organization's AWS accounts, and the
offline checkers (trust policy, policy comparison, filter patterns) for security reviewers."""

from __future__ import annotations

import typer

from flightdeck.cli import (
    aws_account_cmd,
    aws_monitor_cmd,
    aws_pattern_cmd,
    aws_peering_cmd,
    aws_policy_cmd,
    aws_role_cmd,
    aws_trust_policy_cmd,
)
from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG

app = typer.Typer(
    no_args_is_help=True,
    help="AWS: onboard accounts through the cross-account role, govern and monitor the role, "
    "accept VPC peerings, compare policies and test filter patterns.",
)
aws_trust_policy_cmd.register(app)
aws_role_cmd.register(app)
aws_pattern_cmd.register(app)
aws_monitor_cmd.register(app)
aws_policy_cmd.register(app)
aws_account_cmd.register(app)
aws_peering_cmd.register(app)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="aws")


@app.command("setup")
def setup(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """Show how to create the role: quick-create link, template URL, CLI command (Owners)."""
    from flightdeck.cli.output import print_fields, print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path("/aws/role-setup"))
    if cli.json_output:
        print_json(data)
        return
    if not data.get("quick_create_url"):
        data = {**data, "quick_create_url": data.get("note") or "not available; use the command "
                "below"}
    print_fields(data, [("platform_account_id", "Platform account"), ("role_name", "Role"),
                        ("policy_name", "Policy"), ("policy_version", "Policy version"),
                        ("template_url", "Template"), ("quick_create_url", "Quick-create"),
                        ("cli_command", "Or run")])

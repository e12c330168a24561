"""``flightdeck aws policy changes``: pending and past changes of the role's policy.

Kept apart from ``aws_policy_cmd`` (offline comparison) because it talks to the control
plane; ``register`` adds the command to the ``aws policy`` group.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG, account_ref


def register(parent: typer.Typer) -> None:
    """Add ``changes`` to the ``aws policy`` command group."""
    parent.command("changes")(changes)


def changes(
    ctx: typer.Context,
    org: ORG = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="Only this AWS account (12-digit ID or flightdeck id), with its timeline.",
            callback=lambda value: None if value is None else account_ref(value),
        ),
    ] = None,
    show_diff: Annotated[
        bool, typer.Option("--diff", help="Print each pending change's policy diff.")
    ] = False,
    json_output: JSON = False,
) -> None:
    """List pending and past changes of the cross-account role's policy (Owners and Admins).

    An expanding version takes effect 14 days after the last Owner received its notice
    (EFFECTIVE is empty until then); a reducing version applies at once. Also shows each
    account's version in force and any out-of-band change found on the role.
    """
    from flightdeck.cli.output import print_json

    cli = invocation(ctx, org, json_output)
    data: dict[str, Any] = cli.client.get(cli.org_path("/aws/policy-changes"))
    if account is not None:
        data = _only_account(data, account)
        data["events"] = cli.client.get(cli.org_path(f"/aws/accounts/{account}/events"))
    if cli.json_output:
        print_json(data)
        return
    _print(data, show_diff)


def _only_account(data: dict[str, Any], account: str) -> dict[str, Any]:
    from flightdeck.cli.errors import CliError

    accounts = [a for a in data["accounts"] if account in (a["account_id"], a["id"])]
    if not accounts:
        known = ", ".join(a["account_id"] for a in data["accounts"]) or "none registered"
        raise CliError(f"--account: no AWS account {account} in this organization ({known})")
    ref = accounts[0]["id"]
    return {
        **data,
        "accounts": accounts,
        "changes": [c for c in data["changes"] if c["aws_account_ref"] == ref],
    }


def _print(data: dict[str, Any], show_diff: bool) -> None:
    from rich.console import Console

    from flightdeck.cli.output import print_table

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]Latest published policy version[/bold]  {data['latest_version']}")
    print_table(
        data["accounts"],
        [("account_id", "ACCOUNT"), ("policy_version", "IN FORCE"), ("checked_at", "CHECKED")],
        empty="No AWS account is registered, so no role policy is governed yet; add one with "
        "`flightdeck aws account add`.",
    )
    for account in data["accounts"]:
        for drift in account["drift"]:
            console.print(f"[red]![/red] {account['account_id']}: {drift['message']}")
        if account.get("last_error"):
            console.print(f"[yellow]![/yellow] {account['account_id']}: {account['last_error']}")
    console.print()
    print_table(
        data["changes"],
        [
            ("account_id", "ACCOUNT"),
            ("from_version", "FROM"),
            ("to_version", "TO"),
            ("kind", "KIND"),
            ("status", "STATUS"),
            ("effective_at", "EFFECTIVE"),
            ("applied_at", "APPLIED"),
        ],
        title="Policy changes",
        empty="No policy change, pending or past: each account keeps the role policy version "
        "shown above until flightdeck publishes a new one.",
    )
    for change in data["changes"]:
        if change["status"] in ("applied", "superseded"):
            continue
        console.print(
            f"\n[bold]{change['account_id']}: {change['from_version']} → "
            f"{change['to_version']} ({change['kind']}, {change['status']})[/bold]"
        )
        if change["status"] == "pending-notice":
            console.print(
                "Waiting for every Owner's notice to be delivered; takes effect 14 days later."
            )
        console.print(change["summary"])
        if change.get("example"):
            example = change["example"]
            console.print(
                f"Newly allowed, for example: {example.get('action')} on {example.get('resource')}"
            )
        if change.get("last_error"):
            console.print(f"[yellow]Last error:[/yellow] {change['last_error']}")
        if show_diff:
            console.print(change["diff"], markup=False)
    if "events" in data:
        console.print()
        print_table(
            data["events"],
            [("created_at", "WHEN"), ("kind", "EVENT"), ("message", "MESSAGE")],
            title="Timeline",
            empty="Nothing has happened to this account's role policy yet.",
        )


"""`flightdeck notifications`: the organization's email outbox."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Notifications sent (or queued) to Owners.")


@app.command("list")
def list_(
    org: Annotated[str | None, typer.Option("--org", envvar="FLIGHTDECK_ORG",
                                            help="Organization id or name.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List notifications, newest first (the embedded default keeps mail here, unsent)."""
    from flightdeck.cli.client import ApiClient, resolve_org
    from flightdeck.cli.output import print_json, print_table

    client = ApiClient()
    rows = client.get(f"/organizations/{resolve_org(client, org)['id']}/notifications")
    if json_output:
        print_json(rows)
    else:
        print_table(rows, [("created_at", "CREATED"), ("recipient", "TO"),
                           ("subject", "SUBJECT"), ("status", "STATUS")])

"""`flightdeck notifications`: the organization's email outbox."""

from __future__ import annotations

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG

app = typer.Typer(no_args_is_help=True, help="Notifications sent (or queued) to Owners.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="notifications")


@app.command("list")
def list_(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List notifications, newest first (the embedded default keeps mail here, unsent)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/notifications"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("created_at", "CREATED"), ("recipient", "TO"),
                           ("subject", "SUBJECT"), ("status", "STATUS")])

"""`flightdeck token`: API tokens for the CLI and CI."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON

app = typer.Typer(no_args_is_help=True, help="Your API tokens (for CI and scripts).")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="token")


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name to recognise the token by.")],
    expires_in_days: Annotated[int | None, typer.Option(help="Expire after N days.")] = None,
    json_output: JSON = False,
) -> None:
    """Create a token. It is printed once; only its hash is stored."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, json_output=json_output)
    body: dict[str, object] = {"name": name}
    if expires_in_days is not None:
        body["expires_in_days"] = expires_in_days
    created = cli.client.post("/tokens", json=body)
    if cli.json_output:
        print_json(created)
        return
    success(f"token {created['name']} created; copy it now, it is not shown again:")
    typer.echo(created["token"])


@app.command("list")
def list_(ctx: typer.Context, json_output: JSON = False) -> None:
    """List your tokens (never their values)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, json_output=json_output)
    rows = cli.client.get("/tokens")
    if cli.json_output:
        print_json(rows)
        return
    for row in rows:
        row["state"] = "revoked" if row["revoked_at"] else "active"
        row["prefix"] = row["prefix"] + "…"
    print_table(
        rows,
        [
            ("id", "ID"),
            ("name", "NAME"),
            ("prefix", "TOKEN"),
            ("state", "STATE"),
            ("expires_at", "EXPIRES"),
            ("last_used_at", "LAST USED"),
        ],
    )


@app.command()
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="Token id (see `token list`).")],
) -> None:
    """Revoke a token at once."""
    from flightdeck.cli.output import success

    revoked = invocation(ctx).client.delete(f"/tokens/{token_id}")
    success(f"token {revoked['name']} revoked")

"""`flightdeck notifications`: the organization's email outbox, or (``--local``) every mail
in this machine's data directory, sign-up verification and invitations included."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG

app = typer.Typer(no_args_is_help=True, help="Notifications sent (or queued) by email.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="notifications")


@app.command("list")
def list_(
    ctx: typer.Context,
    org: ORG = None,
    local: Annotated[bool, typer.Option(
        "--local",
        help="Read the outbox straight from the control plane's database on this machine "
        "(FLIGHTDECK_DATA_DIR or FLIGHTDECK_DATABASE_URL): every recipient's mail, with its "
        "text. Needs access to the data directory; no sign-in.")] = False,
    to: Annotated[str | None, typer.Option(
        "--to", help="With --local: only mail to this address.")] = None,
    json_output: JSON = False,
) -> None:
    """List notifications, newest first (the embedded default keeps mail here, unsent)."""
    from flightdeck.cli.output import print_json, print_table

    if local:
        rows = _local_outbox(to)
        if json_output:
            print_json(rows)
            return
        for row in rows:
            typer.echo(f"--- {row['created_at']}  to {row['recipient']}  [{row['status']}]")
            typer.echo(f"Subject: {row['subject']}\n\n{row['body']}\n")
        if not rows:
            typer.echo("the outbox is empty")
        return

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/notifications"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("created_at", "CREATED"), ("recipient", "TO"),
                           ("subject", "SUBJECT"), ("status", "STATUS")])


def _local_outbox(recipient: str | None) -> list[dict[str, Any]]:
    from flightdeck.cli.errors import CliError
    from flightdeck.cli.settings import load_settings
    from flightdeck.db.engine import make_engine, make_session_factory
    from flightdeck.services.errors import InvalidInput
    from flightdeck.services.notifications import list_outbox
    from flightdeck.services.validation import normalise_email

    try:
        wanted = normalise_email(recipient) if recipient else None
    except InvalidInput as exc:
        raise CliError(exc.message.replace("email:", "--to:", 1)) from None
    settings = load_settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite") and not (settings.data_dir / "flightdeck.db").exists() \
            and not settings.database_url:
        raise CliError(f"no control-plane database in {settings.data_dir}; start "
                       "`flightdeck server` (or set FLIGHTDECK_DATA_DIR to its data directory)")
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            mails = list_outbox(session, wanted)
            return [
                {"id": m.id, "created_at": m.created_at.isoformat(timespec="seconds"),
                 "recipient": m.recipient, "subject": m.subject, "body": m.body,
                 "kind": m.kind, "status": m.status}
                for m in mails
            ]
    except Exception as exc:  # an unreadable or unmigrated database: one line, no traceback
        raise CliError(f"could not read the outbox at {url.split('@')[-1]}: "
                       f"{type(exc).__name__}") from None
    finally:
        engine.dispose()

"""`flightdeck alert`: alert rules on DAGs and Deployments, their channels, tests and
deliveries (docs/alerts.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.options import JSON, ORG
from flightdeck.services.alerts.kinds import KIND_DESCRIPTIONS, ChannelKind

KINDS_HELP = "; ".join(f"{kind}: {text}" for kind, text in KIND_DESCRIPTIONS.items())

app = typer.Typer(
    no_args_is_help=True,
    help="Alerts when DAGs fail, succeed, run long or late, and when a Deployment turns "
    "Unhealthy.",
)
channel_app = typer.Typer(no_args_is_help=True, help="Where alerts go: email, webhook, Slack, "
                          "PagerDuty (Organization Owners).")
app.add_typer(channel_app, name="channel")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="alert")


RULE_COLUMNS = [("name", "NAME"), ("kind", "KIND"), ("scope", "SCOPE"), ("dag_glob", "DAGS"),
                ("condition", "WHEN"), ("channels", "CHANNELS")]
DELIVERY_COLUMNS = [("created_at", "CREATED"), ("transport", "VIA"), ("recipient", "TO"),
                    ("subject", "SUBJECT"), ("status", "STATUS"), ("attempts", "TRIES"),
                    ("last_error", "LAST ERROR")]


def _condition(rule: dict[str, Any]) -> str:
    if rule["minutes"]:
        return f"> {rule['minutes']} min"
    if rule["deadline"]:
        return f"by {rule['deadline']} {rule['timezone']}"
    return ""


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the rule.")],
    kind: Annotated[str, typer.Option("--kind", help=f"What to alert on. {KINDS_HELP}.")],
    channel: Annotated[list[str], typer.Option(
        "--channel", help="A channel name (repeat for several; see `alert channel list`).")],
    workspace: Annotated[str | None, typer.Option(
        "--workspace", help="Only this workspace's Deployments [default: the organization].")
    ] = None,
    deployment: Annotated[str | None, typer.Option(
        "--deployment", help="Only this Deployment.")] = None,
    dag: Annotated[str, typer.Option(
        "--dag", help="DAG ids to watch, a glob such as 'etl_*'.")] = "*",
    minutes: Annotated[int | None, typer.Option(
        "--minutes", help="task-duration: alert when a task runs longer than this.")] = None,
    deadline: Annotated[str | None, typer.Option(
        "--deadline", help="dag-deadline: HH:MM by which a successful run must finish.")
    ] = None,
    timezone: Annotated[str | None, typer.Option(
        "--timezone", help="dag-deadline: the deadline's IANA time zone [default: UTC].")
    ] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create an alert rule for the organization, a workspace or one Deployment."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    rule = cli.client.post(cli.org_path("/alert-rules"), json={
        "name": name, "kind": kind, "channels": channel, "workspace": workspace,
        "deployment": deployment, "dag_glob": dag, "minutes": minutes, "deadline": deadline,
        "timezone": timezone})
    if cli.json_output:
        print_json(rule)
        return
    success(f"rule {rule['name']} created ({rule['kind']}, {rule['scope']}); try it with "
            f"`flightdeck alert test {rule['name']}`")


@app.command("list")
def list_(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List the alert rules you can see."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/alert-rules"))
    if cli.json_output:
        print_json(rows)
        return
    for row in rows:
        row["condition"] = _condition(row)
        row["channels"] = ", ".join(row["channels"])
    print_table(rows, RULE_COLUMNS)


@app.command()
def delete(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name or id.")],
    org: ORG = None,
) -> None:
    """Delete an alert rule."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    cli.client.delete(cli.org_path(f"/alert-rules/{rule}"))
    success(f"rule {rule} deleted")


@app.command("test")
def test_(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="RULE|CHANNEL", help="A rule or channel name.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Send a sample alert through a rule's channels, or to one channel."""
    from flightdeck.cli.errors import CliError
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    if any(ref in (r["name"], r["id"]) for r in cli.client.get(cli.org_path("/alert-rules"))):
        path = f"/alert-rules/{ref}/test"
    elif any(ref in (c["name"], c["id"])
             for c in cli.client.get(cli.org_path("/alert-channels"))):
        path = f"/alert-channels/{ref}/test"
    else:
        raise CliError(f"no rule or channel {ref!r} in this organization; see "
                       "`flightdeck alert list` and `flightdeck alert channel list`")
    queued = cli.client.post(cli.org_path(path))
    if cli.json_output:
        print_json(queued)
        return
    for row in queued:
        success(f"sample queued to {row['recipient']} ({row['transport']})")
    typer.echo("follow its delivery with `flightdeck alert deliveries`")


@app.command()
def deliveries(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """Each alert delivery and its status, newest first (Organization Owners)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/alert-deliveries"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, DELIVERY_COLUMNS)


@channel_app.command("create")
def channel_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the channel.")],
    kind: Annotated[str, typer.Option(
        "--kind", help=f"One of {', '.join(k.value for k in ChannelKind)}.")],
    target: Annotated[str, typer.Option(
        "--target", help="The email address, or the webhook / Slack / PagerDuty URL.")] = "",
    routing_key: Annotated[str | None, typer.Option(
        "--routing-key", help="pagerduty: the Events API v2 integration key.")] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create a channel. A webhook's signing secret is printed once; copy it then."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    created = cli.client.post(cli.org_path("/alert-channels"), json={
        "name": name, "kind": kind, "target": target, "routing_key": routing_key})
    if cli.json_output:
        print_json(created)
        return
    success(f"channel {created['name']} created ({created['kind']} to {created['target']})")
    if created.get("signing_secret"):
        typer.echo("its signing secret (verify Flightdeck-Signature with it; not shown again):")
        typer.echo(created["signing_secret"])


@channel_app.command("list")
def channel_list(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List the organization's channels (never their secrets)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/alert-channels"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("name", "NAME"), ("kind", "KIND"), ("target", "TARGET")])


@channel_app.command("delete")
def channel_delete(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="Channel name or id.")],
    org: ORG = None,
) -> None:
    """Delete a channel no rule uses."""
    from flightdeck.cli.output import success

    cli = invocation(ctx, org)
    cli.client.delete(cli.org_path(f"/alert-channels/{channel}"))
    success(f"channel {channel} deleted")

"""`flightdeck cluster`: preflight, create, list, get, plan, delete — with --watch — and
`peering` (cluster_peering_cmd)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flightdeck.aws import reference
from flightdeck.cli import cluster_peering_cmd
from flightdeck.cli.context import Invocation, invocation
from flightdeck.cli.options import JSON, ORG, YES, account_ref

app = typer.Typer(no_args_is_help=True, help="Clusters: the data planes in your AWS accounts.")
cluster_peering_cmd.register(app)

CLUSTER = Annotated[str, typer.Argument(help="Cluster name or id.")]
WATCH = Annotated[bool, typer.Option("--watch", "-w", help="Show live progress until done.")]
ACCOUNT = Annotated[str, typer.Option(
    "--account", help="12-digit AWS account ID (or its flightdeck id).", callback=account_ref)]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="cluster")


@app.command()
def preflight(
    ctx: typer.Context,
    account: ACCOUNT,
    region: Annotated[str, typer.Option(help="AWS region.")] = reference.DEFAULT_REGION,
    cidr: Annotated[str, typer.Option("--cidr", help="VPC CIDR for the cluster.")] =
        reference.DEFAULT_VPC_CIDR,
    peer_cidr: Annotated[list[str] | None, typer.Option(
        "--peer-cidr", help="CIDR of a VPC you will peer with (repeatable).")] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Check quotas, a clean account, permissions, the region and the CIDR; exit 1 on failure."""
    from flightdeck.cli.output import print_checks, print_json

    cli = invocation(ctx, org, json_output)
    report = cli.client.post(
        cli.org_path(f"/aws/accounts/{account}/preflight"),
        json={"region": region, "vpc_cidr": cidr, "peer_cidrs": peer_cidr or []},
    )
    if cli.json_output:
        print_json(report)
    else:
        print_checks(report["checks"], title=f"Preflight for {account} in {region}: "
                                              f"{report['status']}")
    if report["status"] == "fail":
        raise typer.Exit(1)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Cluster name.")],
    account: ACCOUNT,
    region: Annotated[str, typer.Option(help="AWS region (never changes later).")] =
        reference.DEFAULT_REGION,
    node_instance_type: Annotated[str, typer.Option(help="Worker node instance type.")] =
        reference.DEFAULT_NODE_INSTANCE_TYPE,
    max_nodes: Annotated[int, typer.Option(
        help=f"Maximum worker nodes (1-{reference.MAX_NODES_LIMIT}).")] =
        reference.DEFAULT_MAX_NODES,
    db_instance_type: Annotated[str, typer.Option(help="RDS instance type.")] =
        reference.DEFAULT_DB_INSTANCE_TYPE,
    vpc_cidr: Annotated[str, typer.Option(help="VPC CIDR (RFC 1918, /19 or larger).")] =
        reference.DEFAULT_VPC_CIDR,
    force: Annotated[bool, typer.Option(help="Proceed although preflight warns.")] = False,
    watch: WATCH = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Request a cluster; the control plane provisions it through your account's role.

    `flightdeck reference regions` and `flightdeck reference instance-types` list the
    supported choices."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    cluster = cli.client.post(cli.org_path("/clusters"), json={
        "account": account, "name": name, "region": region,
        "node_instance_type": node_instance_type, "max_nodes": max_nodes,
        "db_instance_type": db_instance_type, "vpc_cidr": vpc_cidr, "force": force,
    })
    if watch:
        _watch(cli, cluster["id"], until=("Active", "Failed"))
        return
    if cli.json_output:
        print_json(cluster)
    else:
        success(f"cluster {cluster['name']} requested ({cluster['id']}); follow it with "
                f"`flightdeck cluster get {cluster['name']} --watch`")


@app.command("list")
def list_(ctx: typer.Context, org: ORG = None, json_output: JSON = False) -> None:
    """List the organization's clusters."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path("/clusters"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("name", "NAME"), ("phase", "PHASE"), ("region", "REGION"),
                           ("account_id", "ACCOUNT"), ("id", "ID")],
                    empty="No cluster yet; create one with `flightdeck cluster create`.")


@app.command()
def get(ctx: typer.Context, cluster: CLUSTER, watch: WATCH = False, org: ORG = None,
        json_output: JSON = False) -> None:
    """Show a cluster: phase, per-resource conditions with AWS ids, timeline."""
    from flightdeck.cli.output import print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/clusters/{cluster}"))
    if watch:
        _watch(cli, data["id"], until=("Active", "Failed", "Deleted"))
        return
    if cli.json_output:
        data["events"] = cli.client.get(cli.org_path(f"/clusters/{data['id']}/events"))
        print_json(data)
        return
    from rich.console import Console

    console = Console()
    console.print(_render(data))
    from flightdeck.cli.cost_note import cost_lines

    console.print("[bold]Cost[/bold]")
    for line in cost_lines(data.get("cost")):
        console.print(f"  {line}", highlight=False, markup=False)
    events = cli.client.get(cli.org_path(f"/clusters/{data['id']}/events"))
    console.print("[bold]Timeline[/bold]")
    for event in events[-15:]:
        console.print(f"  {event['created_at'][:19]}  {event['action']:<16} "
                      f"{event['resource'] or event['step']}  {event['message']}",
                      highlight=False)


@app.command()
def plan(ctx: typer.Context, cluster: CLUSTER, org: ORG = None,
         json_output: JSON = False) -> None:
    """List what a reconcile (or deletion) would create, change or delete; touches nothing."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    changes = cli.client.get(cli.org_path(f"/clusters/{cluster}/plan"))
    if cli.json_output:
        print_json(changes)
    else:
        print_table(changes, [("action", "ACTION"), ("step", "STEP"), ("resource", "RESOURCE"),
                              ("detail", "DETAIL")], title="Plan",
                    empty="Nothing to do: the cluster's AWS resources already match its spec, "
                          "so a reconcile would create, change or delete nothing.")


@app.command()
def delete(
    ctx: typer.Context,
    cluster: CLUSTER,
    yes: YES = False,
    watch: WATCH = False,
    delete_deployments: Annotated[
        bool,
        typer.Option(
            "--delete-deployments",
            help="Delete the Deployments on the cluster first (refused without it while any "
            "are live).",
        ),
    ] = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Delete a cluster's AWS resources, backwards, proving none are left; keeps its record."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/clusters/{cluster}"))
    if not yes:
        also = " and every Deployment on it" if delete_deployments else ""
        typer.confirm(f"Delete cluster {data['name']}{also} and every AWS resource it has?",
                      abort=True)
    params = {"delete_deployments": "true"} if delete_deployments else None
    data = cli.client.request("DELETE", cli.org_path(f"/clusters/{data['id']}"), params=params)
    if watch:
        _watch(cli, data["id"], until=("Deleted", "Failed"))
        return
    if cli.json_output:
        print_json(data)
    else:
        success(f"deletion of {data['name']} requested; follow it with "
                f"`flightdeck cluster get {data['name']} --watch`")


_STATE_STYLE = {"Ready": "green", "ready": "green", "Waiting": "yellow", "waiting": "yellow",
                "Deleted": "dim", "deleted": "dim", "Error": "red", "error": "red"}


def _render(data: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"{data['name']}  [{data['phase']}]  {data['region']}  "
                        f"account {data['account_id']}", show_edge=False, header_style="bold")
    table.add_column("RESOURCE", no_wrap=True)
    table.add_column("STATE", no_wrap=True)
    # Ids are folded (one per line), never cut short with an ellipsis.
    table.add_column("AWS ID", overflow="fold")
    table.add_column("MESSAGE", overflow="fold")
    from flightdeck.aws.provision.status import ClusterStatus

    for key, condition in ClusterStatus.from_json(data).conditions.items():
        state = str(condition.state)
        table.add_row(key, f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]",
                      (condition.aws_id or "").replace(",", "\n"), condition.message)
    if data.get("last_error"):
        table.caption = f"[red]{data['last_error']}[/red]"
    return table


def _watch(cli: Invocation, cluster_id: str, until: tuple[str, ...],
           interval: float = 1.0) -> None:
    """Poll and redraw until the cluster reaches one of ``until``; exit 1 if it Failed.
    With ``--json`` nothing is drawn: stdout gets the final cluster as one JSON document
    (stderr a line per phase change), so a script can parse what it waited for."""
    import time

    from rich.console import Console
    from rich.live import Live

    data = cli.client.get(cli.org_path(f"/clusters/{cluster_id}"))
    if cli.json_output:
        phase = None
        while True:
            if data["phase"] != phase:
                phase = data["phase"]
                typer.echo(f"cluster {data['name']}: {phase}", err=True)
            if phase in until:
                break
            time.sleep(interval)
            data = cli.client.get(cli.org_path(f"/clusters/{cluster_id}"))
        from flightdeck.cli.output import print_json

        print_json(data)
        if data["phase"] == "Failed":
            raise typer.Exit(1)
        return
    console = Console()
    with Live(_render(data), console=console, refresh_per_second=4,
              transient=not console.is_terminal) as live:
        while data["phase"] not in until:
            time.sleep(interval)
            data = cli.client.get(cli.org_path(f"/clusters/{cluster_id}"))
            live.update(_render(data))
    if not console.is_terminal:
        console.print(_render(data))
    console.print(f"cluster {data['name']}: {data['phase']}", highlight=False)
    if data["phase"] == "Failed":
        raise typer.Exit(1)

"""`flightdeck cluster peering`: VPC peerings from a cluster's VPC to your own VPCs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from flightdeck.aws import peering_request
from flightdeck.cli.context import invocation
from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, ORG, YES

app = typer.Typer(
    no_args_is_help=True,
    help="VPC peerings from the cluster's VPC to a VPC of yours, in any account and region.",
)

CLUSTER = Annotated[str, typer.Argument(help="Cluster name or id.")]
PEERING = Annotated[str, typer.Argument(help="Peering name or id.")]
_COLUMNS = [
    ("name", "NAME"),
    ("phase", "PHASE"),
    ("peer", "PEER VPC"),
    ("cidrs", "PEER CIDRS"),
    ("aws_peering_id", "AWS ID"),
    ("id", "ID"),
]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="peering")


def _entries(option: str, parse: Callable[[str], dict[str, Any]], values: list[str]) -> list[Any]:
    """Each repeated ``option`` parsed by the one rule the console uses too."""
    try:
        return [parse(value) for value in values]
    except peering_request.InvalidPeering as exc:
        raise CliError(f"{option}: {str(exc).split(': ', 1)[1]}") from None


def _row(peering: dict[str, Any]) -> dict[str, Any]:
    spec = peering["spec"]
    return {
        **peering,
        "peer": f"{spec.get('peer_vpc_id')} ({spec.get('peer_account_id')}, "
        f"{spec.get('peer_region')})",
        "cidrs": ", ".join(spec.get("peer_cidrs", [])),
        "aws_peering_id": peering.get("aws_peering_id") or "",
    }


@app.command()
def create(
    ctx: typer.Context,
    cluster: CLUSTER,
    name: Annotated[str, typer.Argument(help="A name for the peering.")],
    peer_account: Annotated[
        str, typer.Option("--peer-account", help="12-digit AWS account ID that owns the peer VPC.")
    ],
    peer_region: Annotated[str, typer.Option("--peer-region", help="The peer VPC's region.")],
    peer_vpc: Annotated[str, typer.Option("--peer-vpc", help="The peer VPC id (vpc-...).")],
    peer_cidr: Annotated[
        list[str],
        typer.Option(
            "--peer-cidr", help="A peer CIDR the cluster routes to (RFC 1918; repeatable)."
        ),
    ],
    dns: Annotated[
        list[str] | None,
        typer.Option(
            "--dns", help="DOMAIN=IP[,IP]: forward a private zone to your DNS servers (repeatable)."
        ),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            help="TARGET:PORT: let the peer CIDRs reach the cluster's nodes or database on a "
            "TCP port (repeatable), e.g. database:5432.",
        ),
    ] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Request a peering; once created you accept it with `flightdeck aws peering accept`."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    peering = cli.client.post(
        cli.org_path(f"/clusters/{cluster}/peerings"),
        json={
            "name": name,
            "peer_account_id": peer_account,
            "peer_region": peer_region,
            "peer_vpc_id": peer_vpc,
            "peer_cidrs": peer_cidr,
            "dns": _entries("--dns", peering_request.parse_dns, dns or []),
            "ingress": _entries("--allow", peering_request.parse_ingress, allow or []),
        },
    )
    if cli.json_output:
        print_json(peering)
    else:
        success(
            f"peering {peering['name']} requested ({peering['id']}); once it is "
            f"pending-acceptance, accept it in account {peer_account} with "
            f"`flightdeck aws peering accept <pcx-id> --region {peer_region}`"
        )


@app.command("list")
def list_(ctx: typer.Context, cluster: CLUSTER, org: ORG = None, json_output: JSON = False) -> None:
    """List the cluster's peerings, deleted ones included."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path(f"/clusters/{cluster}/peerings"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(
            [_row(r) for r in rows],
            _COLUMNS,
            empty="No peering yet; request one with `flightdeck cluster peering create`.",
        )


@app.command()
def get(
    ctx: typer.Context,
    cluster: CLUSTER,
    peering: PEERING,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Show a peering: its phase, AWS id, routes and last error."""
    from flightdeck.cli.output import print_fields, print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/clusters/{cluster}/peerings/{peering}"))
    if cli.json_output:
        print_json(data)
        return
    row = _row(data)
    row["routes"] = ", ".join(data["status"].get("routes", [])) or "none yet"
    row["last_error"] = data.get("last_error") or ""
    print_fields(
        row,
        [
            ("name", "Name"),
            ("phase", "Phase"),
            ("peer", "Peer VPC"),
            ("cidrs", "Peer CIDRs"),
            ("aws_peering_id", "AWS id"),
            ("routes", "Cluster routes"),
            ("last_error", "Last error"),
            ("id", "Id"),
        ],
    )


@app.command()
def delete(
    ctx: typer.Context,
    cluster: CLUSTER,
    peering: PEERING,
    yes: YES = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Delete a peering: its routes in the cluster's VPC, then the connection."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    path = cli.org_path(f"/clusters/{cluster}/peerings/{peering}")
    data = cli.client.get(path)
    if not yes:
        typer.confirm(f"Delete peering {data['name']} of cluster {cluster}?", abort=True)
    data = cli.client.request("DELETE", cli.org_path(f"/clusters/{cluster}/peerings/{data['id']}"))
    if cli.json_output:
        print_json(data)
    else:
        success(f"deletion of peering {data['name']} requested ({data['phase']})")

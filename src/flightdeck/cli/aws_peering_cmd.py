"""``flightdeck aws peering``: the customer's side of a VPC peering, with their own credentials.

Runs on the customer's machine (``--profile`` or boto3's default chain) in the peer VPC's
account and region; the credentials never reach the control plane.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, aws_region

app = typer.Typer(
    no_args_is_help=True,
    help="Accept and check a cluster's VPC peering in your own account, with your own credentials.",
)

PEERING = Annotated[str, typer.Argument(help="The peering connection id (pcx-...).")]
PROFILE = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="AWS profile of the peer VPC's account (default: boto3's credential "
        "chain, e.g. AWS_PROFILE).",
    ),
]
REGION = Annotated[
    str | None,
    typer.Option(
        "--region", callback=aws_region, help="The peer VPC's region (default: the profile's)."
    ),
]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="peering")


def _ec2(profile: str | None, region: str | None) -> Any:
    from flightdeck.aws.session import customer_session

    return customer_session(profile, region).client("ec2")


@contextmanager
def _aws_errors(profile: str | None) -> Iterator[None]:
    from flightdeck.aws.peering_customer import PeeringNotAcceptable
    from flightdeck.cli.customer_aws import customer_credential_errors

    with customer_credential_errors(profile):
        try:
            yield
        except PeeringNotAcceptable as exc:
            raise CliError(str(exc)) from None


@app.command()
def accept(
    peering: PEERING,
    route_table: Annotated[
        list[str] | None,
        typer.Option(
            "--route-table",
            help="Route table of your VPC to route the cluster's CIDR through "
            "the peering (repeatable; default: every route table of the VPC).",
        ),
    ] = None,
    profile: PROFILE = None,
    region: REGION = None,
    json_output: JSON = False,
) -> None:
    """Accept the peering, route the cluster's CIDR back through it and let the cluster
    resolve your VPC's private DNS names; safe to run again."""
    from flightdeck.aws.peering_customer import accept_peering

    with _aws_errors(profile):
        report = accept_peering(_ec2(profile, region), peering, route_table or [])
    if json_output:
        from flightdeck.cli.output import print_json

        print_json(report.as_dict())
        return
    from flightdeck.cli.output import success

    success(
        f"{peering} {'accepted' if report.accepted else 'was active already'}; routes to "
        f"{', '.join(report.cluster_cidrs)}: {len(report.routes_added)} added, "
        f"{len(report.routes_present)} already in place; DNS resolution from the cluster on"
    )
    typer.echo(f"Check what is still missing with `flightdeck aws peering validate {peering}`.")


@app.command()
def validate(
    peering: PEERING,
    port: Annotated[
        list[int] | None,
        typer.Option(
            "--port", help="A TCP port the cluster must reach in your VPC, e.g. 5432 (repeatable)."
        ),
    ] = None,
    security_group: Annotated[
        list[str] | None,
        typer.Option(
            "--security-group",
            help="Security group of a resource the cluster must reach (repeatable).",
        ),
    ] = None,
    route_table: Annotated[
        list[str] | None,
        typer.Option(
            "--route-table",
            help="Route table to check (repeatable; default: every route table of your VPC).",
        ),
    ] = None,
    profile: PROFILE = None,
    region: REGION = None,
    json_output: JSON = False,
) -> None:
    """Check routes, network ACLs, security groups and DNS on your side, each with its
    remedy; exit 1 while anything fails."""
    from flightdeck.aws.checks import overall
    from flightdeck.aws.peering_validator import validate_peering

    with _aws_errors(profile):
        results = validate_peering(
            _ec2(profile, region),
            peering,
            ports=port or [],
            security_group_ids=security_group or [],
            route_table_ids=route_table or [],
        )
    verdict = overall(results)
    if json_output:
        from flightdeck.cli.output import print_json

        print_json(
            {"peering": peering, "status": verdict, "checks": [r.to_dict() for r in results]}
        )
    else:
        from flightdeck.cli.output import print_checks

        print_checks([r.to_dict() for r in results], title=f"Peering {peering}: {verdict}")
    if verdict == "fail":
        raise typer.Exit(1)

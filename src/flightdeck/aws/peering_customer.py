"""The customer side of a VPC peering, with the customer's own credentials.

Runs on the customer's machine (``flightdeck aws peering accept``), never in the control
plane: the platform's role lives in the cluster's account and must not hold rights in the
customer's network account. Accepting is safe to repeat: an active peering is not accepted
again, a route already in place is left alone, one pointing elsewhere is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["AcceptReport", "PeeringNotAcceptable", "accept_peering"]


class PeeringNotAcceptable(ValueError):
    """The connection cannot be accepted from here; the message says what to do instead."""


@dataclass
class AcceptReport:
    peering_id: str
    status: str
    cluster_cidrs: list[str]
    accepted: bool  # False when it was active already
    routes_added: list[str] = field(default_factory=list)  # "rtb-...:172.20.0.0/19"
    routes_present: list[str] = field(default_factory=list)
    dns_resolution: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "peering_id": self.peering_id,
            "status": self.status,
            "cluster_cidrs": self.cluster_cidrs,
            "accepted": self.accepted,
            "routes_added": self.routes_added,
            "routes_present": self.routes_present,
            "dns_resolution": self.dns_resolution,
        }


def describe_peering(ec2: Any, peering_id: str) -> dict[str, Any]:
    try:
        found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])
    except ClientError as exc:
        if "NotFound" in str(exc.response.get("Error", {}).get("Code", "")):
            found = {"VpcPeeringConnections": []}
        else:
            raise
    connections = found["VpcPeeringConnections"]
    if not connections:
        raise PeeringNotAcceptable(
            f"peering: {peering_id} is not visible with these credentials in this region; "
            "use the peer VPC's account (--profile) and region (--region)"
        )
    return connections[0]  # type: ignore[no-any-return]


def accept_peering(ec2: Any, peering_id: str, route_table_ids: Sequence[str] = ()) -> AcceptReport:
    """:func:`accept`, with AWS's refusals as one :class:`PeeringNotAcceptable` line."""
    with refusals_explained():
        return accept(ec2, peering_id, route_table_ids)


@contextmanager
def refusals_explained() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PeeringNotAcceptable(
            f"AWS refused: {error.get('Code')}: {error.get('Message')}; check that these "
            "credentials may manage the peer VPC's networking (ec2:AcceptVpcPeeringConnection, "
            "ec2:CreateRoute, ec2:ModifyVpcPeeringConnectionOptions)"
        ) from None


def accept(ec2: Any, peering_id: str, route_table_ids: Sequence[str] = ()) -> AcceptReport:
    """Accept ``peering_id``, route the cluster's CIDRs back through it from
    ``route_table_ids`` (default: every route table of the peer VPC) and let the cluster
    resolve the peer VPC's private DNS names."""
    connection = describe_peering(ec2, peering_id)
    status = connection["Status"]["Code"]
    if status not in ("pending-acceptance", "active"):
        raise PeeringNotAcceptable(
            f"peering: {peering_id} is {status} and can no longer be accepted; delete the "
            "peering with `flightdeck cluster peering delete` and request it again"
        )
    accepted = status == "pending-acceptance"
    if accepted:
        connection = ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)[
            "VpcPeeringConnection"
        ]
    requester = connection["RequesterVpcInfo"]
    cluster_cidrs = [
        c["CidrBlock"] for c in requester.get("CidrBlockSet") or [] if c.get("CidrBlock")
    ] or [requester["CidrBlock"]]
    peer_vpc = connection["AccepterVpcInfo"]["VpcId"]
    if route_table_ids:
        tables = ec2.describe_route_tables(RouteTableIds=list(route_table_ids))["RouteTables"]
        outside = [t["RouteTableId"] for t in tables if t.get("VpcId") != peer_vpc]
        if outside:
            raise PeeringNotAcceptable(
                f"--route-table: {', '.join(outside)} is not in {peer_vpc}; give route "
                "tables of the peered VPC"
            )
    else:
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [peer_vpc]}])[
            "RouteTables"
        ]
    report = AcceptReport(peering_id, "active", cluster_cidrs, accepted)
    for table in tables:
        current = {r.get("DestinationCidrBlock"): r for r in table.get("Routes", [])}
        for cidr in cluster_cidrs:
            key = f"{table['RouteTableId']}:{cidr}"
            params = {
                "RouteTableId": table["RouteTableId"],
                "DestinationCidrBlock": cidr,
                "VpcPeeringConnectionId": peering_id,
            }
            route = current.get(cidr)
            if route is None:
                ec2.create_route(**params)
                report.routes_added.append(key)
            elif route.get("VpcPeeringConnectionId") != peering_id:
                ec2.replace_route(**params)
                report.routes_added.append(key)
            else:
                report.routes_present.append(key)
    ec2.modify_vpc_peering_connection_options(
        VpcPeeringConnectionId=peering_id,
        AccepterPeeringConnectionOptions={"AllowDnsResolutionFromRemoteVpc": True},
    )
    report.dns_resolution = True
    return report

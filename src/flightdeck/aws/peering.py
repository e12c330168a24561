"""The cluster side of a VPC peering, through the role: the connection and the cluster's routes.

Like the provisioning steps, every call starts by finding what exists by tag (the cluster
tag and a ``flightdeck:peering-id`` tag set atomically at creation), then acts only on the
difference, so a pass killed between any two calls resumes without duplicates. A pass:

1. finds or creates the peering connection (cross-account ``PeerOwnerId``, cross-region
   ``PeerRegion``) from the cluster's VPC;
2. reads its state: ``pending-acceptance`` waits for the customer's ``accept``;
   ``failed``/``rejected``/``expired`` end with AWS's reason;
3. once ``active``, makes each private route table route each peer CIDR through it
   (created when missing, replaced when it points elsewhere), lets the peer CIDRs into the
   cluster's security groups on the requested ports (:mod:`flightdeck.aws.peering_rules`),
   and for DNS domains keeps a Resolver outbound endpoint with one forwarding rule per
   domain (:mod:`flightdeck.aws.peering_dns`).

:func:`delete_peering` removes the DNS pieces, the rules and the routes, then the connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from flightdeck.aws import peering_dns, peering_rules
from flightdeck.aws.peering_request import IngressTarget, PeeringRequest
from flightdeck.aws.provision.context import CLUSTER_TAG, MANAGED_BY_TAG, AwsClients, tag_value
from flightdeck.phases import PeeringPhase

PEERING_TAG = peering_dns.PEERING_TAG
# States of a connection that will never carry traffic again: a new one must be created.
_GONE = ("deleted", "deleting", "rejected", "failed", "expired")
_ENDED = {
    "failed": PeeringPhase.FAILED,
    "rejected": PeeringPhase.FAILED,
    "expired": PeeringPhase.EXPIRED,
}


@dataclass(frozen=True)
class ClusterNetwork:
    """What the peering needs of the cluster: its VPC, private route tables and subnets
    (for the DNS endpoint) and the security groups ingress rules may go on."""

    cluster_id: str
    vpc_id: str
    private_route_table_ids: tuple[str, ...]
    private_subnet_ids: tuple[str, ...] = ()
    security_groups: Mapping[IngressTarget, str] = field(default_factory=dict)

    @property
    def dns_target(self) -> peering_dns.DnsTarget:
        return peering_dns.DnsTarget(self.cluster_id, self.vpc_id, self.private_subnet_ids)


@dataclass
class PeeringState:
    """Where one pass left the peering: its phase, AWS id, the routes in place, a reason."""

    phase: PeeringPhase
    aws_peering_id: str | None = None
    routes: list[str] = field(default_factory=list)  # "rtb-...:10.1.0.0/16"
    message: str = ""
    rules: list[str] = field(default_factory=list)  # "sg-...:tcp/5432:10.1.0.0/16"
    dns: list[str] = field(default_factory=list)  # security group, endpoint, rule ids

    def as_status(self) -> dict[str, Any]:
        return {
            "aws_peering_id": self.aws_peering_id,
            "routes": list(self.routes),
            "rules": list(self.rules),
            "dns": list(self.dns),
            "message": self.message,
        }


def _tags(network: ClusterNetwork, peering_id: str, name: str) -> list[dict[str, str]]:
    return [
        {"Key": CLUSTER_TAG, "Value": network.cluster_id},
        {"Key": PEERING_TAG, "Value": peering_id},
        {"Key": MANAGED_BY_TAG, "Value": "flightdeck"},
        {"Key": "Name", "Value": f"flightdeck-{network.cluster_id}-peering-{name}"},
    ]


def find_connection(
    ec2: Any, network: ClusterNetwork, peering_id: str, *, include_gone: bool = False
) -> dict[str, Any] | None:
    """The peering's connection, by its tags (checked again here: an emulator may ignore
    the filter), the newest live one first."""
    found = ec2.describe_vpc_peering_connections(
        Filters=[
            {"Name": f"tag:{CLUSTER_TAG}", "Values": [network.cluster_id]},
            {"Name": f"tag:{PEERING_TAG}", "Values": [peering_id]},
        ]
    )["VpcPeeringConnections"]
    mine = [
        c
        for c in found
        if tag_value(c.get("Tags"), CLUSTER_TAG) == network.cluster_id
        and tag_value(c.get("Tags"), PEERING_TAG) == peering_id
    ]
    live = [c for c in mine if c["Status"]["Code"] not in _GONE]
    if live:
        return live[0]  # type: ignore[no-any-return]
    if include_gone and mine:
        return mine[-1]  # type: ignore[no-any-return]
    return None


def reconcile_peering(
    clients: AwsClients,
    network: ClusterNetwork,
    peering_id: str,
    name: str,
    request: PeeringRequest,
    *,
    previous: PeeringPhase = PeeringPhase.REQUESTED,
) -> PeeringState:
    """One pass; safe to repeat. ``previous`` keeps an ended peering from being re-created."""
    ec2 = clients.client("ec2")
    connection = find_connection(ec2, network, peering_id, include_gone=True)
    if connection is not None and connection["Status"]["Code"] in _ENDED:
        code = connection["Status"]["Code"]
        reason = connection["Status"].get("Message") or code
        return PeeringState(
            _ENDED[code],
            connection["VpcPeeringConnectionId"],
            message=f"AWS {code} the peering: {reason}",
        )
    if connection is not None and connection["Status"]["Code"] in _GONE:
        connection = None
    recreated = connection is None and previous in (
        PeeringPhase.PENDING_ACCEPTANCE,
        PeeringPhase.ACTIVE,
    )
    if connection is None:
        try:
            connection = ec2.create_vpc_peering_connection(
                VpcId=network.vpc_id,
                PeerVpcId=request.peer_vpc_id,
                PeerOwnerId=request.peer_account_id,
                PeerRegion=request.peer_region,
                TagSpecifications=[
                    {
                        "ResourceType": "vpc-peering-connection",
                        "Tags": _tags(network, peering_id, name),
                    }
                ],
            )["VpcPeeringConnection"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidVpcID.NotFound":
                return PeeringState(
                    PeeringPhase.FAILED,
                    message=f"peer_vpc_id: {request.peer_vpc_id} was not found in account "
                    f"{request.peer_account_id}, {request.peer_region}; check the VPC id, "
                    "account and region, then request the peering again",
                )
            raise
    pcx_id = str(connection["VpcPeeringConnectionId"])
    code = connection["Status"]["Code"]
    if code != "active":
        again = (
            "the connection was deleted outside flightdeck and is re-created; " if recreated else ""
        )
        return PeeringState(
            PeeringPhase.PENDING_ACCEPTANCE,
            pcx_id,
            message=f"{again}waiting for account {request.peer_account_id} to accept {pcx_id}: run "
            f"`flightdeck aws peering accept {pcx_id} --region {request.peer_region}` there",
        )
    routes = ensure_routes(ec2, network.private_route_table_ids, request.peer_cidrs, pcx_id)
    rules = peering_rules.ensure_rules(
        ec2, network.security_groups, peering_id, request.ingress, request.peer_cidrs
    )
    dns = peering_dns.ensure_dns(
        ec2, clients.client("route53resolver"), network.dns_target, peering_id, name, request.dns
    )
    return PeeringState(PeeringPhase.ACTIVE, pcx_id, routes=routes, rules=rules, dns=dns)


def ensure_routes(
    ec2: Any, route_table_ids: Sequence[str], cidrs: Sequence[str], pcx_id: str
) -> list[str]:
    """Each table routes each CIDR through ``pcx_id``: created, or replaced when it points
    elsewhere (drift). Returns ``table:cidr`` for every route in place."""
    if not route_table_ids:
        return []
    tables = ec2.describe_route_tables(RouteTableIds=list(route_table_ids))["RouteTables"]
    in_place: list[str] = []
    for table in tables:
        current = {r.get("DestinationCidrBlock"): r for r in table.get("Routes", [])}
        for cidr in cidrs:
            route = current.get(cidr)
            params = {
                "RouteTableId": table["RouteTableId"],
                "DestinationCidrBlock": cidr,
                "VpcPeeringConnectionId": pcx_id,
            }
            if route is None:
                ec2.create_route(**params)
            elif route.get("VpcPeeringConnectionId") != pcx_id or route.get("State") == "blackhole":
                ec2.replace_route(**params)
            in_place.append(f"{table['RouteTableId']}:{cidr}")
    return in_place


def remove_routes(
    ec2: Any, route_table_ids: Sequence[str], cidrs: Sequence[str], pcx_id: str | None
) -> None:
    """Delete the routes to ``cidrs`` that go through ``pcx_id`` (or through any peering
    when it is unknown); other routes are never touched."""
    if not route_table_ids:
        return
    try:
        tables = ec2.describe_route_tables(RouteTableIds=list(route_table_ids))["RouteTables"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidRouteTableID.NotFound":
            return  # the cluster's tables are gone already
        raise
    for table in tables:
        for route in table.get("Routes", []):
            target = route.get("VpcPeeringConnectionId")
            if (
                route.get("DestinationCidrBlock") in cidrs
                and target
                and target == (pcx_id or target)
            ):
                ec2.delete_route(
                    RouteTableId=table["RouteTableId"],
                    DestinationCidrBlock=route["DestinationCidrBlock"],
                )


def delete_peering(
    clients: AwsClients, network: ClusterNetwork, peering_id: str, request: PeeringRequest
) -> PeeringState:
    """Remove the DNS pieces, the ingress rules and the cluster's routes through the
    peering, then the connection; safe to repeat. Stays ``deleting`` while the resolver
    endpoint is still going away."""
    ec2 = clients.client("ec2")
    connection = find_connection(ec2, network, peering_id)
    pcx_id = connection["VpcPeeringConnectionId"] if connection else None
    if not peering_dns.remove_dns(
        ec2, clients.client("route53resolver"), network.dns_target, peering_id
    ):
        return PeeringState(
            PeeringPhase.DELETING, pcx_id, message="waiting for the resolver endpoint to go"
        )
    peering_rules.remove_rules(ec2, sorted(set(network.security_groups.values())), peering_id)
    remove_routes(ec2, network.private_route_table_ids, request.peer_cidrs, pcx_id)
    if connection is not None:
        try:
            ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
        except ClientError as exc:
            if (
                exc.response.get("Error", {}).get("Code")
                != "InvalidVpcPeeringConnectionID.NotFound"
            ):
                raise
    return PeeringState(PeeringPhase.DELETED, pcx_id)

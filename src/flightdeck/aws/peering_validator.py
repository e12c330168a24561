"""Check the customer's side of a peering: what still stops the cluster reaching their VPC.

Read-only, with the customer's own credentials (``flightdeck aws peering validate``). Each
check is a :class:`~flightdeck.aws.checks.CheckResult` with the remedy that fixes it:

- ``peering``: the connection is active;
- ``routes``: every route table checked routes the cluster's CIDR through the peering;
- ``network_acls``: each subnet's network ACL lets the cluster's CIDR in on the given
  ports and lets the answers out on the ephemeral ports (rules in number order, first
  match wins, as AWS evaluates them);
- ``security_groups``: each named group allows the cluster's CIDR on the given ports;
- ``dns``: the peer VPC's private names resolve from the cluster.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from flightdeck.aws.checks import CheckResult
from flightdeck.aws.peering_customer import describe_peering, refusals_explained

EPHEMERAL = (1024, 65535)


def validate_peering(
    ec2: Any,
    peering_id: str,
    *,
    ports: Sequence[int] = (),
    security_group_ids: Sequence[str] = (),
    route_table_ids: Sequence[str] = (),
) -> list[CheckResult]:
    with refusals_explained():
        connection = describe_peering(ec2, peering_id)
        cluster_cidr = connection["RequesterVpcInfo"]["CidrBlock"]
        vpc = connection["AccepterVpcInfo"]["VpcId"]
        results = [_status(connection, peering_id)]
        results.append(_routes(ec2, vpc, peering_id, cluster_cidr, route_table_ids))
        results.append(_acls(ec2, vpc, cluster_cidr, ports))
        if security_group_ids:
            results.append(_groups(ec2, security_group_ids, cluster_cidr, ports))
        results.append(_dns(connection, peering_id))
    return results


def _status(connection: dict[str, Any], peering_id: str) -> CheckResult:
    code = connection["Status"]["Code"]
    if code == "active":
        return CheckResult("peering", "pass", f"{peering_id} is active")
    return CheckResult(
        "peering",
        "fail",
        f"{peering_id} is {code}",
        f"run `flightdeck aws peering accept {peering_id}` with this account's credentials"
        if code == "pending-acceptance"
        else "delete the peering with `flightdeck cluster peering delete` and request it again",
    )


def _routes(
    ec2: Any, vpc: str, peering_id: str, cidr: str, route_table_ids: Sequence[str]
) -> CheckResult:
    if route_table_ids:
        tables = ec2.describe_route_tables(RouteTableIds=list(route_table_ids))["RouteTables"]
    else:
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
            "RouteTables"
        ]
    missing = [
        t["RouteTableId"]
        for t in tables
        if not any(
            r.get("DestinationCidrBlock") == cidr
            and r.get("VpcPeeringConnectionId") == peering_id
            and r.get("State", "active") == "active"
            for r in t.get("Routes", [])
        )
    ]
    if not missing:
        return CheckResult(
            "routes", "pass", f"{len(tables)} route table(s) route {cidr} through {peering_id}"
        )
    first = missing[0]
    return CheckResult(
        "routes",
        "fail",
        f"no route to the cluster's {cidr} through {peering_id} in {', '.join(missing)}",
        f"run `flightdeck aws peering accept {peering_id}` again, or `aws ec2 create-route "
        f"--route-table-id {first} --destination-cidr-block {cidr} "
        f"--vpc-peering-connection-id {peering_id}`",
        {"route_tables": missing},
    )


def _first_match(entries: list[dict[str, Any]], cidr: str, port: int, egress: bool) -> bool:
    """Whether the network ACL lets ``cidr`` through on TCP ``port`` in that direction."""
    network = ipaddress.ip_network(cidr)
    for entry in sorted(entries, key=lambda e: int(e["RuleNumber"])):
        if bool(entry.get("Egress")) != egress or "CidrBlock" not in entry:
            continue
        if not network.subnet_of(ipaddress.ip_network(entry["CidrBlock"])):  # type: ignore[arg-type]
            continue
        protocol = str(entry.get("Protocol", "-1"))
        if protocol not in ("-1", "6"):
            continue
        if protocol == "6":
            span = entry.get("PortRange") or {}
            if not int(span.get("From", 0)) <= port <= int(span.get("To", 65535)):
                continue
        return str(entry.get("RuleAction")) == "allow"
    return False


def _acls(ec2: Any, vpc: str, cidr: str, ports: Sequence[int]) -> CheckResult:
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"]
    problems: list[str] = []
    for acl in acls:
        entries = acl.get("Entries", [])
        for port in ports:
            if not _first_match(entries, cidr, port, egress=False):
                problems.append(f"{acl['NetworkAclId']} denies inbound TCP {port} from {cidr}")
        for port in EPHEMERAL:
            if not _first_match(entries, cidr, port, egress=True):
                problems.append(
                    f"{acl['NetworkAclId']} denies outbound ephemeral TCP "
                    f"{EPHEMERAL[0]}-{EPHEMERAL[1]} to {cidr}"
                )
                break
    if not problems:
        return CheckResult(
            "network_acls", "pass", f"{len(acls)} network ACL(s) allow {cidr} both ways"
        )
    return CheckResult(
        "network_acls",
        "fail",
        "; ".join(problems),
        f"add allow rules for {cidr} numbered below the denying ones: inbound on the ports "
        f"your services listen on, outbound TCP {EPHEMERAL[0]}-{EPHEMERAL[1]}",
        {"problems": problems},
    )


def _groups(ec2: Any, group_ids: Sequence[str], cidr: str, ports: Sequence[int]) -> CheckResult:
    network = ipaddress.ip_network(cidr)
    groups = ec2.describe_security_groups(GroupIds=list(group_ids))["SecurityGroups"]
    problems: list[str] = []
    for group in groups:

        def allows(port: int | None, group: dict[str, Any] = group) -> bool:
            for rule in group.get("IpPermissions", []):
                protocol = str(rule.get("IpProtocol", "-1"))
                if protocol not in ("-1", "tcp", "6"):
                    continue
                if (
                    port is not None
                    and protocol != "-1"
                    and not (int(rule.get("FromPort", 0)) <= port <= int(rule.get("ToPort", 65535)))
                ):
                    continue
                for span in rule.get("IpRanges", []):
                    if network.subnet_of(ipaddress.ip_network(span["CidrIp"])):  # type: ignore[arg-type]
                        return True
            return False

        wanted: list[int | None] = list(ports) or [None]
        for port in wanted:
            if not allows(port):
                where = "any port" if port is None else f"TCP {port}"
                problems.append(f"{group['GroupId']} does not allow {cidr} on {where}")
    if not problems:
        return CheckResult(
            "security_groups", "pass", f"{len(groups)} security group(s) allow {cidr}"
        )
    first = groups[0]["GroupId"] if groups else group_ids[0]
    example_port = str(ports[0]) if ports else "PORT"
    return CheckResult(
        "security_groups",
        "fail",
        "; ".join(problems),
        f"allow the cluster's CIDR, e.g. `aws ec2 authorize-security-group-ingress --group-id "
        f"{first} --protocol tcp --port {example_port} --cidr {cidr}`",
        {"problems": problems},
    )


def _dns(connection: dict[str, Any], peering_id: str) -> CheckResult:
    options = connection["AccepterVpcInfo"].get("PeeringOptions") or {}
    if options.get("AllowDnsResolutionFromRemoteVpc"):
        return CheckResult("dns", "pass", "your VPC's private names resolve from the cluster")
    return CheckResult(
        "dns",
        "fail",
        f"DNS resolution from the cluster's VPC is off on {peering_id}",
        f"run `flightdeck aws peering accept {peering_id}` again, or `aws ec2 "
        f"modify-vpc-peering-connection-options --vpc-peering-connection-id {peering_id} "
        "--accepter-peering-connection-options AllowDnsResolutionFromRemoteVpc=true`",
    )

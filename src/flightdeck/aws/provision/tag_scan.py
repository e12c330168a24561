"""Proof that a deleted cluster left nothing behind.

The Resource Groups Tagging API alone cannot prove absence: it does not list every type
(the emulator lists even fewer), and on AWS it keeps showing deleted resources for a
while. So the scan asks each service directly for the types flightdeck creates (by tag
where the service filters by tag, by deterministic name where it does not), and adds
whatever ``GetResources`` reports of any *other* type, so a resource nobody expected is
still caught.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.provision.context import CLUSTER_TAG, AwsClients
from flightdeck.aws.provision.database import (
    INSTANCE_NOT_FOUND,
    SUBNET_GROUP_NOT_FOUND,
    db_identifier,
)
from flightdeck.aws.provision.eks import NOT_FOUND as EKS_NOT_FOUND
from flightdeck.aws.provision.eks import eks_cluster_name
from flightdeck.aws.provision.iam import role_path
from flightdeck.aws.provision.spec import ClusterSpec
from flightdeck.aws.provision.step import owned
from flightdeck.aws.provision.storage import BUCKET_ABSENT, log_bucket_name

# ARN fragments of the types the per-service describes below already cover.
_COVERED_ARN_TYPES = (
    ":vpc/",
    ":subnet/",
    ":internet-gateway/",
    ":natgateway/",
    ":elastic-ip/",
    ":route-table/",
    ":security-group/",
    ":vpc-endpoint/",
    ":eks:",
    ":rds:",
    "arn:aws:s3:::",
    ":iam::",
)


def tag_scan(clients: AwsClients, spec: ClusterSpec) -> list[str]:
    """Every resource still carrying the cluster's id, as ``service:type/id`` strings."""
    found: list[str] = []
    found += _scan_ec2(clients, spec.cluster_id)
    found += _scan_named(clients, spec)
    found += _scan_tagging_api(clients, spec.cluster_id)
    return sorted(set(found))


def _scan_ec2(clients: AwsClients, cluster_id: str) -> list[str]:
    ec2 = clients.client("ec2")
    tag = [{"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster_id]}]
    queries: list[tuple[str, Callable[..., Any], str, str, list[dict[str, Any]]]] = [
        ("vpc", ec2.describe_vpcs, "Vpcs", "VpcId", []),
        ("subnet", ec2.describe_subnets, "Subnets", "SubnetId", []),
        (
            "internet-gateway",
            ec2.describe_internet_gateways,
            "InternetGateways",
            "InternetGatewayId",
            [],
        ),
        (
            "natgateway",
            ec2.describe_nat_gateways,
            "NatGateways",
            "NatGatewayId",
            [{"Name": "state", "Values": ["pending", "available", "failed", "deleting"]}],
        ),
        ("elastic-ip", ec2.describe_addresses, "Addresses", "AllocationId", []),
        ("route-table", ec2.describe_route_tables, "RouteTables", "RouteTableId", []),
        ("security-group", ec2.describe_security_groups, "SecurityGroups", "GroupId", []),
        (
            "vpc-endpoint",
            ec2.describe_vpc_endpoints,
            "VpcEndpoints",
            "VpcEndpointId",
            [
                {
                    "Name": "vpc-endpoint-state",
                    "Values": ["pendingAcceptance", "pending", "available", "deleting", "failed"],
                }
            ],
        ),
    ]
    found = []
    for kind, describe, list_key, id_key, extra in queries:
        for item in owned(describe(Filters=tag + extra)[list_key], cluster_id):
            found.append(f"ec2:{kind}/{item[id_key]}")
    return found


def _scan_named(clients: AwsClients, spec: ClusterSpec) -> list[str]:
    found = []
    iam = clients.client("iam")
    for role in iam.list_roles(PathPrefix=role_path(spec.cluster_id))["Roles"]:
        found.append(f"iam:role/{role['RoleName']}")
    eks = clients.client("eks")
    name = eks_cluster_name(spec.cluster_id)
    if absent_on(EKS_NOT_FOUND, eks.describe_cluster, name=name) is not None:
        found.append(f"eks:cluster/{name}")
        listed = absent_on(EKS_NOT_FOUND, eks.list_nodegroups, clusterName=name)
        for nodegroup in [] if listed is None else listed["nodegroups"]:
            found.append(f"eks:nodegroup/{name}/{nodegroup}")
    rds = clients.client("rds")
    identifier = db_identifier(spec.cluster_id)
    instances = absent_on(
        INSTANCE_NOT_FOUND, rds.describe_db_instances, DBInstanceIdentifier=identifier
    )
    if instances is not None and instances["DBInstances"]:
        found.append(f"rds:db/{identifier}")
    groups = absent_on(
        SUBNET_GROUP_NOT_FOUND,
        rds.describe_db_subnet_groups,
        DBSubnetGroupName=identifier,
    )
    if groups is not None and groups["DBSubnetGroups"]:
        found.append(f"rds:subgrp/{identifier}")
    bucket = log_bucket_name(spec.account_id, spec.cluster_id)
    s3 = clients.client("s3")
    if absent_on(BUCKET_ABSENT, s3.head_bucket, Bucket=bucket) is not None:
        found.append(f"s3:bucket/{bucket}")
    return found


def _scan_tagging_api(clients: AwsClients, cluster_id: str) -> list[str]:
    tagging = clients.client("resourcegroupstaggingapi")
    found = []
    token = ""
    while True:
        page = tagging.get_resources(
            TagFilters=[{"Key": CLUSTER_TAG, "Values": [cluster_id]}], PaginationToken=token
        )
        for mapping in page["ResourceTagMappingList"]:
            arn = mapping["ResourceARN"]
            if not any(fragment in arn for fragment in _COVERED_ARN_TYPES):
                found.append(arn)
        token = page.get("PaginationToken", "")
        if not token:
            return found

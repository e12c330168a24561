"""Counts of one cluster's resources, read with clients whose calls are not recorded.

Each test has its own cluster id and VPC CIDR in a shared account, so counts are scoped to
the cluster: EC2 resources by the VPCs with the cluster's CIDR (tagged or not, so an
untagged duplicate VPC would be counted), or by tag for those created with tags atomically;
named resources (IAM, EKS, RDS, S3) by the names only this cluster uses.
"""

from __future__ import annotations

from typing import Any

from flightdeck.aws.provision import ClusterSpec
from flightdeck.aws.provision.context import CLUSTER_TAG
from flightdeck.aws.provision.database import db_identifier
from flightdeck.aws.provision.eks import eks_cluster_name
from flightdeck.aws.provision.iam import role_path
from flightdeck.aws.provision.storage import log_bucket_name

EXPECTED_ACTIVE = {
    "vpcs": 1,
    "subnets": 4,
    "internet_gateways": 1,
    "nat_gateways": 2,
    "elastic_ips": 2,
    "route_tables": 3,
    "security_groups": 3,
    "vpc_endpoints": 6,
    "iam_roles": 2,
    "eks_clusters": 1,
    "nodegroups": 2,
    "db_instances": 1,
    "db_subnet_groups": 1,
    "buckets": 1,
}
EMPTY = dict.fromkeys(EXPECTED_ACTIVE, 0)


def inventory(clients: Any, spec: ClusterSpec) -> dict[str, int]:
    ec2 = clients.client("ec2")
    cidr = [{"Name": "cidr-block", "Values": [spec.vpc_cidr]}]
    vpc_ids = [v["VpcId"] for v in ec2.describe_vpcs(Filters=cidr)["Vpcs"]]
    in_vpc = [{"Name": "vpc-id", "Values": vpc_ids or ["vpc-none"]}]
    tagged = [{"Name": f"tag:{CLUSTER_TAG}", "Values": [spec.cluster_id]}]
    tables = [
        t
        for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
        if not any(a.get("Main") for a in t.get("Associations", []))
    ]
    groups = [
        g
        for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
        if g["GroupName"] != "default"
    ]
    nats = [
        n
        for n in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]
        if n["State"] != "deleted"
    ]
    endpoints = [
        e
        for e in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
        if e["State"].lower() != "deleted"
    ]
    gateways = {
        g["InternetGatewayId"]
        for query in (tagged, [{"Name": "attachment.vpc-id", "Values": vpc_ids or ["vpc-none"]}])
        for g in ec2.describe_internet_gateways(Filters=query)["InternetGateways"]
    }
    eks = clients.client("eks")
    name = eks_cluster_name(spec.cluster_id)
    clusters = [c for c in eks.list_clusters()["clusters"] if c == name]
    nodegroups = sum(len(eks.list_nodegroups(clusterName=c)["nodegroups"]) for c in clusters)
    rds = clients.client("rds")
    identifier = db_identifier(spec.cluster_id)
    instances = [
        i
        for i in rds.describe_db_instances()["DBInstances"]
        if i["DBInstanceIdentifier"] == identifier
    ]
    subnet_groups = [
        g
        for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
        if g["DBSubnetGroupName"] == identifier
    ]
    bucket = log_bucket_name(spec.account_id, spec.cluster_id)
    buckets = [
        b for b in clients.client("s3").list_buckets().get("Buckets", []) if b["Name"] == bucket
    ]
    roles = clients.client("iam").list_roles(PathPrefix=role_path(spec.cluster_id))["Roles"]
    return {
        "vpcs": len(vpc_ids),
        "subnets": len(ec2.describe_subnets(Filters=in_vpc)["Subnets"]) if vpc_ids else 0,
        "internet_gateways": len(gateways),
        "nat_gateways": len(nats) if vpc_ids else 0,
        "elastic_ips": len(ec2.describe_addresses(Filters=tagged)["Addresses"]),
        "route_tables": len(tables) if vpc_ids else 0,
        "security_groups": len(groups) if vpc_ids else 0,
        "vpc_endpoints": len(endpoints) if vpc_ids else 0,
        "iam_roles": len(roles),
        "eks_clusters": len(clusters),
        "nodegroups": nodegroups,
        "db_instances": len(instances),
        "db_subnet_groups": len(subnet_groups),
        "buckets": len(buckets),
    }

"""Every AWS action the peering code performs is declared, and every declared one is used:
the role's side (``PERMISSIONS_BY_STEP["peering"]``, granted from ``PEERING_POLICY_VERSION``)
and the customer's (``CUSTOMER_PEERING_ACTIONS``), recorded against the emulator over HTTP."""

from __future__ import annotations

from typing import Any

import boto3

from flightdeck.aws import policy_versions
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.peering import ClusterNetwork, delete_peering, reconcile_peering
from flightdeck.aws.peering_customer import accept_peering
from flightdeck.aws.peering_request import IngressTarget, validate
from flightdeck.aws.peering_validator import validate_peering
from flightdeck.aws.permissions import (
    CUSTOMER_PEERING_ACTIONS,
    PEERING_POLICY_VERSION,
    PERMISSIONS_BY_STEP,
    iam_actions_for_call,
)
from flightdeck.aws.policy_versions import version_key
from flightdeck.aws.provision import CachedClients

PEER_ACCOUNT = "333333333333"


def _recorded_ec2(emulator: RunningEmulator, account: str, region: str,
                  used: set[str], service: str = "ec2") -> Any:
    creds = emulator.customer_credentials(account)
    client = boto3.client(service, region_name=region, endpoint_url=emulator.endpoint_url,
                          aws_access_key_id=creds.access_key_id,
                          aws_secret_access_key=creds.secret_access_key)

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        used.update(iam_actions_for_call(service, model.name, dict(params)))

    client.meta.events.register("provide-client-params.*.*", record)
    return client


def test_peering_calls_are_exactly_the_declared_actions(emulator_env: RunningEmulator) -> None:
    emulator = emulator_env
    role_used: set[str] = set()
    customer_used: set[str] = set()
    setup = _recorded_ec2(emulator, emulator.customer_account_id, "us-east-1", set())
    vpc = setup.create_vpc(CidrBlock="172.20.0.0/19")["Vpc"]["VpcId"]
    table = setup.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    subnets = tuple(setup.create_subnet(VpcId=vpc, CidrBlock=f"172.20.{i}.0/24",
                                        AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
                    for i, z in enumerate("ab"))
    db_group = setup.create_security_group(GroupName="cluster-db", Description="db",
                                           VpcId=vpc)["GroupId"]
    igw = setup.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    setup.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    peer_setup = _recorded_ec2(emulator, PEER_ACCOUNT, "eu-west-1", set())
    peer_vpc = peer_setup.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    sg = peer_setup.create_security_group(GroupName="db", Description="db",
                                          VpcId=peer_vpc)["GroupId"]

    clients = CachedClients(lambda service: _recorded_ec2(
        emulator, emulator.customer_account_id, "us-east-1", role_used, service))
    network = ClusterNetwork("c-perm", vpc, (table,), private_subnet_ids=subnets,
                             security_groups={IngressTarget.DATABASE: db_group})
    request = validate(peer_account_id=PEER_ACCOUNT, peer_region="eu-west-1",
                       peer_vpc_id=peer_vpc, peer_cidrs=["10.1.0.0/16"],
                       cluster_cidr="172.20.0.0/19",
                       dns=[{"domain": "corp.example.internal", "resolver_ips": ["10.1.0.2"]}],
                       ingress=[{"target": "database", "port": 5432}])
    pcx = reconcile_peering(clients, network, "p", "db", request).aws_peering_id
    assert pcx
    # A stale route to the cluster's CIDR in the peer's main table: accept replaces it.
    peer_igw = peer_setup.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    peer_setup.attach_internet_gateway(InternetGatewayId=peer_igw, VpcId=peer_vpc)
    main = peer_setup.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [peer_vpc]}])["RouteTables"][0]["RouteTableId"]
    peer_setup.create_route(RouteTableId=main, DestinationCidrBlock="172.20.0.0/19",
                            GatewayId=peer_igw)
    second = peer_setup.create_route_table(VpcId=peer_vpc)["RouteTable"]["RouteTableId"]
    peer_ec2 = _recorded_ec2(emulator, PEER_ACCOUNT, "eu-west-1", customer_used)
    assert sorted(accept_peering(peer_ec2, pcx).routes_added) == sorted(
        f"{t}:172.20.0.0/19" for t in (main, second))
    validate_peering(peer_ec2, pcx, ports=[5432], security_group_ids=[sg])
    assert reconcile_peering(clients, network, "p", "db", request).phase == "active"
    # Drift the pass repairs with ReplaceRoute: the peer CIDR sent to the internet gateway.
    setup.replace_route(RouteTableId=table, DestinationCidrBlock="10.1.0.0/16", GatewayId=igw)
    reconcile_peering(clients, network, "p", "db", request)
    delete_peering(clients, network, "p", request)

    assert role_used == set(PERMISSIONS_BY_STEP["peering"])
    assert customer_used == set(CUSTOMER_PEERING_ACTIONS)


def _granted(document: dict[str, Any]) -> set[str]:
    return {a for s in document["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def test_the_peering_actions_are_granted_from_the_peering_policy_version_on() -> None:
    """The version before ``PEERING_POLICY_VERSION`` lacks them (so installing it expands the
    role, through the 14-day notice); it and every later version grant them all."""
    peering = set(PERMISSIONS_BY_STEP["peering"])
    for version in policy_versions.history():
        granted = _granted(version.document)
        if version_key(version.version) >= version_key(PEERING_POLICY_VERSION):
            assert peering <= granted, version.version
        else:
            assert "ec2:CreateVpcPeeringConnection" not in granted, version.version
    assert policy_versions.get(PEERING_POLICY_VERSION)

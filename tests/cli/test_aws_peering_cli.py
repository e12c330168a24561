"""`flightdeck aws peering accept|validate`, the real executable, with the peer account's own
profile on the emulator: the validator finds each missing piece and passes once it is fixed."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from cli.conftest import run_cli
from flightdeck.aws.emulator import RunningEmulator, write_aws_profile
from flightdeck.aws.peering import ClusterNetwork, reconcile_peering
from flightdeck.aws.peering_request import validate
from flightdeck.aws.provision import CachedClients

PEER_ACCOUNT = "333333333333"
PEER_REGION = "eu-west-1"
CLUSTER_CIDR = "172.20.0.0/19"


def _ec2(emulator: RunningEmulator, account: str, region: str) -> Any:
    creds = emulator.customer_credentials(account)
    return boto3.client("ec2", region_name=region, endpoint_url=emulator.endpoint_url,
                        aws_access_key_id=creds.access_key_id,
                        aws_secret_access_key=creds.secret_access_key)


@pytest.fixture
def env(emulator_env: RunningEmulator) -> dict[str, str]:
    write_aws_profile("peer", emulator_env.customer_credentials(PEER_ACCOUNT), region=PEER_REGION,
                      endpoint_url=emulator_env.endpoint_url)
    environment = dict(os.environ, COLUMNS="250")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        environment.pop(key, None)
    return environment


def _checks(env: dict[str, str], pcx: str, sg: str) -> tuple[int, dict[str, str]]:
    done = run_cli("aws", "peering", "validate", pcx, "--profile", "peer", "--port", "5432",
                   "--security-group", sg, "--json", env=env)
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    for check in report["checks"]:
        assert check["status"] == "pass" or check["remedy"], check
    return done.returncode, {c["name"]: c["status"] for c in report["checks"]}


def test_accept_then_validate_finds_each_gap_and_passes_once_fixed(
    env: dict[str, str], emulator_env: RunningEmulator
) -> None:
    cluster_ec2 = _ec2(emulator_env, emulator_env.customer_account_id, "us-east-1")
    vpc = cluster_ec2.create_vpc(CidrBlock=CLUSTER_CIDR)["Vpc"]["VpcId"]
    table = cluster_ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    peer = _ec2(emulator_env, PEER_ACCOUNT, PEER_REGION)
    peer_vpc = peer.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    peer.create_subnet(VpcId=peer_vpc, CidrBlock="10.1.1.0/24")
    sg = peer.create_security_group(GroupName="db", Description="db", VpcId=peer_vpc)["GroupId"]
    request = validate(peer_account_id=PEER_ACCOUNT, peer_region=PEER_REGION,
                       peer_vpc_id=peer_vpc, peer_cidrs=["10.1.0.0/16"], cluster_cidr=CLUSTER_CIDR)
    clients = CachedClients(lambda _: cluster_ec2)
    pcx = reconcile_peering(clients, ClusterNetwork("c1", vpc, (table,)), "p1", "db",
                            request).aws_peering_id
    assert pcx

    code, checks = _checks(env, pcx, sg)
    assert code == 1 and checks["peering"] == "fail" and checks["routes"] == "fail"

    accepted = run_cli("aws", "peering", "accept", pcx, "--profile", "peer", env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert f"{pcx} accepted" in accepted.stdout + accepted.stderr
    code, checks = _checks(env, pcx, sg)
    assert checks == {"peering": "pass", "routes": "pass", "network_acls": "pass",
                      "security_groups": "fail", "dns": "pass"}
    assert code == 1

    peer.authorize_security_group_ingress(GroupId=sg, IpProtocol="tcp", FromPort=5432,
                                          ToPort=5432, CidrIp=CLUSTER_CIDR)
    assert _checks(env, pcx, sg) == (0, {"peering": "pass", "routes": "pass",
                                         "network_acls": "pass", "security_groups": "pass",
                                         "dns": "pass"})

    # Break a route, the ACL and DNS; each is found, with its remedy.
    tables = peer.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [peer_vpc]}])["RouteTables"]
    peer.delete_route(RouteTableId=tables[0]["RouteTableId"], DestinationCidrBlock=CLUSTER_CIDR)
    acl = peer.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [peer_vpc]}])["NetworkAcls"][0]["NetworkAclId"]
    peer.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="6",
                                  RuleAction="deny", Egress=False, CidrBlock=CLUSTER_CIDR,
                                  PortRange={"From": 5432, "To": 5432})
    peer.modify_vpc_peering_connection_options(
        VpcPeeringConnectionId=pcx,
        AccepterPeeringConnectionOptions={"AllowDnsResolutionFromRemoteVpc": False})
    code, checks = _checks(env, pcx, sg)
    assert code == 1
    assert checks == {"peering": "pass", "routes": "fail", "network_acls": "fail",
                      "security_groups": "pass", "dns": "fail"}
    shown = run_cli("aws", "peering", "validate", pcx, "--profile", "peer", "--port", "5432",
                    env=env)
    assert shown.returncode == 1
    assert "denies inbound TCP 5432" in shown.stdout and "create-route" in shown.stdout

    # Accepting again repairs the route and DNS; the ACL rule is the customer's to remove.
    again = run_cli("aws", "peering", "accept", pcx, "--profile", "peer", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["accepted"] is False
    peer.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Egress=False)
    assert _checks(env, pcx, sg)[0] == 0


def test_a_peering_not_visible_here_is_one_line(
    env: dict[str, str], emulator_env: RunningEmulator
) -> None:
    done = run_cli("aws", "peering", "accept", "pcx-0123456789abcdef0", "--profile", "peer",
                   env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "not visible with these credentials" in done.stdout + done.stderr

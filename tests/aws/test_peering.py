"""Both sides of a VPC peering against the emulator over HTTP: the cluster side through the
role (assumed into the cluster's account), the customer side with the peer account's keys."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.peering import (
    PEERING_TAG,
    ClusterNetwork,
    delete_peering,
    find_connection,
    reconcile_peering,
)
from flightdeck.aws.peering_customer import PeeringNotAcceptable, accept_peering
from flightdeck.aws.peering_request import validate
from flightdeck.aws.provision import CachedClients
from flightdeck.phases import PeeringPhase

PEER_ACCOUNT = "333333333333"
CLUSTER_CIDR = "172.20.0.0/19"
PEER_CIDR = "10.1.0.0/16"


def _role_clients(emulator: RunningEmulator, region: str) -> CachedClients:
    """Clients into the cluster's account through the role, as the control plane gets them."""
    platform = emulator.platform_credentials()
    sts = boto3.client("sts", region_name=region, endpoint_url=emulator.endpoint_url,
                       aws_access_key_id=platform.access_key_id,
                       aws_secret_access_key=platform.secret_access_key)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{emulator.customer_account_id}:role/flightdeck-remote-management",
        RoleSessionName="peering-tests", ExternalId="peering-tests")["Credentials"]
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name=region)
    return CachedClients(lambda service: session.client(service,
                                                        endpoint_url=emulator.endpoint_url))


def _own_ec2(emulator: RunningEmulator, account: str, region: str) -> Any:
    """EC2 with an account's own administrator keys (the customer's credentials)."""
    creds = emulator.customer_credentials(account)
    return boto3.client("ec2", region_name=region, endpoint_url=emulator.endpoint_url,
                        aws_access_key_id=creds.access_key_id,
                        aws_secret_access_key=creds.secret_access_key)


def _cluster_network(clients: CachedClients, cluster_id: str) -> ClusterNetwork:
    """A cluster VPC with two private route tables, as the provisioning steps leave it."""
    ec2 = clients.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=CLUSTER_CIDR)["Vpc"]["VpcId"]
    tables = tuple(ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
                   for _ in range(2))
    return ClusterNetwork(cluster_id=cluster_id, vpc_id=vpc, private_route_table_ids=tables)


def _routes(ec2: Any, table_ids: list[str] | tuple[str, ...]) -> dict[str, dict[str, str]]:
    tables = ec2.describe_route_tables(RouteTableIds=list(table_ids))["RouteTables"]
    return {t["RouteTableId"]: {r["DestinationCidrBlock"]: r.get("VpcPeeringConnectionId", "")
                                for r in t["Routes"] if "DestinationCidrBlock" in r}
            for t in tables}


def _tagged_live(ec2: Any, peering_id: str) -> list[str]:
    found = ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
    return [c["VpcPeeringConnectionId"] for c in found
            if any(t["Key"] == PEERING_TAG and t["Value"] == peering_id for t in c.get("Tags", []))
            and c["Status"]["Code"] not in ("deleted", "rejected", "failed", "expired")]


@pytest.mark.parametrize(
    ("peer_account", "peer_region"),
    [("customer", "us-east-1"), (PEER_ACCOUNT, "us-east-1"), (PEER_ACCOUNT, "eu-west-1")],
    ids=["same-account", "cross-account", "cross-account-cross-region"],
)
def test_peering_reaches_active_after_accept_and_leaves_nothing_behind(
    emulator_env: RunningEmulator, peer_account: str, peer_region: str
) -> None:
    emulator = emulator_env
    account = emulator.customer_account_id if peer_account == "customer" else peer_account
    clients = _role_clients(emulator, "us-east-1")
    network = _cluster_network(clients, "cl-peering-1")
    peer_ec2 = _own_ec2(emulator, account, peer_region)
    peer_vpc = peer_ec2.create_vpc(CidrBlock=PEER_CIDR)["Vpc"]["VpcId"]
    request = validate(peer_account_id=account, peer_region=peer_region, peer_vpc_id=peer_vpc,
                       peer_cidrs=[PEER_CIDR], cluster_cidr=CLUSTER_CIDR)

    first = reconcile_peering(clients, network, "p-1", "warehouse", request)
    assert first.phase == PeeringPhase.PENDING_ACCEPTANCE
    assert first.aws_peering_id and "flightdeck aws peering accept" in first.message
    # A pass repeated (a worker killed and restarted) finds it by tag: no duplicate.
    again = reconcile_peering(clients, network, "p-1", "warehouse", request,
                              previous=first.phase)
    assert again.aws_peering_id == first.aws_peering_id
    cluster_ec2 = clients.client("ec2")
    assert _tagged_live(cluster_ec2, "p-1") == [first.aws_peering_id]

    report = accept_peering(peer_ec2, first.aws_peering_id)
    assert report.accepted and report.dns_resolution
    assert report.cluster_cidrs == [CLUSTER_CIDR]
    peer_tables = peer_ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [peer_vpc]}])["RouteTables"]
    assert all(_routes(peer_ec2, [t["RouteTableId"]])[t["RouteTableId"]][CLUSTER_CIDR]
               == first.aws_peering_id for t in peer_tables)
    # Accepting twice changes nothing.
    assert accept_peering(peer_ec2, first.aws_peering_id).routes_added == []

    active = reconcile_peering(clients, network, "p-1", "warehouse", request,
                               previous=again.phase)
    assert active.phase == PeeringPhase.ACTIVE
    assert sorted(active.routes) == sorted(f"{t}:{PEER_CIDR}"
                                           for t in network.private_route_table_ids)
    routes = _routes(cluster_ec2, network.private_route_table_ids)
    assert all(r[PEER_CIDR] == first.aws_peering_id for r in routes.values())

    # Drift: a route deleted out of band is put back by the next pass.
    cluster_ec2.delete_route(RouteTableId=network.private_route_table_ids[0],
                             DestinationCidrBlock=PEER_CIDR)
    reconcile_peering(clients, network, "p-1", "warehouse", request, previous=active.phase)
    assert PEER_CIDR in _routes(cluster_ec2, network.private_route_table_ids[:1])[
        network.private_route_table_ids[0]]

    gone = delete_peering(clients, network, "p-1", request)
    assert gone.phase == PeeringPhase.DELETED
    assert _tagged_live(cluster_ec2, "p-1") == []
    assert all(PEER_CIDR not in r
               for r in _routes(cluster_ec2, network.private_route_table_ids).values())
    # Deleting again is a no-op.
    assert delete_peering(clients, network, "p-1", request).aws_peering_id is None


def test_a_peer_vpc_that_does_not_exist_fails_with_the_fix(emulator_env: RunningEmulator) -> None:
    clients = _role_clients(emulator_env, "us-east-1")
    network = _cluster_network(clients, "cl-peering-2")
    request = validate(peer_account_id=PEER_ACCOUNT, peer_region="us-east-1",
                       peer_vpc_id="vpc-0123456789abcdef0", peer_cidrs=[PEER_CIDR],
                       cluster_cidr=CLUSTER_CIDR)
    state = reconcile_peering(clients, network, "p-2", "missing", request)
    assert state.phase == PeeringPhase.FAILED
    assert state.message.startswith("peer_vpc_id: vpc-0123456789abcdef0 was not found")
    assert find_connection(clients.client("ec2"), network, "p-2") is None


def test_accept_from_the_wrong_place_says_where_to_run_it(emulator_env: RunningEmulator) -> None:
    clients = _role_clients(emulator_env, "us-east-1")
    network = _cluster_network(clients, "cl-peering-3")
    peer_ec2 = _own_ec2(emulator_env, PEER_ACCOUNT, "eu-west-1")
    peer_vpc = peer_ec2.create_vpc(CidrBlock=PEER_CIDR)["Vpc"]["VpcId"]
    request = validate(peer_account_id=PEER_ACCOUNT, peer_region="eu-west-1",
                       peer_vpc_id=peer_vpc, peer_cidrs=[PEER_CIDR], cluster_cidr=CLUSTER_CIDR)
    pcx = reconcile_peering(clients, network, "p-3", "warehouse", request).aws_peering_id
    assert pcx
    with pytest.raises(PeeringNotAcceptable, match="--region"):
        accept_peering(_own_ec2(emulator_env, PEER_ACCOUNT, "us-west-2"), pcx)


class Killed(Exception):
    """The worker dying between two AWS calls."""


def test_a_pass_killed_between_any_two_calls_resumes_without_duplicates(
    emulator_env: RunningEmulator,
) -> None:
    clients = _role_clients(emulator_env, "us-east-1")
    network = _cluster_network(clients, "cl-peering-4")
    peer_ec2 = _own_ec2(emulator_env, PEER_ACCOUNT, "us-east-1")
    peer_vpc = peer_ec2.create_vpc(CidrBlock=PEER_CIDR)["Vpc"]["VpcId"]
    request = validate(peer_account_id=PEER_ACCOUNT, peer_region="us-east-1",
                       peer_vpc_id=peer_vpc, peer_cidrs=[PEER_CIDR], cluster_cidr=CLUSTER_CIDR)
    ec2 = clients.client("ec2")
    calls = {"n": 0, "kill_at": 0}

    def maybe_kill(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == calls["kill_at"]:
            raise Killed

    ec2.meta.events.register("before-call.ec2.*", maybe_kill)
    pcx = reconcile_peering(clients, network, "p-4", "db", request).aws_peering_id
    assert pcx
    accept_peering(peer_ec2, pcx)
    # The active pass makes four calls (describe the connection, the tables, two routes):
    # kill it before each in turn; the last kill leaves one route made, one not.
    for kill_at in range(1, 5):
        calls.update(n=0, kill_at=kill_at)
        with pytest.raises(Killed):
            reconcile_peering(clients, network, "p-4", "db", request,
                              previous=PeeringPhase.PENDING_ACCEPTANCE)
    made = [t for t, r in _routes(ec2, network.private_route_table_ids).items() if PEER_CIDR in r]
    assert len(made) == 1
    calls.update(n=0, kill_at=0)
    done = reconcile_peering(clients, network, "p-4", "db", request,
                             previous=PeeringPhase.PENDING_ACCEPTANCE)
    assert done.phase == PeeringPhase.ACTIVE and done.aws_peering_id == pcx
    assert _tagged_live(ec2, "p-4") == [pcx]
    assert all(r[PEER_CIDR] == pcx for r in _routes(ec2, network.private_route_table_ids).values())

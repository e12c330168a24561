"""The peering pass through the reconcile worker, over a real database and the emulator:
requested → pending-acceptance (Owners emailed) → accepted by the customer → active with
routes → deleted on request, and deleted with the cluster before its VPC goes."""

from __future__ import annotations

from typing import Any

import boto3
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.peering_customer import accept_peering
from flightdeck.aws.permissions import POLICY_VERSION
from flightdeck.db.models import (
    AwsAccountPolicyState,
    Cluster,
    ClusterEvent,
    ClusterPeering,
    Notification,
)
from flightdeck.services.clusters import peerings
from flightdeck.services.clusters.engine import EngineOutcome
from flightdeck.services.clusters.peering_pass import run_peering_pass
from flightdeck.services.clusters.worker import ReconcileWorker
from services.conftest import Tenant, add_cluster

PEER_ACCOUNT = "333333333333"


def _ec2(emulator: RunningEmulator, account: str, region: str) -> Any:
    creds = emulator.customer_credentials(account)
    return boto3.client("ec2", region_name=region, endpoint_url=emulator.endpoint_url,
                        aws_access_key_id=creds.access_key_id,
                        aws_secret_access_key=creds.secret_access_key)


def _active_cluster(factory: sessionmaker[Session], tenant: Tenant,
                    emulator: RunningEmulator) -> tuple[str, list[str]]:
    """A cluster row Active with its VPC and private route tables recorded, as its
    reconcile leaves them."""
    ec2 = _ec2(emulator, emulator.customer_account_id, "us-east-1")
    vpc = ec2.create_vpc(CidrBlock="172.20.0.0/19")["Vpc"]["VpcId"]
    tables = [ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _ in "ab"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"172.20.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for i, z in enumerate("ab")]
    groups = {key: ec2.create_security_group(GroupName=key, Description=key,
                                             VpcId=vpc)["GroupId"]
              for key in ("sg-eks-cluster", "sg-database")}
    cluster_id = add_cluster(factory, tenant)
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        cluster.phase = "Active"
        cluster.status = {"conditions": {
            "vpc": {"resources": {"vpc": vpc}},
            "route_tables": {"resources": {"private-a": tables[0], "private-b": tables[1]}},
            "subnets": {"resources": {"private-a": subnets[0], "private-b": subnets[1]}},
            "security_groups": {"resources": groups},
        }}
        # The role holds the latest policy version, which grants the peering actions.
        session.add(AwsAccountPolicyState(aws_account_ref=tenant.account.id,
                                          policy_version=POLICY_VERSION))
        session.commit()
    return cluster_id, tables


def _group(factory: sessionmaker[Session], cluster_id: str, key: str) -> str:
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        return str(cluster.status["conditions"]["security_groups"]["resources"][key])


def _peering(factory: sessionmaker[Session], peering_id: str) -> ClusterPeering:
    with factory() as session:
        row = session.get(ClusterPeering, peering_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_peering_goes_active_through_the_worker_and_is_deleted_with_the_cluster(
    session_factory: sessionmaker[Session], tenant: Tenant, emulator_env: RunningEmulator
) -> None:
    factory = session_factory
    cluster_id, tables = _active_cluster(factory, tenant, emulator_env)
    peer_ec2 = _ec2(emulator_env, PEER_ACCOUNT, "eu-west-1")
    peer_vpc = peer_ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    with factory() as session:
        owner = session.merge(tenant.owner)
        peering_id = peerings.request_peering(
            session, owner, tenant.organization_id, "prod", name="warehouse",
            peer_account_id=PEER_ACCOUNT, peer_region="eu-west-1", peer_vpc_id=peer_vpc,
            peer_cidrs=["10.1.0.0/16"],
            dns=[{"domain": "corp.example.internal", "resolver_ips": ["10.1.0.2"]}],
            ingress=[{"target": "database", "port": 5432}]).id

    outcomes = iter([EngineOutcome(phase="Active")] * 3 + [EngineOutcome(phase="Deleted")])
    worker = ReconcileWorker(
        factory, engine=lambda *_: next(outcomes), max_requeue_seconds=0,
        peering_pass=lambda session, cid: run_peering_pass(session, cid, tenant.sessions))

    def due_now() -> None:
        with factory() as session:
            session.execute(update(Cluster).values(next_reconcile_at=Cluster.created_at))
            session.commit()

    worker.run_once()
    pending = _peering(factory, peering_id)
    assert pending.phase == "pending-acceptance" and pending.aws_peering_id
    with factory() as session:
        subjects = session.scalars(select(Notification.subject)).all()
        assert any("warehouse" in s and "acceptance" in s for s in subjects), subjects

    report = accept_peering(peer_ec2, pending.aws_peering_id)
    assert report.routes_added
    due_now()
    worker.run_once()
    active = _peering(factory, peering_id)
    assert active.phase == "active"
    assert sorted(active.status["routes"]) == sorted(f"{t}:10.1.0.0/16" for t in tables)
    # Repeated passes change nothing and create no second connection.
    due_now()
    worker.run_once()
    assert _peering(factory, peering_id).aws_peering_id == active.aws_peering_id
    cluster_ec2 = _ec2(emulator_env, emulator_env.customer_account_id, "us-east-1")
    live = [c for c in cluster_ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
            if c["Status"]["Code"] == "active"]
    assert [c["VpcPeeringConnectionId"] for c in live] == [active.aws_peering_id]
    # The rules and the DNS pieces are recorded; Owners were mailed once for each phase.
    assert active.status["rules"] == [
        f"{_group(factory, cluster_id, 'sg-database')}:tcp/5432:10.1.0.0/16"]
    assert len(active.status["dns"]) == 3  # its security group, the endpoint, one rule
    with factory() as session:
        mails = session.scalars(select(Notification).where(Notification.kind == "peering")
                                .order_by(Notification.created_at)).all()
        assert [("acceptance" in m.subject, "active" in m.subject) for m in mails] == [
            (True, False), (False, True)], [m.subject for m in mails]

    with factory() as session:
        owner = session.merge(tenant.owner)
        from flightdeck.services.clusters import requests as clusters

        clusters.request_deletion(session, owner, tenant.organization_id, "prod")
    due_now()
    worker.run_once()
    assert _peering(factory, peering_id).phase == "deleted"
    states = {c["VpcPeeringConnectionId"]: c["Status"]["Code"]
              for c in cluster_ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]}
    assert states[active.aws_peering_id] == "deleted"
    routes = cluster_ec2.describe_route_tables(RouteTableIds=tables)["RouteTables"]
    assert all(r.get("DestinationCidrBlock") != "10.1.0.0/16"
               for t in routes for r in t["Routes"])
    # Nothing tagged with the peering is left: no DNS group, endpoint, rule or ingress rule.
    resolver = boto3.client("route53resolver", region_name="us-east-1",
                            endpoint_url=emulator_env.endpoint_url,
                            aws_access_key_id=emulator_env.customer_credentials(
                                emulator_env.customer_account_id).access_key_id,
                            aws_secret_access_key=emulator_env.customer_credentials(
                                emulator_env.customer_account_id).secret_access_key)

    def tagged(arn: str) -> bool:
        tags = resolver.list_tags_for_resource(ResourceArn=arn)["Tags"]
        return {"Key": "flightdeck:peering-id", "Value": peering_id} in tags

    assert [e for e in resolver.list_resolver_endpoints()["ResolverEndpoints"]
            if tagged(e["Arn"])] == []
    assert [r for r in resolver.list_resolver_rules()["ResolverRules"]
            if r["RuleType"] == "FORWARD" and tagged(r["Arn"])] == []
    leftover = cluster_ec2.describe_security_groups(
        Filters=[{"Name": "tag:flightdeck:peering-id", "Values": [peering_id]}])["SecurityGroups"]
    assert leftover == []
    db = cluster_ec2.describe_security_groups(
        GroupIds=[_group(factory, cluster_id, "sg-database")])["SecurityGroups"][0]
    assert all(r["CidrIp"] != "10.1.0.0/16" for p in db["IpPermissions"] for r in p["IpRanges"])
    with factory() as session:
        actions = session.scalars(select(ClusterEvent.action).where(
            ClusterEvent.cluster_id == cluster_id, ClusterEvent.step == "peering")
            .order_by(ClusterEvent.created_at)).all()
    assert list(actions) == ["peering-requested", "peering-pending-acceptance",
                             "peering-active", "peering-deleted"]

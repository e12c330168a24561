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
from flightdeck.db.models import Cluster, ClusterEvent, ClusterPeering, Notification
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
    cluster_id = add_cluster(factory, tenant)
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        cluster.phase = "Active"
        cluster.status = {"conditions": {
            "vpc": {"resources": {"vpc": vpc}},
            "route_tables": {"resources": {"private-a": tables[0], "private-b": tables[1]}},
        }}
        session.commit()
    return cluster_id, tables


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
            peer_cidrs=["10.1.0.0/16"]).id

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
    with factory() as session:
        actions = session.scalars(select(ClusterEvent.action).where(
            ClusterEvent.cluster_id == cluster_id, ClusterEvent.step == "peering")
            .order_by(ClusterEvent.created_at)).all()
    assert list(actions) == ["peering-requested", "peering-pending-acceptance",
                             "peering-active", "peering-deleted"]

"""The reconcile worker over a real database and the AWS emulator: create to Active,
resume after a killed worker, two workers without duplicates, delete to nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.provision import tag_scan
from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, Notification
from flightdeck.db.types import utcnow
from flightdeck.services import orgs
from flightdeck.services.clusters import requests as clusters
from flightdeck.services.clusters.engine import aws_engine, clients_for, run_engine, spec_for
from flightdeck.services.clusters.worker import EngineOutcome, ReconcileWorker
from provision.inventory import EMPTY, EXPECTED_ACTIVE, inventory
from services.conftest import Tenant, add_cluster


def _make_due(factory: sessionmaker[Session], cluster_id: str) -> None:
    """Skip the requeue delay: the test plays the clock."""
    with factory() as session:
        session.execute(update(Cluster).where(Cluster.id == cluster_id)
                        .values(next_reconcile_at=utcnow()))
        session.commit()


def _phase(factory: sessionmaker[Session], cluster_id: str) -> str:
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        return cluster.phase


def drive(worker: ReconcileWorker, factory: sessionmaker[Session], cluster_id: str,
          until: tuple[str, ...], passes: int = 40) -> str:
    for _ in range(passes):
        _make_due(factory, cluster_id)
        worker.run_once()
        phase = _phase(factory, cluster_id)
        if phase in until:
            return phase
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        raise AssertionError(f"cluster still {cluster.phase} after {passes} passes: "
                             f"{cluster.last_error}; {cluster.status}")


def _clients(factory: sessionmaker[Session], cluster_id: str, tenant: Tenant) -> tuple[Any, Any]:
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        account = session.get(AwsAccount, cluster.aws_account_ref)
        assert account is not None
        external_id = orgs.external_id_for(session, cluster.organization_id)
        clients = clients_for(account, external_id, cluster.region, tenant.sessions)
        return spec_for(cluster), clients


def test_create_to_active_then_delete_to_nothing(
    session_factory: sessionmaker[Session], tenant: Tenant
) -> None:
    cluster_id = add_cluster(session_factory, tenant)
    worker = ReconcileWorker(session_factory, aws_engine(tenant.sessions))
    assert drive(worker, session_factory, cluster_id, ("Active", "Failed")) == "Active"

    spec, clients = _clients(session_factory, cluster_id, tenant)
    assert inventory(clients, spec) == EXPECTED_ACTIVE
    with session_factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None and cluster.lease_owner is None
        conditions = cluster.status["conditions"]
        assert conditions["vpc"]["state"] == "Ready"
        assert conditions["vpc"]["resources"] or conditions["vpc"].get("aws_id")
        events = session.scalars(select(ClusterEvent).where(
            ClusterEvent.cluster_id == cluster_id)).all()
        assert any(e.action == "created" and e.aws_id for e in events)
        mail = session.scalars(select(Notification)).all()
        assert [(m.recipient, m.kind) for m in mail] == [("owner@acme.example", "cluster.Active")]

    with session_factory() as session:
        clusters.request_deletion(session, tenant.owner, tenant.organization_id, cluster_id)
    assert drive(worker, session_factory, cluster_id, ("Deleted", "Failed")) == "Deleted"
    assert tag_scan(clients, spec) == []
    assert inventory(clients, spec) == EMPTY
    with session_factory() as session:
        events = session.scalars(select(ClusterEvent).where(
            ClusterEvent.cluster_id == cluster_id)).all()
        assert any(e.action == "deleted" for e in events)
        assert session.get(Cluster, cluster_id) is not None  # the row and timeline remain


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, the lease is left behind."""


def _dying_engine(after_events: int, sessions: Any) -> Callable[..., EngineOutcome]:
    seen = {"events": 0}

    def engine(cluster: Cluster, account: AwsAccount, external_id: str,
               on_progress: Callable[[dict[str, Any], dict[str, Any]], None]) -> EngineOutcome:
        def progress(status: dict[str, Any], event: dict[str, Any]) -> None:
            on_progress(status, event)
            seen["events"] += 1
            if seen["events"] >= after_events:
                raise WorkerKilled

        return run_engine(cluster, account, external_id, progress, sessions)

    return engine


@pytest.mark.parametrize("after_events", [3, 20])
def test_killed_worker_is_resumed_by_another_without_duplicates(
    session_factory: sessionmaker[Session], tenant: Tenant, after_events: int
) -> None:
    cluster_id = add_cluster(session_factory, tenant)
    doomed = ReconcileWorker(session_factory, engine=_dying_engine(after_events, tenant.sessions),
                             worker_id="doomed")
    with pytest.raises(WorkerKilled):
        doomed.run_once()
    survivor = ReconcileWorker(session_factory, aws_engine(tenant.sessions), worker_id="survivor")
    assert survivor.run_once() == 0, "the dead worker's lease must still hold"
    with session_factory() as session:  # the lease runs out
        session.execute(update(Cluster).where(Cluster.id == cluster_id).values(
            lease_expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert drive(survivor, session_factory, cluster_id, ("Active", "Failed")) == "Active"
    spec, clients = _clients(session_factory, cluster_id, tenant)
    assert inventory(clients, spec) == EXPECTED_ACTIVE


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_create_twice(
    session_factory: sessionmaker[Session], tenant: Tenant, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers share a database only on PostgreSQL")
    cluster_id = add_cluster(session_factory, tenant)
    workers = [ReconcileWorker(session_factory, aws_engine(tenant.sessions), worker_id=f"w{i}")
               for i in range(2)]
    worked: dict[str, int] = {"w0": 0, "w1": 0}
    done = threading.Event()

    def loop(worker: ReconcileWorker) -> None:
        for _ in range(200):
            if done.is_set():
                return
            _make_due(session_factory, cluster_id)
            worked[worker.worker_id] += worker.run_once()
            if _phase(session_factory, cluster_id) in ("Active", "Failed"):
                done.set()

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert _phase(session_factory, cluster_id) == "Active"
    spec, clients = _clients(session_factory, cluster_id, tenant)
    assert inventory(clients, spec) == EXPECTED_ACTIVE
    assert sum(worked.values()) >= 1


def test_racing_workers_claim_a_cluster_exactly_once(
    session_factory: sessionmaker[Session], tenant: Tenant
) -> None:
    cluster_id = add_cluster(session_factory, tenant)
    workers = [ReconcileWorker(session_factory, aws_engine(tenant.sessions), worker_id=f"racer-{i}")
               for i in range(6)]
    barrier = threading.Barrier(len(workers))
    claims: dict[str, list[str]] = {}

    def race(worker: ReconcileWorker) -> None:
        barrier.wait()
        claims[worker.worker_id] = worker.claim_due()

    threads = [threading.Thread(target=race, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [worker_id for worker_id, won in claims.items() if won == [cluster_id]]
    assert len(claims) == len(workers) and len(winners) == 1, claims
    with session_factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None and cluster.lease_owner == winners[0]


def test_a_crashed_pass_tells_the_user_and_is_retried_later(
    session_factory: sessionmaker[Session], tenant: Tenant
) -> None:
    cluster_id = add_cluster(session_factory, tenant)

    def broken(*_: Any) -> EngineOutcome:
        raise KeyError("an unexpected bug with secret detail")

    worker = ReconcileWorker(session_factory, broken)
    assert worker.run_once() == 1
    with session_factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None and cluster.lease_owner is None
        assert cluster.last_error is not None and "KeyError" in cluster.last_error
        assert "secret detail" not in cluster.last_error
        assert cluster.next_reconcile_at > utcnow() + timedelta(seconds=20)
    assert worker.run_once() == 0  # not in a tight loop

"""Reconcile worker benchmark: the real worker, a real database and the in-process emulator.

Prints, for one worker and N Active clusters (each in its own customer account, as real
tenants are):
- AWS API calls and wall time to take one cluster from Pending to Active (the baseline);
- AWS calls per steady-state reconcile of an Active cluster (goal <= 5);
- Active clusters reconciled per minute by one worker (goal >= 1,000), and its ratio to
  the goal.
Figures, not assertions.

    .venv/bin/python bench/reconcile_bench.py --clusters 200 [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from flightdeck.aws import session as aws_session
from flightdeck.aws.emulator import start_emulator
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.migrate import upgrade
from flightdeck.db.models import AwsAccount, Cluster, Organization, OrganizationExternalId
from flightdeck.db.types import utcnow
from flightdeck.services.clusters.engine import aws_engine
from flightdeck.services.clusters.worker import ReconcileWorker


class CallCounter:
    """Counts every AWS API call made by clients built through flightdeck.aws.session."""

    def __init__(self) -> None:
        self.calls = 0
        original = aws_session.client

        def counting_client(*args: Any, **kwargs: Any) -> Any:
            built = original(*args, **kwargs)
            built.meta.events.register("before-call", self._count)
            return built

        aws_session.client = counting_client  # type: ignore[assignment]

    def _count(self, **_: Any) -> None:
        self.calls += 1


def add_tenant_cluster(factory: Any, index: int) -> str:
    account_id = f"3{index:011d}"
    with factory() as session:
        org = Organization(name=f"tenant-{index}")
        session.add(org)
        session.flush()
        session.add(OrganizationExternalId(organization_id=org.id,
                                           external_id=f"bench-external-id-{index:06d}"))
        account = AwsAccount(organization_id=org.id, account_id=account_id, status="verified",
                             role_arn=f"arn:aws:iam::{account_id}:role/flightdeck-remote-management")
        session.add(account)
        session.flush()
        cluster = Cluster(organization_id=org.id, aws_account_ref=account.id, name="prod",
                          region="us-east-1", phase="Pending",
                          spec={"name": "prod", "account_id": account_id, "region": "us-east-1",
                                "node_instance_type": "m5.xlarge", "max_nodes": 20,
                                "db_instance_type": "db.m6g.large",
                                "vpc_cidr": "172.20.0.0/19"})
        session.add(cluster)
        session.commit()
        return cluster.id


def make_all_due(factory: Any) -> None:
    with factory() as session:
        session.execute(update(Cluster).values(next_reconcile_at=utcnow()))
        session.commit()


def drive_to_active(worker: ReconcileWorker, factory: Any, limit: int) -> None:
    for _ in range(50):
        make_all_due(factory)
        worker.run_once(limit=limit)
        with factory() as session:
            pending = session.query(Cluster).filter(Cluster.phase != "Active").count()
        if not pending:
            return
    raise SystemExit("clusters did not become Active")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    emulator = start_emulator()
    platform = emulator.platform_credentials()
    sessions = aws_session.SessionFactory(
        endpoint_url=emulator.endpoint_url,
        credentials=aws_session.StaticCredentials(
            platform.access_key_id, platform.secret_access_key, platform.session_token
        ),
    )
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    counter = CallCounter()
    worker = ReconcileWorker(factory, aws_engine(sessions), worker_id="bench")

    first = add_tenant_cluster(factory, 0)
    started, calls_before = time.perf_counter(), counter.calls
    drive_to_active(worker, factory, limit=1)
    create_seconds = time.perf_counter() - started
    create_calls = counter.calls - calls_before
    print(f"one create (worker, Pending -> Active): {create_calls} AWS calls, "
          f"{create_seconds:.2f} s")

    setup = time.perf_counter()
    for index in range(1, args.clusters):
        add_tenant_cluster(factory, index)
    drive_to_active(worker, factory, limit=args.clusters)
    print(f"setup: {args.clusters} Active clusters in {time.perf_counter() - setup:.0f} s")

    calls_before = counter.calls
    make_all_due(factory)
    with factory() as session:  # only the first cluster is due
        session.execute(update(Cluster).where(Cluster.id != first)
                        .values(next_reconcile_at=utcnow().replace(year=2100)))
        session.commit()
    worker.run_once(limit=1)
    print(f"steady-state reconcile of one Active cluster: {counter.calls - calls_before} "
          "AWS calls (goal <= 5)")

    make_all_due(factory)
    calls_before = counter.calls
    started = time.perf_counter()
    reconciled = worker.run_once(limit=args.clusters)
    seconds = time.perf_counter() - started
    per_minute = reconciled / seconds * 60
    print(f"steady state: {reconciled} Active clusters in {seconds:.2f} s by one worker, "
          f"{(counter.calls - calls_before) / max(reconciled, 1):.1f} calls each")
    print(f"throughput: {per_minute:,.0f} clusters/minute (goal >= 1,000; "
          f"ratio {per_minute / 1000:.2f})")
    emulator.stop()


if __name__ == "__main__":
    main()

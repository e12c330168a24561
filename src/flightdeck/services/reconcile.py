"""The reconcile worker: takes due clusters under a lease and drives them toward their spec.

Several workers may share one PostgreSQL database: a cluster is claimed by a
compare-and-set on its lease (candidates picked with ``FOR UPDATE SKIP LOCKED``), the lease
is renewed on every progress report, and a worker that lost its lease stops touching the
cluster. Progress (status and timeline) is committed after every step, so a killed worker's
successor resumes where it stopped. Waiting is a requeue, never a blocking waiter.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, Deployment
from flightdeck.db.types import utcnow
from flightdeck.services import notifications, orgs
from flightdeck.services.leases import LeasedTable

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
STEADY_STATE_INTERVAL = timedelta(minutes=5)
ACTIVE_PHASES_DUE = ("Pending", "Creating", "Active", "Deleting")


class LeaseLost(Exception):
    """Another worker owns the cluster now; stop without writing anything more."""


@dataclass(frozen=True)
class EngineOutcome:
    """What one reconcile pass concluded, in the worker's terms."""

    phase: str  # Creating | Active | Failed | Deleting | Deleted
    requeue_after: float | None = None
    error: str | None = None


# (cluster, account, external_id, on_progress) -> outcome. The default drives the AWS
# provisioning engine; tests and benchmarks may pass another.
Engine = Callable[
    [Cluster, AwsAccount, str, Callable[[dict[str, Any], dict[str, Any]], None]], EngineOutcome
]


CLUSTERS = LeasedTable(Cluster, Cluster.id, Cluster.next_reconcile_at)


def worker_identity() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class ReconcileWorker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        engine: Engine | None = None,
        worker_id: str | None = None,
        lease_seconds: int = LEASE_SECONDS,
        max_requeue_seconds: float | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.max_requeue_seconds = max_requeue_seconds
        self.worker_id = worker_id or worker_identity()
        self.lease_seconds = lease_seconds
        if engine is None:
            from flightdeck.services.provisioning import run_engine

            engine = run_engine
        self.engine = engine

    # -- leases ---------------------------------------------------------------------------
    def claim_due(self, limit: int = 10) -> list[str]:
        """Claim up to ``limit`` due clusters; only a successful compare-and-set counts."""
        with self.session_factory() as session:
            now = utcnow()
            candidates = (
                select(Cluster.id)
                .where(
                    Cluster.phase.in_(ACTIVE_PHASES_DUE),
                    Cluster.next_reconcile_at <= now,
                    CLUSTERS.free(now),
                )
                .order_by(Cluster.next_reconcile_at)
                .limit(limit)
            )
            return CLUSTERS.claim(session, candidates, self.worker_id, self.lease_seconds, now)

    def _renew(self, session: Session, cluster_id: str) -> None:
        now = utcnow()
        result = session.execute(
            update(Cluster)
            .where(Cluster.id == cluster_id, Cluster.lease_owner == self.worker_id)
            .values(lease_expires_at=now + timedelta(seconds=self.lease_seconds))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(cluster_id)

    # -- one cluster ----------------------------------------------------------------------
    def reconcile_one(self, cluster_id: str) -> EngineOutcome | None:
        with self.session_factory() as session:
            cluster = session.get(Cluster, cluster_id)
            if cluster is None or cluster.lease_owner != self.worker_id:
                return None
            account = session.get(AwsAccount, cluster.aws_account_ref)
            assert account is not None
            external_id = orgs.external_id_for(session, cluster.organization_id)
            waiting = cluster.desired_state == "absent" and _deployments_remain(session, cluster_id)
            session.expunge(cluster)
            session.expunge(account)
        if waiting:  # the Deployments on it go first
            outcome = EngineOutcome(phase="Deleting", requeue_after=5)
            self._finish(cluster_id, cluster.phase, outcome)
            return outcome

        def on_progress(status: dict[str, Any], event: dict[str, Any]) -> None:
            with self.session_factory() as progress_session:
                self._renew(progress_session, cluster_id)
                progress_session.execute(
                    update(Cluster)
                    .where(Cluster.id == cluster_id)
                    .values(status=status, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                if event:
                    progress_session.add(_event_row(cluster_id, event))
                progress_session.commit()
            cluster.status = status

        try:
            outcome = self.engine(cluster, account, external_id, on_progress)
        except LeaseLost:
            log.warning("lost the lease on cluster %s; another worker has it", cluster_id)
            return None
        self._finish(cluster_id, cluster.phase, outcome)
        return outcome

    def _finish(self, cluster_id: str, previous_phase: str, outcome: EngineOutcome) -> None:
        with self.session_factory() as session:
            cluster = session.get(Cluster, cluster_id)
            if cluster is None or cluster.lease_owner != self.worker_id:
                return
            now = utcnow()
            cluster.phase = outcome.phase
            cluster.lease_owner = None
            cluster.lease_expires_at = None
            if outcome.phase == "Active":
                cluster.observed_generation = cluster.generation
                cluster.attempts = 0
                cluster.last_error = None
                cluster.next_reconcile_at = now + STEADY_STATE_INTERVAL
            elif outcome.phase in ("Failed", "Deleted"):
                cluster.last_error = outcome.error
                cluster.next_reconcile_at = now + timedelta(days=3650)
            else:
                cluster.attempts += 1 if outcome.error else 0
                cluster.last_error = outcome.error
                delay = outcome.requeue_after or 5
                if self.max_requeue_seconds is not None:
                    delay = min(delay, self.max_requeue_seconds)
                cluster.next_reconcile_at = now + timedelta(seconds=delay)
            if outcome.phase != previous_phase:
                session.add(
                    ClusterEvent(
                        cluster_id=cluster_id,
                        action="phase",
                        message=f"{previous_phase} → {outcome.phase}"
                        + (f": {outcome.error}" if outcome.error else ""),
                    )
                )
                if outcome.phase in ("Active", "Failed"):
                    _notify(session, cluster, outcome)
            session.commit()

    # -- loops ----------------------------------------------------------------------------
    def run_once(self, limit: int = 10) -> int:
        """Claim and reconcile what is due now; returns how many clusters were worked on."""
        claimed = self.claim_due(limit)
        for cluster_id in claimed:
            try:
                self.reconcile_one(cluster_id)
            except Exception:  # one broken cluster must not stop the others
                log.exception("reconcile of cluster %s crashed", cluster_id)
                self._release_after_crash(cluster_id)
        return len(claimed)

    def _release_after_crash(self, cluster_id: str) -> None:
        CLUSTERS.release(
            self.session_factory, cluster_id, self.worker_id, utcnow() + timedelta(seconds=30)
        )

    def run_forever(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("reconcile loop error; continuing")
                worked = 0
            if not worked:
                stop.wait(idle_seconds)


def _deployments_remain(session: Session, cluster_id: str) -> bool:
    """A cluster's resources are deleted only after every Deployment on it is gone."""
    remaining = select(Deployment.id).where(
        Deployment.cluster_id == cluster_id, Deployment.phase != "Deleted"
    )
    return session.scalar(remaining.limit(1)) is not None


def _event_row(cluster_id: str, event: dict[str, Any]) -> ClusterEvent:
    return ClusterEvent(
        cluster_id=cluster_id,
        step=str(event.get("step", ""))[:50],
        action=str(event.get("action", ""))[:30],
        resource=str(event.get("resource", ""))[:200],
        aws_id=(str(event["aws_id"])[:2048] if event.get("aws_id") else None),
        message=str(event.get("message", "")),
    )


def _notify(session: Session, cluster: Cluster, outcome: EngineOutcome) -> None:
    if outcome.phase == "Active":
        subject = f"flightdeck: cluster {cluster.name} is Active"
        body = (
            f"Your cluster {cluster.name} ({cluster.id}) in {cluster.region} is Active.\n"
            "You can now create Deployments on it.\n"
        )
    else:
        subject = f"flightdeck: cluster {cluster.name} failed"
        body = (
            f"Provisioning cluster {cluster.name} ({cluster.id}) in {cluster.region} "
            f"failed:\n\n{outcome.error}\n\nSee `flightdeck cluster get {cluster.name}`.\n"
        )
    notifications.notify_owners(
        session,
        cluster.organization_id,
        kind=f"cluster.{outcome.phase}",
        subject=subject,
        body=body,
    )

"""The cluster worker: takes due clusters under a lease and drives them toward their spec.

Several workers may share one PostgreSQL database (see ``services/leases.py``); the lease
is renewed on every progress report, and a worker that lost its lease stops touching the
cluster. Progress (status and timeline) is committed after every step, so a killed worker's
successor resumes where it stopped. Waiting is a requeue, never a blocking waiter. The
engine that does the work is given (``services/workers.py`` passes the AWS one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, Deployment
from flightdeck.db.types import utcnow
from flightdeck.phases import LIVE_CLUSTER_PHASES, ClusterPhase, DeploymentPhase
from flightdeck.services import notifications, orgs
from flightdeck.services.clusters.engine import Engine, EngineOutcome
from flightdeck.services.clusters.mail import outcome_mail
from flightdeck.services.leases import LeasedTable, LeasedWorker

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
STEADY_STATE_INTERVAL = timedelta(minutes=5)

CLUSTERS = LeasedTable(Cluster, Cluster.id, Cluster.next_reconcile_at)
# (session, cluster id) -> peerings that changed phase: ``peering_pass.run_peering_pass``.
PeeringPass = Callable[[Session, str], int]


class ReconcileWorker(LeasedWorker):
    table = CLUSTERS
    noun = "cluster"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        engine: Engine,
        worker_id: str | None = None,
        lease_seconds: int = LEASE_SECONDS,
        max_requeue_seconds: float | None = None,
        peering_pass: PeeringPass | None = None,
    ) -> None:
        super().__init__(session_factory, lease_seconds=lease_seconds, worker_id=worker_id)
        self.max_requeue_seconds = max_requeue_seconds
        self.engine = engine
        self.peering_pass = peering_pass

    def candidates(self, now: datetime) -> Select[Any]:
        return (
            select(Cluster.id)
            .where(
                Cluster.phase.in_(LIVE_CLUSTER_PHASES),
                Cluster.next_reconcile_at <= now,
                CLUSTERS.free(now),
            )
            .order_by(Cluster.next_reconcile_at)
        )

    # -- one cluster ----------------------------------------------------------------------
    def work_on(self, key: str) -> EngineOutcome | None:
        cluster_id = key
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
            outcome = EngineOutcome(phase=ClusterPhase.DELETING, requeue_after=5)
            self._finish(cluster_id, cluster.phase, outcome)
            return outcome

        def on_progress(status: dict[str, Any], event: dict[str, Any]) -> None:
            with self.session_factory() as progress_session:
                self.renew(cluster_id, progress_session)
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

        deleting = cluster.desired_state == "absent"
        if deleting:  # the peerings go before the VPC they start from
            self._peerings(cluster_id)
        outcome = self.engine(cluster, account, external_id, on_progress)
        self._finish(cluster_id, cluster.phase, outcome)
        if not deleting and outcome.phase == ClusterPhase.ACTIVE:
            self._peerings(cluster_id)
        return outcome

    def _peerings(self, cluster_id: str) -> None:
        if self.peering_pass is None:
            return
        with self.session_factory() as session:
            try:
                self.peering_pass(session, cluster_id)
            except Exception:  # a peering never stops the cluster's own reconcile
                log.exception("peering pass of cluster %s failed", cluster_id)

    def _finish(self, cluster_id: str, previous_phase: str, outcome: EngineOutcome) -> None:
        with self.session_factory() as session:
            cluster = session.get(Cluster, cluster_id)
            if cluster is None or cluster.lease_owner != self.worker_id:
                return
            now = utcnow()
            cluster.phase = outcome.phase
            cluster.lease_owner = None
            cluster.lease_expires_at = None
            if outcome.phase == ClusterPhase.ACTIVE:
                cluster.observed_generation = cluster.generation
                cluster.attempts = 0
                cluster.last_error = None
                cluster.next_reconcile_at = now + STEADY_STATE_INTERVAL
            elif outcome.phase in (ClusterPhase.FAILED, ClusterPhase.DELETED):
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
                if outcome.phase in (ClusterPhase.ACTIVE, ClusterPhase.FAILED):
                    _notify(session, cluster, outcome)
            session.commit()


def _deployments_remain(session: Session, cluster_id: str) -> bool:
    """A cluster's resources are deleted only after every Deployment on it is gone."""
    remaining = select(Deployment.id).where(
        Deployment.cluster_id == cluster_id, Deployment.phase != DeploymentPhase.DELETED
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
    subject, body = outcome_mail(cluster, outcome.phase, outcome.error)
    notifications.notify_owners(
        session,
        cluster.organization_id,
        kind=f"cluster.{outcome.phase}",
        subject=subject,
        body=body,
    )

"""The deployment worker: make each Deployment's runtime match its spec, apply pending
deploys, and record health.

Same model as the cluster worker (``services/leases.py``): a due Deployment is claimed under
a lease, every runtime call is idempotent (``apply`` runs on every pass and does nothing
when nothing changed), and the outcome of each pass is committed before the next, so a
crash costs one pass at most. No database session is open while a runtime call runs, and
the lease is renewed meanwhile: a full deploy may install requirements for minutes.

A deploy is ``checking`` only while a worker runs its checks. One found ``checking`` at the
start of a pass was left by a worker that died: it is checked again, once; a deploy that
was interrupted twice fails with a message, so a bundle that kills workers cannot loop.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import Cluster, Deploy, Deployment
from flightdeck.db.types import utcnow
from flightdeck.phases import (
    OPEN_DEPLOY_STATUSES,
    DeploymentEventKind,
    DeploymentPhase,
    DeployStatus,
)
from flightdeck.runtime.base import (
    ClusterOutputs,
    CodeBundle,
    CodeRejected,
    DeploymentSpec,
    KeepsBundles,
    Runtime,
    RuntimeError_,
    RuntimeStatus,
    bounded,
)
from flightdeck.services import notifications
from flightdeck.services.deployments import retention, schedule, timeline
from flightdeck.services.deployments.mail import health_mail
from flightdeck.services.deployments.requests import cluster_outputs, runtime_spec
from flightdeck.services.deployments.runtimes import RuntimeFactory
from flightdeck.services.deployments.status import phase_for, status_from_json, status_to_json
from flightdeck.services.leases import LeasedTable, LeasedWorker, LeaseLost

log = logging.getLogger(__name__)

LEASE_SECONDS = 600  # renewed while a runtime call runs; this is how long a dead worker holds it
POLL_WHILE_CHANGING = 2.0
POLL_STEADY = 30.0
RESUMED = "resumed: the worker checking this deploy stopped; checking it again"

DEPLOYMENTS = LeasedTable(Deployment, Deployment.id, Deployment.next_reconcile_at)


def _notify_health_change(session: Session, deployment: Deployment, previous: str) -> None:
    """Owners hear when a running Deployment turns Unhealthy, and when it recovers."""
    healthy, unhealthy = DeploymentPhase.HEALTHY, DeploymentPhase.UNHEALTHY
    if (previous, deployment.phase) not in ((healthy, unhealthy), (unhealthy, healthy)):
        return
    subject, body = health_mail(
        deployment, status_from_json(deployment.status).message or deployment.last_error
    )
    notifications.notify_owners(
        session,
        deployment.organization_id,
        kind=f"deployment.{deployment.phase}",
        subject=subject,
        body=body,
    )


def _wake_if_due(session: Session, deployment: Deployment, now: datetime) -> None:
    """A hibernation whose time has passed ends here, before this pass applies the spec;
    then the hibernation schedule's latest change, if not applied yet."""
    if schedule.apply_due(session, deployment, now) is not None:
        session.commit()
    wake_at = deployment.wake_at
    if not deployment.hibernated or wake_at is None or wake_at > now:
        return
    deployment.hibernated = False
    deployment.wake_at = None
    timeline.record(
        session,
        deployment.id,
        DeploymentEventKind.AWAKE,
        f"woke up: its hibernation ended at {wake_at.isoformat(timespec='minutes')}",
    )
    session.commit()


class DeploymentWorker(LeasedWorker):
    table = DEPLOYMENTS
    noun = "Deployment"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        runtime_factory: RuntimeFactory,
        worker_id: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(session_factory, lease_seconds=lease_seconds, worker_id=worker_id)
        self.settings = settings
        # What "now" is for hibernation schedules and wake times (a test injects its own).
        self.clock = clock
        self.runtime_factory = runtime_factory
        # The start of each Deployment's processes this worker has seen serving: a new one
        # before any is seen is the control plane's restart, after one it is a crash.
        self._runs_seen: dict[str, str] = {}
        # Deployments this worker changed (a new spec or deploy) whose Airflow may start
        # again in this pass or a later one: that start is the change's, not a crash.
        self._restart_expected: set[str] = set()

    def candidates(self, now: datetime) -> Select[Any]:
        return (
            select(Deployment.id)
            .where(
                Deployment.phase != DeploymentPhase.DELETED,
                Deployment.next_reconcile_at <= now,
                DEPLOYMENTS.free(now),
            )
            .order_by(Deployment.next_reconcile_at)
        )

    # -- one Deployment -------------------------------------------------------------------
    def work_on(self, key: str) -> str | None:
        """One pass; returns the phase it left the Deployment in."""
        deployment_id = key
        with self.session_factory() as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is None or deployment.lease_owner != self.worker_id:
                return None
            runtime = self.runtime_factory(session, deployment)
            deleting = deployment.desired_state == "absent"
            if not deleting:
                _wake_if_due(session, deployment, self.clock())
            spec = runtime_spec(deployment, self.settings.secret_key)
            serving = deployment.current_deploy_id
            generation = deployment.generation
            applied = deployment.observed_generation == generation
            outputs: ClusterOutputs | None = None
            if not deleting:
                cluster = session.get(Cluster, deployment.cluster_id)
                assert cluster is not None
                outputs = cluster_outputs(cluster, self.settings)
        if deleting:
            with self.heartbeat(deployment_id):
                runtime.delete(spec)
            return self._finish(
                deployment_id, RuntimeStatus("absent", "deleted"), error=None, deleted=True
            )
        assert outputs is not None
        error: str | None = None
        try:
            # Every pass: apply is cheap when nothing changed, and it is what restarts
            # a component that died.
            with self.heartbeat(deployment_id):
                runtime.apply(spec, outputs)
            if not applied:
                self._update(deployment_id, observed_generation=generation)
            with self.heartbeat(deployment_id):
                status = runtime.status(spec)
            if status.health == "absent":  # removed behind our back: build it again
                self._update(deployment_id, observed_generation=0)
                status = RuntimeStatus("creating", "starting again: the runtime had nothing")
            elif status.health not in ("creating", "hibernating"):
                status = self._apply_deploys(deployment_id, runtime, spec, status)
        except RuntimeError_ as exc:
            status = RuntimeStatus("unhealthy", str(exc))
            error = str(exc)
        return self._finish(
            deployment_id, status, error=error, changed_spec=not applied, serving=serving
        )

    def _update(self, deployment_id: str, **values: Any) -> None:
        with self.session_factory() as session:
            self.renew(deployment_id, session)
            deployment = session.get(Deployment, deployment_id)
            assert deployment is not None
            for name, value in values.items():
                setattr(deployment, name, value)
            session.commit()

    def _finish(
        self,
        deployment_id: str,
        status: RuntimeStatus,
        *,
        error: str | None,
        deleted: bool = False,
        changed_spec: bool = False,
        serving: str | None = None,
    ) -> str | None:
        """Record what the pass saw. ``changed_spec`` (a new generation applied) and
        ``serving`` (the deploy in force when the pass began) tell a restart the pass itself
        made from a crash."""
        with self.session_factory() as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is None or deployment.lease_owner != self.worker_id:
                raise LeaseLost(deployment_id)
            deployment.lease_owner = None
            deployment.lease_expires_at = None
            if deleted:
                deployment.phase = DeploymentPhase.DELETED
                deployment.status = status_to_json(status)
                timeline.record(
                    session, deployment.id, DeploymentEventKind.DELETED, "deleted; Airflow removed"
                )
                session.commit()
                return deployment.phase
            deployment.last_error = error
            previous, previous_status = deployment.phase, status_from_json(deployment.status)
            observed_run = status.run_id
            if status.run_id is None and previous_status.run_id and not deployment.hibernated:
                # The last start seen (a hibernation forgets it: waking is no crash).
                status = replace(status, run_id=previous_status.run_id)
            self._record(deployment, status)
            changed = changed_spec or deployment.current_deploy_id != serving
            if changed:
                self._restart_expected.add(deployment_id)
            timeline.record_pass(
                session,
                deployment,
                previous,
                previous_status,
                status,
                first_sight=deployment_id not in self._runs_seen,
                planned=deployment_id in self._restart_expected,
            )
            restarted = status.run_id != previous_status.run_id
            if restarted or status.health in ("healthy", "unhealthy"):
                # Seen; or settled without one (a DAG-only deploy needs none): a later
                # start is not this change's.
                self._restart_expected.discard(deployment_id)
            if observed_run:
                self._runs_seen[deployment_id] = observed_run
            _notify_health_change(session, deployment, previous)
            waiting = status.health == "creating" or self._has_pending(session, deployment)
            delay = POLL_WHILE_CHANGING if waiting else POLL_STEADY
            deployment.next_reconcile_at = utcnow() + timedelta(seconds=delay)
            if deployment.hibernated and deployment.wake_at is not None:
                deployment.next_reconcile_at = min(deployment.next_reconcile_at, deployment.wake_at)
            planned = schedule.schedule_of(deployment)
            if planned is not None:  # due when the schedule next changes, not a poll later
                upcoming = planned.next_change(self.clock()).at
                deployment.next_reconcile_at = min(deployment.next_reconcile_at, upcoming)
            session.commit()
            return deployment.phase

    # -- deploys --------------------------------------------------------------------------
    def _apply_deploys(
        self, deployment_id: str, runtime: Runtime, spec: DeploymentSpec, status: RuntimeStatus
    ) -> RuntimeStatus:
        with self.session_factory() as session:
            waiting = list(
                session.scalars(
                    select(Deploy.id)
                    .where(
                        Deploy.deployment_id == deployment_id,
                        Deploy.status.in_(OPEN_DEPLOY_STATUSES),
                    )
                    .order_by(Deploy.created_at)
                )
            )
        for deploy_id in waiting:
            status = self._apply_deploy(deployment_id, deploy_id, runtime, spec, status)
        return status

    def _apply_deploy(
        self,
        deployment_id: str,
        deploy_id: str,
        runtime: Runtime,
        spec: DeploymentSpec,
        status: RuntimeStatus,
    ) -> RuntimeStatus:
        """Check and switch to one deploy. Whatever happens, it ends succeeded, rejected or
        failed, with a message of at most 1 KB; only a dying worker leaves it checking."""
        with self.session_factory() as session:
            self.renew(deployment_id, session)
            deploy = session.get(Deploy, deploy_id)
            if deploy is None or deploy.status not in OPEN_DEPLOY_STATUSES:
                return status
            if deploy.status == DeployStatus.CHECKING and deploy.message == RESUMED:
                deploy.status = DeployStatus.FAILED
                deploy.message = (
                    "the worker stopped twice while checking this deploy (for example it ran "
                    "out of memory); nothing was switched: deploy again, or a smaller bundle"
                )
                deploy.finished_at = utcnow()
                session.commit()
                return status
            deploy.message = RESUMED if deploy.status == DeployStatus.CHECKING else ""
            deploy.status = DeployStatus.CHECKING
            kind: Literal["dags", "full"] = "full" if deploy.kind == "full" else "dags"
            content = deploy.bundle or b""
            session.commit()
        outcome, message, errors = DeployStatus.SUCCEEDED, "serving", {}
        try:
            with tempfile.TemporaryDirectory(prefix="flightdeck-deploy-") as tmp:
                archive = Path(tmp) / "bundle.tar.gz"
                archive.write_bytes(content)
                with self.heartbeat(deployment_id):
                    status = runtime.deploy_code(spec, CodeBundle(deploy_id, archive, kind))
        except CodeRejected as exc:
            outcome, message, errors = DeployStatus.REJECTED, str(exc), exc.errors
        except RuntimeError_ as exc:
            outcome, message = DeployStatus.FAILED, str(exc)
        except LeaseLost:
            raise
        except Exception as exc:  # disk full, a bug: the deploy ends, the user is told
            log.exception("deploy %s of Deployment %s crashed", deploy_id, deployment_id)
            outcome = DeployStatus.FAILED
            message = (
                f"the worker could not finish this deploy ({type(exc).__name__}); nothing was "
                "switched: deploy again, and if it fails again ask your operator (details are "
                "in the worker's log)"
            )
        with self.session_factory() as session:
            self.renew(deployment_id, session)
            deploy = session.get(Deploy, deploy_id)
            assert deploy is not None
            deploy.status, deploy.message = outcome, bounded(message)
            if outcome == DeployStatus.REJECTED:
                deploy.errors = {bounded(k, 256): bounded(v) for k, v in errors.items()}
                deploy.bundle = None  # a refused upload is not kept
            deploy.finished_at = utcnow()
            if outcome == DeployStatus.SUCCEEDED:
                deployment = session.get(Deployment, deployment_id)
                assert deployment is not None
                deployment.current_deploy_id = deploy_id
            timeline.record(
                session,
                deployment_id,
                DeploymentEventKind.DEPLOY,
                f"deploy {deploy_id} ({deploy.kind}) {outcome}: {message}",
            )
            session.commit()
        self.prune_deploys(deployment_id, runtime, spec)
        return status

    def prune_deploys(self, deployment_id: str, runtime: Runtime, spec: DeploymentSpec) -> int:
        """Remove the deploys past the retention setting: the runtime's copies of their
        bundles first, then their records; returns how many went."""
        with self.session_factory() as session:
            doomed = retention.prunable(session, deployment_id, self.settings.deploy_retention)
        if not doomed:
            return 0
        if isinstance(runtime, KeepsBundles):
            try:
                with self.heartbeat(deployment_id):
                    runtime.forget_bundles(spec, doomed)
            except RuntimeError_ as exc:  # kept for the next deploy to try again
                log.warning("Deployment %s: old bundles not removed: %s", deployment_id, exc)
                return 0
        with self.session_factory() as session:
            self.renew(deployment_id, session)
            removed = retention.remove(session, deployment_id, doomed)
            session.commit()
        return removed

    @staticmethod
    def _has_pending(session: Session, deployment: Deployment) -> bool:
        return (
            session.scalar(
                select(Deploy.id).where(
                    Deploy.deployment_id == deployment.id,
                    Deploy.status.in_(OPEN_DEPLOY_STATUSES),
                )
            )
            is not None
        )

    @staticmethod
    def _record(deployment: Deployment, status: RuntimeStatus) -> None:
        deployment.phase = phase_for(status)
        deployment.status = status_to_json(status)

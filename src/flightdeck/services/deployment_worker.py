"""The deployment worker: make each Deployment's runtime match its spec, apply pending
deploys, and record health.

Same model as the cluster worker: a due Deployment is claimed under a lease (compare-and-
set, SKIP LOCKED candidates on PostgreSQL), every runtime call is idempotent (``apply``
runs on every pass and does nothing when nothing changed), and the outcome of each pass
is committed before the next, so a crash costs one pass at most.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.db.models import Cluster, Deploy, Deployment
from flightdeck.db.types import utcnow
from flightdeck.runtime.base import (
    CodeBundle,
    CodeRejected,
    Runtime,
    RuntimeError_,
    RuntimeStatus,
)
from flightdeck.services import notifications
from flightdeck.services.deployments import cluster_outputs, runtime_spec
from flightdeck.services.leases import LeasedTable
from flightdeck.services.reconcile import worker_identity

log = logging.getLogger(__name__)

LEASE_SECONDS = 600  # a first start builds a venv; a full deploy may install requirements
POLL_WHILE_CHANGING = 2.0
POLL_STEADY = 30.0
PHASES = {"creating": "Creating", "healthy": "Healthy", "unhealthy": "Unhealthy"}

RuntimeFactory = Callable[[Session, Deployment], Runtime]
DEPLOYMENTS = LeasedTable(Deployment, Deployment.id, Deployment.next_reconcile_at)


_local_runtimes: dict[Path, Runtime] = {}
_local_lock = threading.Lock()


def local_runtime(root: Path) -> Runtime:
    """One LocalRuntime per directory and process: it tracks its background starts."""
    from flightdeck.runtime.local import LocalRuntime

    with _local_lock:
        runtime = _local_runtimes.get(root)
        if runtime is None:
            runtime = _local_runtimes[root] = LocalRuntime(root)
        return runtime


def default_runtime_factory(
    settings: Settings, sessions: SessionFactory | None = None
) -> RuntimeFactory:
    """Local Deployments on this host; Kubernetes ones through ``sessions``' role clients."""

    def factory(session: Session, deployment: Deployment) -> Runtime:
        if deployment.runtime == "local":
            return local_runtime(settings.deployments_dir)
        from flightdeck.services.kubernetes_runtime import kubernetes_runtime_for

        if sessions is None:
            raise ValueError("the kubernetes runtime needs a session factory")
        return kubernetes_runtime_for(session, deployment, settings, sessions)

    return factory


def _notify_health_change(session: Session, deployment: Deployment, previous: str) -> None:
    """Owners hear when a running Deployment turns Unhealthy, and when it recovers."""
    if (previous, deployment.phase) not in (("Healthy", "Unhealthy"), ("Unhealthy", "Healthy")):
        return
    if deployment.phase == "Unhealthy":
        subject = f"flightdeck: Deployment {deployment.name} is Unhealthy"
        body = (
            f"Deployment {deployment.name} ({deployment.id}) is Unhealthy:\n\n"
            f"{deployment.status.get('message') or deployment.last_error}\n\n"
            f"See `flightdeck deployment get {deployment.name}`.\n"
        )
    else:
        subject = f"flightdeck: Deployment {deployment.name} is Healthy again"
        body = f"Deployment {deployment.name} ({deployment.id}) is Healthy again.\n"
    notifications.notify_owners(
        session,
        deployment.organization_id,
        kind=f"deployment.{deployment.phase}",
        subject=subject,
        body=body,
    )


class DeploymentWorker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        runtime_factory: RuntimeFactory | None = None,
        worker_id: str | None = None,
        lease_seconds: int = LEASE_SECONDS,
        sessions: SessionFactory | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.runtime_factory = runtime_factory or default_runtime_factory(settings, sessions)
        self.worker_id = worker_id or worker_identity()
        self.lease_seconds = lease_seconds

    # -- leases ---------------------------------------------------------------------------
    def claim_due(self, limit: int = 10) -> list[str]:
        with self.session_factory() as session:
            now = utcnow()
            candidates = (
                select(Deployment.id)
                .where(
                    Deployment.phase != "Deleted",
                    Deployment.next_reconcile_at <= now,
                    DEPLOYMENTS.free(now),
                )
                .order_by(Deployment.next_reconcile_at)
                .limit(limit)
            )
            return DEPLOYMENTS.claim(session, candidates, self.worker_id, self.lease_seconds, now)

    # -- one Deployment -------------------------------------------------------------------
    def reconcile_one(self, deployment_id: str) -> str | None:
        """One pass; returns the phase it left the Deployment in."""
        with self.session_factory() as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is None or deployment.lease_owner != self.worker_id:
                return None
            runtime = self.runtime_factory(session, deployment)
            spec = runtime_spec(deployment, self.settings.secret_key)
            if deployment.desired_state == "absent":
                runtime.delete(spec)
                deployment.phase = "Deleted"
                deployment.status = {"health": "absent", "message": "deleted"}
                self._release(deployment, later=None)
                session.commit()
                return deployment.phase
            try:
                # Every pass: apply is cheap when nothing changed, and it is what restarts
                # a component that died.
                cluster = session.get(Cluster, deployment.cluster_id)
                assert cluster is not None
                runtime.apply(spec, cluster_outputs(cluster, self.settings))
                if deployment.observed_generation != deployment.generation:
                    deployment.observed_generation = deployment.generation
                    session.commit()
                status = runtime.status(spec)
                if status.health == "absent":  # removed behind our back: build it again
                    deployment.observed_generation = 0
                    status = RuntimeStatus("creating", "starting again: the runtime had nothing")
                elif status.health != "creating":
                    status = self._apply_deploys(session, runtime, deployment, status)
                deployment.last_error = None
            except RuntimeError_ as exc:
                status = RuntimeStatus("unhealthy", str(exc))
                deployment.last_error = str(exc)
            previous = deployment.phase
            self._record(deployment, status)
            _notify_health_change(session, deployment, previous)
            waiting = status.health == "creating" or self._has_pending(session, deployment)
            self._release(deployment, later=POLL_WHILE_CHANGING if waiting else POLL_STEADY)
            session.commit()
            return deployment.phase

    def _apply_deploys(
        self, session: Session, runtime: Runtime, deployment: Deployment, status: RuntimeStatus
    ) -> RuntimeStatus:
        pending = session.scalars(
            select(Deploy)
            .where(Deploy.deployment_id == deployment.id, Deploy.status == "pending")
            .order_by(Deploy.created_at)
        ).all()
        spec = runtime_spec(deployment, self.settings.secret_key)
        for deploy in pending:
            deploy.status = "checking"
            session.commit()
            with tempfile.TemporaryDirectory(prefix="flightdeck-deploy-") as tmp:
                archive = Path(tmp) / "bundle.tar.gz"
                archive.write_bytes(deploy.bundle or b"")
                bundle = CodeBundle(deploy.id, archive, "full" if deploy.kind == "full" else "dags")
                try:
                    status = runtime.deploy_code(spec, bundle)
                except CodeRejected as exc:
                    deploy.status, deploy.message, deploy.errors = "rejected", str(exc), exc.errors
                except RuntimeError_ as exc:
                    deploy.status, deploy.message = "failed", str(exc)
                else:
                    deploy.status = "succeeded"
                    deploy.message = "serving"
                    deployment.current_deploy_id = deploy.id
            deploy.finished_at = utcnow()
            session.commit()
        return status

    @staticmethod
    def _has_pending(session: Session, deployment: Deployment) -> bool:
        return (
            session.scalar(
                select(Deploy.id).where(
                    Deploy.deployment_id == deployment.id, Deploy.status == "pending"
                )
            )
            is not None
        )

    @staticmethod
    def _record(deployment: Deployment, status: RuntimeStatus) -> None:
        deployment.phase = PHASES.get(status.health, "Creating")
        deployment.status = {
            "health": status.health,
            "message": status.message,
            "url": status.url,
            "components": dict(status.components),
            "deploy_id": status.deploy_id,
        }

    @staticmethod
    def _release(deployment: Deployment, later: float | None) -> None:
        deployment.lease_owner = None
        deployment.lease_expires_at = None
        if later is not None:
            deployment.next_reconcile_at = utcnow() + timedelta(seconds=later)

    def _release_after_crash(self, deployment_id: str, error: Exception) -> None:
        """Retry in 30 s, and tell the user something is wrong (the details are in the
        worker's log: an unexpected exception's text is not for users)."""
        with self.session_factory() as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id, Deployment.lease_owner == self.worker_id)
                .values(
                    last_error=f"the worker could not reconcile this Deployment "
                    f"({type(error).__name__}); it retries every 30 s, details in its log"
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
        DEPLOYMENTS.release(
            self.session_factory, deployment_id, self.worker_id, utcnow() + timedelta(seconds=30)
        )

    # -- loops ----------------------------------------------------------------------------
    def run_once(self, limit: int = 10) -> int:
        claimed = self.claim_due(limit)
        for deployment_id in claimed:
            try:
                self.reconcile_one(deployment_id)
            except Exception as exc:  # one broken Deployment must not stop the others
                log.exception("reconcile of deployment %s crashed", deployment_id)
                with contextlib.suppress(Exception):
                    self._release_after_crash(deployment_id, exc)
        return len(claimed)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("deployment loop error; continuing")
                worked = 0
            if not worked:
                stop.wait(idle_seconds)

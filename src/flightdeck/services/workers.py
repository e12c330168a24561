"""Builds the background workers of a control-plane process, with what they drive: the AWS
provisioning engine for clusters, the configured runtimes for Deployments, the platform
account for governance. ``flightdeck server`` and ``flightdeck worker`` both start here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.services.alerts.sources import local_airflow
from flightdeck.services.alerts.worker import AlertWorker
from flightdeck.services.clusters.engine import aws_engine
from flightdeck.services.clusters.peering_pass import run_peering_pass
from flightdeck.services.clusters.worker import ReconcileWorker
from flightdeck.services.deployments.runtimes import default_runtime_factory
from flightdeck.services.deployments.worker import DeploymentWorker
from flightdeck.services.governance.worker import GovernanceWorker, role_policies
from flightdeck.services.leases import LeasedWorker, worker_identity
from flightdeck.services.platform import platform_account_id


@dataclass(frozen=True)
class Workers:
    """One process's workers; they share one lease owner name (``worker_id``)."""

    worker_id: str
    clusters: ReconcileWorker
    deployments: DeploymentWorker
    governance: GovernanceWorker
    alerts: AlertWorker

    def by_name(self) -> dict[str, LeasedWorker]:
        return {
            "deployments": self.deployments,
            "clusters": self.clusters,
            "governance": self.governance,
            "alerts": self.alerts,
        }


def build_workers(
    session_factory: sessionmaker[Session], settings: Settings, sessions: SessionFactory
) -> Workers:
    """Every worker acts on AWS through ``sessions``, the process's one session factory."""
    worker_id = worker_identity()
    return Workers(
        worker_id=worker_id,
        clusters=ReconcileWorker(
            session_factory,
            engine=aws_engine(sessions),
            worker_id=worker_id,
            max_requeue_seconds=settings.max_requeue_seconds,
            peering_pass=lambda session, cluster_id: run_peering_pass(
                session, cluster_id, sessions
            ),
        ),
        deployments=DeploymentWorker(
            session_factory,
            settings,
            runtime_factory=default_runtime_factory(settings, sessions),
            worker_id=worker_id,
        ),
        governance=GovernanceWorker(
            session_factory,
            lambda: platform_account_id(settings, sessions),
            role_policy=role_policies(sessions),
            worker_id=worker_id,
        ),
        alerts=AlertWorker(session_factory, settings, local_airflow(settings), worker_id=worker_id),
    )

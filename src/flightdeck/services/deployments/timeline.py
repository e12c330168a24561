"""A Deployment's timeline: what happened to it and why, in the order it happened.

Written by the requests (created, changed, deletion asked) and by the worker (phase
changes, Airflow started again, deploy outcomes), in the same transaction as the change it
describes; read by the API, the CLI and the console. Kept as long as the Deployment row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import Deployment, DeploymentEvent
from flightdeck.db.types import utcnow
from flightdeck.phases import DeploymentEventKind, DeploymentPhase
from flightdeck.runtime.base import RuntimeStatus, bounded

EVENTS_SHOWN = 200  # the newest lines a listing returns

RESTART_WITH_CONTROL_PLANE = (
    "Airflow started again with the control plane (its processes stop when the control plane "
    "stops; its metadata database and code were kept)"
)
RESTART_AFTER_CRASH = "Airflow started again: its processes had stopped"
RESTART_FOR_CHANGE = "Airflow started again to apply the change (a new setting or deploy)"


def record(session: Session, deployment_id: str, kind: DeploymentEventKind, message: str) -> None:
    session.add(
        DeploymentEvent(
            deployment_id=deployment_id, kind=kind, message=bounded(message), created_at=utcnow()
        )
    )


def record_pass(
    session: Session,
    deployment: Deployment,
    previous_phase: str,
    previous: RuntimeStatus,
    current: RuntimeStatus,
    *,
    first_sight: bool,
    planned: bool = False,
) -> None:
    """The lines one worker pass adds: Airflow started again, then the phase it turned to.

    ``planned`` is true when the pass itself applied a new spec or switched the deploy
    (which may start Airflow again); otherwise ``first_sight``, this worker's first pass
    over the Deployment since it started, tells the control plane's restart from a crash.
    """
    if previous.run_id and current.run_id and previous.run_id != current.run_id:
        if planned:
            reason = RESTART_FOR_CHANGE
        else:
            reason = RESTART_WITH_CONTROL_PLANE if first_sight else RESTART_AFTER_CRASH
        record(session, deployment.id, DeploymentEventKind.RESTARTED, reason)
    if deployment.phase != previous_phase:
        message = str(deployment.phase)
        explained = (DeploymentPhase.UNHEALTHY, DeploymentPhase.HIBERNATING)
        if deployment.phase in explained and current.message:
            message = f"{message}: {current.message}"
        record(session, deployment.id, DeploymentEventKind.PHASE, message)


def list_events(session: Session, deployment: Deployment) -> list[DeploymentEvent]:
    """The newest lines first (the caller has checked the reader may see the Deployment)."""
    return list(
        session.scalars(
            select(DeploymentEvent)
            .where(DeploymentEvent.deployment_id == deployment.id)
            .order_by(DeploymentEvent.created_at.desc())
            .limit(EVENTS_SHOWN)
        )
    )

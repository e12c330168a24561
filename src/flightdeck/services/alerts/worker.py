"""The alert evaluator: every few seconds, each Deployment's rules against its Airflow.

Each live Deployment has an ``alert_watches`` row, leased like the other workers' rows
(services/leases.py), due every ``FLIGHTDECK_ALERT_POLL_SECONDS``. A pass reads Airflow with
no database session open, then records what is new and queues its deliveries in one
transaction (evaluate.fire). Correctness does not rest on the lease: an event's unique key
does that; the lease only spares two workers the same Airflow calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import AlertWatch, Deployment
from flightdeck.db.types import utcnow
from flightdeck.devenv.errors import DevEnvError
from flightdeck.phases import DeploymentPhase
from flightdeck.services.alerts.evaluate import airflow_findings, fire, health_findings
from flightdeck.services.alerts.kinds import AIRFLOW_KINDS, Finding
from flightdeck.services.alerts.rules import rules_for
from flightdeck.services.alerts.sources import AirflowFor
from flightdeck.services.leases import LeasedTable, LeasedWorker, LeaseLost

log = logging.getLogger(__name__)

WATCHES = LeasedTable(AlertWatch, AlertWatch.deployment_id, AlertWatch.next_check_at)
LEASE_SECONDS = 120.0


class AlertWorker(LeasedWorker):
    table = WATCHES
    noun = "alert watch"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        airflow_for: AirflowFor,
        *,
        worker_id: str | None = None,
        now: Callable[[], datetime] = utcnow,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        super().__init__(session_factory, lease_seconds=lease_seconds, worker_id=worker_id, now=now)
        self.poll = timedelta(seconds=settings.alert_poll_seconds)
        self.airflow_for = airflow_for

    def before_claim(self) -> None:
        """A watch for every live Deployment that has none yet."""
        with self.session_factory() as session:
            missing = session.scalars(
                select(Deployment.id).where(
                    Deployment.phase != DeploymentPhase.DELETED,
                    ~select(AlertWatch.deployment_id)
                    .where(AlertWatch.deployment_id == Deployment.id)
                    .exists(),
                )
            ).all()
            if not missing:
                return
            now = self.now()
            session.add_all(AlertWatch(deployment_id=key, next_check_at=now) for key in missing)
            try:
                session.commit()
            except IntegrityError:  # another worker added them first
                session.rollback()

    def candidates(self, now: datetime) -> Select[Any]:
        return (
            select(AlertWatch.deployment_id)
            .where(AlertWatch.next_check_at <= now, WATCHES.free(now))
            .order_by(AlertWatch.next_check_at)
        )

    def work_on(self, key: str) -> int:
        """One pass over a Deployment's rules; returns how many alerts it fired."""
        now = self.now()
        with self.session_factory() as session:
            deployment = session.get(Deployment, key)
            rules = rules_for(session, deployment) if deployment is not None else []
            reads_airflow = (
                deployment is not None
                and deployment.phase == DeploymentPhase.HEALTHY
                and any(rule.kind in AIRFLOW_KINDS for rule in rules)
            )
        source = self.airflow_for(deployment) if reads_airflow and deployment else None
        findings: dict[str, list[Finding]] = {}
        error: str | None = None
        if source is not None:
            try:
                with self.heartbeat(key):
                    findings = airflow_findings(rules, source.runs, now)
            except (DevEnvError, httpx.HTTPError, ValueError, KeyError) as exc:
                error = f"reading its Airflow failed ({type(exc).__name__}); retrying"
                log.warning("alert pass over Deployment %s: %s", key, exc)
        fired = 0
        with self.session_factory() as session:
            self.renew(key, session)
            deployment = session.get(Deployment, key)
            if deployment is not None:
                findings.update(health_findings(session, deployment, rules))
                fired = len(
                    fire(
                        session,
                        deployment,
                        rules,
                        findings,
                        url=source.url if source else None,
                        now=now,
                    )
                )
            watch = session.get(AlertWatch, key)
            if watch is None or watch.lease_owner != self.worker_id:
                raise LeaseLost(key)
            watch.lease_owner = None
            watch.lease_expires_at = None
            watch.last_error = error
            watch.checked_at = now
            watch.next_check_at = now + self.poll
            session.commit()
        return fired

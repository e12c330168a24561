"""Hibernation over a real database (SQLite and PostgreSQL): asked to sleep, the worker applies
a hibernated spec and reports Hibernating; a deploy meanwhile is refused naming when it wakes
and how to wake it now; waking (by hand, or when its time has passed) brings it back to
Healthy. Driven against the recording runtime; the local runtime has its own test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import Deployment, User
from flightdeck.db.types import utcnow
from flightdeck.runtime.base import ClusterOutputs, DeploymentSpec, RuntimeStatus
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.deployments.worker import POLL_STEADY, DeploymentWorker
from flightdeck.services.errors import Conflict, InvalidInput
from services import test_deployments as base
from services.test_deployments import (
    Org,
    RecordingRuntime,
    _bundle,
    _create,
    _get,
    _pass,
    _timeline,
)

# The Deployment tests' fixtures: a database per dialect, an organization with a cluster.
factory, org, settings = base.factory, base.org, base.settings


@dataclass
class SleepyRuntime(RecordingRuntime):
    """Sleeps when applied a hibernated spec; waking starts new processes (a new run id)."""

    def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
        super().apply(spec, cluster)
        if spec.hibernated:
            self.health = "hibernating"
        elif self.health == "hibernating":
            self.health, self.run = "healthy", f"{self.run}-woken"
        return RuntimeStatus("creating")


def _owner(session: Session, org: Org) -> User:
    owner = session.get(User, org.owner.id)
    assert owner is not None
    return owner


def _hibernate(factory: sessionmaker[Session], org: Org, **when: Any) -> Deployment:
    with factory() as session:
        row = deployments.hibernate_deployment(session, _owner(session, org), org.org_id,
                                               "analytics", **when)
        session.expunge(row)
        return row


def test_hibernate_stops_airflow_refuses_deploys_and_wake_up_brings_it_back(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    runtime = SleepyRuntime(health="healthy")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Healthy"

    asked = _hibernate(factory, org)
    assert asked.hibernated and asked.wake_at is None and asked.phase == "Healthy"
    _pass(worker, factory, deployment_id)
    assert runtime.named("apply")[-1][0].hibernated is True
    row = _get(factory, Deployment, deployment_id)
    assert row.phase == "Hibernating" and row.status["health"] == "hibernating"
    assert row.next_reconcile_at <= utcnow() + timedelta(seconds=POLL_STEADY + 1)

    with factory() as session, pytest.raises(Conflict) as refused:
        deployments.submit_deploy(session, _owner(session, org), org.org_id, "analytics",
                                  _bundle(), kind="dags", description="", settings=settings)
    assert str(refused.value) == (
        "Deployment analytics is hibernating until someone wakes it, so a deploy cannot reach "
        "its Airflow; wake it now with `flightdeck deployment wake-up analytics` and try again "
        "once it is Healthy")
    _pass(worker, factory, deployment_id)  # asleep stays asleep, pass after pass
    assert runtime.named("deploy_code") == []
    assert _get(factory, Deployment, deployment_id).phase == "Hibernating"

    with factory() as session:
        woken = deployments.wake_up_deployment(session, _owner(session, org), org.org_id,
                                               "analytics")
        assert not woken.hibernated
        # Waking what is awake changes nothing and adds no line.
        deployments.wake_up_deployment(session, _owner(session, org), org.org_id, "analytics")
    _pass(worker, factory, deployment_id)
    assert runtime.named("apply")[-1][0].hibernated is False
    assert _get(factory, Deployment, deployment_id).phase == "Healthy"

    lines = _timeline(factory, org, deployment_id)
    assert [kind for kind, _ in lines] == ["created", "phase", "asleep", "phase", "awake",
                                           "phase"]
    assert lines[2][1] == "hibernation asked by owner@acme.example, until someone wakes it"
    assert lines[3][1] == "Hibernating: hibernating now"
    assert lines[4][1] == "wake-up asked by owner@acme.example"
    assert lines[5][1] == "Healthy"  # and no "started again: its processes had stopped" line


def test_a_hibernation_for_a_duration_ends_by_itself(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    runtime = SleepyRuntime(health="healthy")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    _pass(worker, factory, deployment_id)
    before = utcnow()
    asked = _hibernate(factory, org, duration="8h")
    assert asked.wake_at is not None
    assert before + timedelta(hours=8) <= asked.wake_at <= utcnow() + timedelta(hours=8)
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Hibernating"
    with factory() as session:  # eight hours later
        session.execute(update(Deployment).where(Deployment.id == deployment_id)
                        .values(wake_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    _pass(worker, factory, deployment_id)
    row = _get(factory, Deployment, deployment_id)
    assert (row.phase, row.hibernated, row.wake_at) == ("Healthy", False, None)
    assert runtime.named("apply")[-1][0].hibernated is False
    kind, message = _timeline(factory, org, deployment_id)[-2]
    assert kind == "awake" and message.startswith("woke up: its hibernation ended at ")


def test_a_hibernation_until_a_time_wakes_the_worker_at_that_time(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    worker = DeploymentWorker(factory, settings,
                              runtime_factory=lambda _s, _d: SleepyRuntime(health="healthy"))
    soon = utcnow() + timedelta(seconds=5)
    asked = _hibernate(factory, org, until=soon.astimezone(timezone(timedelta(hours=2))))
    assert asked.wake_at == soon
    _pass(worker, factory, deployment_id)
    # The next pass is due when it wakes, not a full steady poll later.
    assert _get(factory, Deployment, deployment_id).next_reconcile_at == soon


@pytest.mark.parametrize(
    ("when", "field", "message"),
    [
        ({"duration": "0m"}, "duration", "duration: must be more than 0; give a number of days"),
        ({"duration": "soon"}, "duration", "duration: 'soon' is not a number of days, hours"),
        ({"duration": "400d"}, "duration", "duration: at most 365 days ahead"),
        ({"until": datetime(2030, 1, 1, 8, 0)}, "until", "until: give a time zone, e.g. "),
        ({"until": datetime(2020, 1, 1, tzinfo=UTC)}, "until",
         "until: that time has passed; give a time in the future"),
        ({"until": datetime(2030, 1, 1, tzinfo=UTC), "duration": "1h"}, "until",
         "until: give either until or duration, not both"),
    ],
)
def test_bad_hibernation_times_name_the_field_and_the_fix(
    factory: sessionmaker[Session], org: Org, settings: Settings, when: dict[str, Any],
    field: str, message: str
) -> None:
    deployment_id = _create(factory, org, settings)
    with pytest.raises(InvalidInput) as exc:
        _hibernate(factory, org, **when)
    assert exc.value.field == field and str(exc.value).startswith(message)
    assert not _get(factory, Deployment, deployment_id).hibernated

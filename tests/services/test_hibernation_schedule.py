"""A development Deployment's hibernation schedule over a real database (SQLite and
PostgreSQL), driven by workers whose clock the test sets: the schedule hibernates and wakes it,
each change once (two workers, restarts), a wake-up by hand lasts until the next scheduled
sleep, a production Deployment refuses a schedule, and bad input names its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import Deployment
from flightdeck.db.types import utcnow
from flightdeck.services import costs
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.deployments.sleep import parse_duration
from flightdeck.services.deployments.worker import DeploymentWorker
from flightdeck.services.errors import Conflict, InvalidInput
from services import test_deployments as base
from services.test_deployments import Org, _create, _get, _pass, _timeline
from services.test_hibernation import SleepyRuntime, _owner

factory, org, settings = base.factory, base.org, base.settings
PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = {"hibernate_at": "0 20 * * 1-5", "wake_at": "0 7 * * 1-5", "timezone": "Europe/Paris"}


def _next_monday(hour: int, minute: int = 0) -> datetime:
    """A Paris wall-clock time on a Monday after now (the schedule is set now)."""
    day = utcnow().astimezone(PARIS).date() + timedelta(days=7)
    while day.weekday() != 0:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _set(factory: sessionmaker[Session], org: Org, **values: str) -> Deployment:
    with factory() as session:
        row = deployments.set_schedule(session, _owner(session, org), org.org_id, "analytics",
                                       **{**WEEKDAYS, **values})
        session.expunge(row)
        return row


def _mark_development(factory: sessionmaker[Session], org: Org, settings: Settings) -> None:
    with factory() as session:
        deployments.update_deployment(session, _owner(session, org), org.org_id, "analytics",
                                      deployments.DeploymentUpdate(is_development=True), settings)


def test_a_schedule_hibernates_and_wakes_a_deployment_once_per_change(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    _mark_development(factory, org, settings)
    runtime = SleepyRuntime(health="healthy")
    clock = Clock(_next_monday(19, 59))
    first = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime,
                             clock=clock)
    second = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime,
                              clock=clock)
    planned = _set(factory, org)
    assert planned.hibernate_cron == "0 20 * * 1-5" and planned.schedule_timezone == "Europe/Paris"
    _pass(first, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Healthy"

    clock.now = _next_monday(20, 0)  # 20:00 Paris: asleep
    _pass(first, factory, deployment_id)
    row = _get(factory, Deployment, deployment_id)
    assert (row.phase, row.hibernated) == ("Hibernating", True)
    assert row.wake_at == _next_monday(7, 0) + timedelta(days=1)  # Tuesday 07:00 Paris
    assert runtime.named("apply")[-1][0].hibernated is True
    # Its next pass is due when the schedule next changes at the latest.
    assert row.next_reconcile_at <= row.wake_at
    cost = costs.deployment_cost(row, _cluster(factory, row))
    assert cost.hourly == 0 and cost.not_incurred_hourly > 0

    # Another worker, or this one restarted, does not apply the same change again.
    _pass(second, factory, deployment_id)
    _pass(DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime,
                           clock=clock), factory, deployment_id)
    kinds = [kind for kind, _ in _timeline(factory, org, deployment_id)]
    assert kinds.count("asleep") == 1

    # A wake-up by hand at 22:00 lasts until the next scheduled sleep, not the next pass.
    clock.now = _next_monday(22, 0)
    with factory() as session:
        deployments.wake_up_deployment(session, _owner(session, org), org.org_id, "analytics")
    _pass(first, factory, deployment_id)
    _pass(second, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Healthy"

    clock.now = _next_monday(20, 0) + timedelta(days=1)  # Tuesday 20:00: asleep again
    _pass(second, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Hibernating"
    clock.now = _next_monday(7, 1) + timedelta(days=2)  # Wednesday 07:01: awake
    _pass(first, factory, deployment_id)
    row = _get(factory, Deployment, deployment_id)
    assert (row.phase, row.hibernated, row.wake_at) == ("Healthy", False, None)
    lines = _timeline(factory, org, deployment_id)
    assert [kind for kind, _ in lines].count("asleep") == 2
    assert lines[-2][0] == "awake" and lines[-2][1].startswith(
        "woke up on schedule (0 7 * * 1-5, Europe/Paris) at ")


def test_a_worker_down_over_several_changes_applies_only_the_latest(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    _mark_development(factory, org, settings)
    _set(factory, org)
    clock = Clock(_next_monday(8, 0) + timedelta(days=3))  # Thursday 08:00: last change woke it
    worker = DeploymentWorker(factory, settings,
                              runtime_factory=lambda _s, _d: SleepyRuntime(health="healthy"),
                              clock=clock)
    _pass(worker, factory, deployment_id)
    row = _get(factory, Deployment, deployment_id)
    assert (row.phase, row.hibernated) == ("Healthy", False)
    assert row.schedule_applied_at == _next_monday(7, 0) + timedelta(days=3)


def _cluster(factory: sessionmaker[Session], row: Deployment) -> object:
    from flightdeck.db.models import Cluster

    return _get(factory, Cluster, row.cluster_id)


def test_a_production_deployment_refuses_a_schedule(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    _create(factory, org, settings)
    with pytest.raises(Conflict) as refused:
        _set(factory, org)
    assert str(refused.value) == (
        "Deployment analytics is a production Deployment; only development Deployments sleep "
        "on a schedule: mark it with `flightdeck deployment update analytics --development` "
        "first")
    _mark_development(factory, org, settings)
    _set(factory, org)
    with factory() as session, pytest.raises(Conflict, match=r"^is_development: .* schedule "
                                                              "clear analytics"):
        deployments.update_deployment(
            session, _owner(session, org), org.org_id, "analytics",
            deployments.DeploymentUpdate(is_development=False), settings)
    with factory() as session:
        cleared = deployments.clear_schedule(session, _owner(session, org), org.org_id,
                                             "analytics")
        assert cleared.hibernate_cron is None and cleared.schedule_applied_at is None


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"hibernate_at": "0 25 * * *"}, "hibernate_at",
     "hibernate_at: '0 25 * * *' is not a cron expression; give five fields (minute hour "
     "day-of-month month day-of-week), e.g. '0 20 * * 1-5' for 20:00 Monday to Friday"),
    ({"wake_at": "every morning"}, "wake_at", "wake_at: 'every morning' is not a cron"),
    ({"wake_at": "0 0 7 * * 1-5"}, "wake_at", "wake_at: '0 0 7 * * 1-5' is not a cron"),
    ({"wake_at": "0 0 30 2 *"}, "wake_at", "wake_at: '0 0 30 2 *' never fires"),
    ({"wake_at": "0 20 * * 1-5"}, "wake_at", "wake_at: it is the same time as hibernate_at"),
    ({"timezone": "Europe/Atlantis"}, "timezone",
     "timezone: 'Europe/Atlantis' is not a known time zone; give an IANA time zone such as "
     "Europe/Paris, America/New_York or UTC"),
    ({"timezone": "../../etc/passwd"}, "timezone", "timezone: '../../etc/passwd' is not a"),
])
def test_bad_schedule_input_names_the_field_and_changes_nothing(
    factory: sessionmaker[Session], org: Org, settings: Settings,
    values: dict[str, str], field: str, message: str
) -> None:
    deployment_id = _create(factory, org, settings)
    _mark_development(factory, org, settings)
    with pytest.raises(InvalidInput) as bad:
        _set(factory, org, **values)
    assert bad.value.field == field and str(bad.value).startswith(message)
    assert "\n" not in str(bad.value)
    assert _get(factory, Deployment, deployment_id).hibernate_cron is None


def test_a_duration_of_zero_names_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"^duration: must be more than 0; give a number"):
        parse_duration("0m")


def test_airflow_login_on_a_scheduled_sleep_names_the_wake_time_and_the_wake_up_command(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    from flightdeck.services.deployments import operate

    deployment_id = _create(factory, org, settings)
    _mark_development(factory, org, settings)
    _set(factory, org)
    clock = Clock(_next_monday(20, 30))
    worker = DeploymentWorker(factory, settings,
                              runtime_factory=lambda _s, _d: SleepyRuntime(health="healthy"),
                              clock=clock)
    _pass(worker, factory, deployment_id)
    wake = (_next_monday(7, 0) + timedelta(days=1)).isoformat(timespec="minutes")
    with factory() as session, pytest.raises(Conflict) as refused:
        operate.airflow_login(session, _owner(session, org), org.org_id, "analytics", settings)
    assert str(refused.value) == (
        f"Deployment analytics is hibernating until {wake}, so airflow-login cannot reach its "
        "Airflow; wake it now with `flightdeck deployment wake-up analytics` and try again once "
        "it is Healthy")

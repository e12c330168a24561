"""A development Deployment's hibernation schedule: when it falls asleep and when it wakes.

Two five-field cron expressions read in one IANA time zone (``0 20 * * 1-5`` asleep,
``0 7 * * 1-5`` awake, ``Europe/Paris``). The worker applies each scheduled change once, as
an edge: ``schedule_applied_at`` remembers the last one applied, so a restarted worker or a
second one does not apply it again, and a manual wake-up (or hibernation) lasts until the
schedule's next change instead of being undone on the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter
from sqlalchemy.orm import Session

from flightdeck.db.models import Deployment
from flightdeck.phases import DeploymentEventKind
from flightdeck.services.deployments import timeline
from flightdeck.services.errors import Conflict, InvalidInput

CRON_RULE = (
    "five fields (minute hour day-of-month month day-of-week), e.g. '0 20 * * 1-5' for "
    "20:00 Monday to Friday"
)
TIMEZONE_RULE = "an IANA time zone such as Europe/Paris, America/New_York or UTC"
PRODUCTION_REFUSAL = (
    "Deployment {name} is a production Deployment; only development Deployments sleep on a "
    "schedule: mark it with `flightdeck deployment update {name} --development` first"
)


@dataclass(frozen=True)
class ScheduledChange:
    """One firing of the schedule: at ``at`` the Deployment falls asleep (or wakes)."""

    at: datetime
    asleep: bool


@dataclass(frozen=True)
class HibernationSchedule:
    hibernate_at: str
    wake_at: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _fire(self, expression: str, now: datetime, *, before: bool) -> datetime:
        local = now.astimezone(self.zone)
        if before:
            # croniter's previous firing is strictly before its start; a firing at ``now``
            # itself counts as passed, so start one minute later and step back if needed.
            fired: datetime = croniter(expression, local + timedelta(minutes=1)).get_prev(datetime)
            if fired > now:
                fired = croniter(expression, fired).get_prev(datetime)
            return fired.astimezone(UTC)
        upcoming: datetime = croniter(expression, local).get_next(datetime)
        return upcoming.astimezone(UTC)

    def last_change(self, now: datetime) -> ScheduledChange:
        """The latest firing at or before ``now`` (asleep wins a tie: it saves the money)."""
        asleep = self._fire(self.hibernate_at, now, before=True)
        awake = self._fire(self.wake_at, now, before=True)
        return ScheduledChange(asleep, True) if asleep >= awake else ScheduledChange(awake, False)

    def next_change(self, now: datetime) -> ScheduledChange:
        asleep = self._fire(self.hibernate_at, now, before=False)
        awake = self._fire(self.wake_at, now, before=False)
        return ScheduledChange(asleep, True) if asleep <= awake else ScheduledChange(awake, False)

    def next_wake(self, now: datetime) -> datetime:
        return self._fire(self.wake_at, now, before=False)


def check_cron(expression: str, field: str) -> str:
    text = " ".join(expression.split())
    try:
        valid = len(text.split(" ")) == 5 and croniter.is_valid(text)
    except CroniterError:
        valid = False
    if not valid:
        raise InvalidInput(
            f"{field}: {expression[:40]!r} is not a cron expression; give {CRON_RULE}",
            field=field,
        )
    try:
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except (CroniterBadDateError, CroniterBadCronError):
        raise InvalidInput(
            f"{field}: {text!r} never fires (no such date); give {CRON_RULE}", field=field
        ) from None
    return text


def check_timezone(name: str, field: str = "timezone") -> str:
    text = name.strip()
    try:
        if not text or text.startswith(("/", ".")):
            raise ValueError(text)
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{field}: {name[:40]!r} is not a known time zone; give {TIMEZONE_RULE}", field=field
        ) from None
    return text


def check_schedule(hibernate_at: str, wake_at: str, timezone: str) -> HibernationSchedule:
    """A schedule from user input, one line naming the first bad field."""
    schedule = HibernationSchedule(
        check_cron(hibernate_at, "hibernate_at"),
        check_cron(wake_at, "wake_at"),
        check_timezone(timezone),
    )
    if schedule.hibernate_at == schedule.wake_at:
        raise InvalidInput(
            "wake_at: it is the same time as hibernate_at; give a different cron expression",
            field="wake_at",
        )
    return schedule


def schedule_of(deployment: Deployment) -> HibernationSchedule | None:
    if not (deployment.hibernate_cron and deployment.wake_cron and deployment.schedule_timezone):
        return None
    return HibernationSchedule(
        deployment.hibernate_cron, deployment.wake_cron, deployment.schedule_timezone
    )


def require_development(deployment: Deployment) -> None:
    if not deployment.is_development:
        raise Conflict(PRODUCTION_REFUSAL.format(name=deployment.name), field="is_development")


def apply_due(session: Session, deployment: Deployment, now: datetime) -> ScheduledChange | None:
    """Apply the schedule's latest change if it has not been applied yet (the caller holds
    the Deployment's lease and commits); returns the change applied."""
    schedule = schedule_of(deployment)
    if schedule is None or deployment.desired_state != "present":
        return None
    change = schedule.last_change(now)
    applied = deployment.schedule_applied_at
    if applied is not None and change.at <= applied:
        return None
    deployment.schedule_applied_at = change.at
    when = change.at.astimezone(schedule.zone).isoformat(timespec="minutes")
    if change.asleep:
        wake = schedule.next_wake(now)
        deployment.hibernated = True
        deployment.wake_at = wake
        timeline.record(
            session,
            deployment.id,
            DeploymentEventKind.ASLEEP,
            f"hibernating on schedule ({schedule.hibernate_at}, {schedule.timezone}) at {when}, "
            f"until {wake.isoformat(timespec='minutes')}",
        )
    elif deployment.hibernated:
        deployment.hibernated = False
        deployment.wake_at = None
        timeline.record(
            session,
            deployment.id,
            DeploymentEventKind.AWAKE,
            f"woke up on schedule ({schedule.wake_at}, {schedule.timezone}) at {when}",
        )
    return change

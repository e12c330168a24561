"""Hibernation's rules: how long a Deployment may sleep, and what a caller is told while it does.

One place for the words: the API, the CLI and the worker all say "hibernating until ..., wake
it now with ..." the same way. The requests that put a Deployment to sleep and wake it are in
``requests``; the worker stops and starts its Airflow (``worker``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flightdeck.db.models import Deployment
from flightdeck.db.types import utcnow
from flightdeck.services.errors import Conflict, InvalidInput

MAX_SLEEP = timedelta(days=365)
DURATION_RULE = "a number of days, hours and minutes such as 30m, 8h, 2d or 1h30m"
_DURATION = re.compile(r"^(?:(?P<d>\d{1,4})d)?(?:(?P<h>\d{1,5})h)?(?:(?P<m>\d{1,6})m)?$")


def parse_duration(text: str, field: str = "duration") -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise InvalidInput(f"{field}: {text[:24]!r} is not {DURATION_RULE}", field=field)
    days, hours, minutes = (int(match.group(g) or 0) for g in "dhm")
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if duration <= timedelta(0):
        raise InvalidInput(f"{field}: must be more than 0; give {DURATION_RULE}", field=field)
    return duration


def wake_time(until: datetime | None, duration: str | None) -> datetime | None:
    """When a sleep asked now ends (``None``: when someone wakes it); one line per bad value."""
    if until is not None and duration is not None:
        raise InvalidInput("until: give either until or duration, not both", field="until")
    now = utcnow()
    if duration is not None:
        wake = now + parse_duration(duration)
    elif until is not None:
        if until.tzinfo is None:
            raise InvalidInput(
                "until: give a time zone, e.g. 2026-12-02T08:00+01:00 or 2026-12-02T07:00Z",
                field="until",
            )
        wake = until
        if wake <= now:
            raise InvalidInput(
                "until: that time has passed; give a time in the future", field="until"
            )
    else:
        return None
    if wake - now > MAX_SLEEP:
        raise InvalidInput(
            f"{'duration' if duration is not None else 'until'}: at most {MAX_SLEEP.days} days "
            "ahead; wake it up by hand for longer sleeps",
            field="duration" if duration is not None else "until",
        )
    return wake


def until_text(deployment: Deployment) -> str:
    if deployment.wake_at is None:
        return "until someone wakes it"
    return f"until {deployment.wake_at.isoformat(timespec='minutes')}"


def asleep_conflict(deployment: Deployment, what: str) -> Conflict:
    """The answer to ``what`` (a deploy, a login...) while ``deployment`` hibernates."""
    return Conflict(
        f"Deployment {deployment.name} is hibernating {until_text(deployment)}, so {what} "
        f"cannot reach its Airflow; wake it now with `flightdeck deployment wake-up "
        f"{deployment.name}` and try again once it is Healthy"
    )

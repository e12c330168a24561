"""Checks of a rule's and a channel's fields: each failure is one line naming the field and
the fix, raised before anything is written."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flightdeck.services.alerts.kinds import MAX_MINUTES, AlertKind
from flightdeck.services.errors import InvalidInput

# Airflow DAG ids are letters, digits, '.', '_' and '-'; a glob adds *, ? and [...] sets.
_GLOB = re.compile(r"^(?:[A-Za-z0-9._\-*?]|\[!?[A-Za-z0-9._\-]+\])+$")
_DEADLINE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def check_glob(glob: str) -> str:
    glob = glob.strip()
    if len(glob) > 250 or not _GLOB.match(glob):
        raise InvalidInput(
            f"dag_glob: {glob[:40]!r} is not a DAG id pattern; use DAG id characters "
            "(letters, digits, '.', '_', '-') with * , ? or [abc], e.g. 'etl_*'",
            field="dag_glob",
        )
    return glob


def check_minutes(minutes: int | None) -> int:
    if minutes is None or not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(
            f"minutes: {minutes!r} is not a duration; give a whole number of minutes from 1 "
            f"to {MAX_MINUTES}, e.g. --minutes 30",
            field="minutes",
        )
    return minutes


def check_deadline(deadline: str | None) -> str:
    if deadline is None or not _DEADLINE.match(deadline.strip()):
        raise InvalidInput(
            f"deadline: {deadline!r} is not a time of day; use HH:MM on a 24-hour clock, "
            "e.g. --deadline 07:30",
            field="deadline",
        )
    return deadline.strip()


def check_timezone(name: str | None) -> str:
    try:
        if not name or name.strip() != name or ".." in name:
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"timezone: {name!r} is not an IANA time zone; use a name like Europe/Paris, "
            "America/New_York or UTC",
            field="timezone",
        ) from None
    return name


def check_kind(kind: str) -> AlertKind:
    try:
        return AlertKind(kind)
    except ValueError:
        raise InvalidInput(
            f"kind: {kind!r} is not an alert kind; use one of "
            f"{', '.join(k.value for k in AlertKind)}",
            field="kind",
        ) from None

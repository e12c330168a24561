"""Which Airflow versions flightdeck runs, and the default: one policy for `flightdeck dev`
(devenv), Deployments (services) and the runtimes.

It sits beside ``flightdeck.config`` at the bottom of the layers, so every layer may import
it and it imports nothing of flightdeck's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DEFAULT_AIRFLOW_VERSION = "3.3.2"
SUPPORTED_MAJORS = (2, 3)
# Airflow 2 releases before 2.7 do not install on Python 3.11.
MIN_AIRFLOW_2_MINOR = 7
# The day each supported release reached PyPI (its first file's upload date, read from PyPI
# on 2026-12-01). Without a constraints file an environment is resolved from what PyPI had
# by the end of that day, so dependencies released later (pandas 3 on Airflow 2.10) stay out.
RELEASE_DATES: dict[str, str] = {
    "2.7.0": "2023-08-18", "2.7.1": "2023-09-07", "2.7.2": "2023-10-12", "2.7.3": "2023-11-06",
    "2.8.0": "2023-12-18", "2.8.1": "2024-01-19", "2.8.2": "2024-02-26", "2.8.3": "2024-03-11",
    "2.8.4": "2024-03-25", "2.9.0": "2024-04-08", "2.9.1": "2024-05-06", "2.9.2": "2024-06-10",
    "2.9.3": "2024-07-16", "2.10.0": "2024-08-15", "2.10.1": "2024-09-06", "2.10.2": "2024-09-20",
    "2.10.3": "2024-11-05", "2.10.4": "2024-12-16", "2.10.5": "2025-02-10", "2.11.0": "2025-05-20",
    "2.11.1": "2026-02-16", "2.11.2": "2026-03-14", "3.0.0": "2025-04-22", "3.0.1": "2025-05-12",
    "3.0.2": "2025-06-10", "3.0.3": "2025-07-14", "3.0.4": "2025-08-08", "3.0.5": "2025-08-20",
    "3.0.6": "2025-08-29", "3.1.0": "2025-09-25", "3.1.1": "2025-10-27", "3.1.2": "2025-11-05",
    "3.1.3": "2025-11-14", "3.1.4": "2025-12-10", "3.1.5": "2025-12-12", "3.1.6": "2026-01-13",
    "3.1.7": "2026-02-04", "3.1.8": "2026-03-11", "3.2.0": "2026-04-07", "3.2.1": "2026-04-22",
    "3.2.2": "2026-05-29", "3.3.0": "2026-07-06", "3.3.1": "2026-08-12", "3.3.2": "2026-09-17",
}  # fmt: skip
# Dependency releases that predate an Airflow release yet break it, so the release date alone
# would let them in: each is a ceiling for every Airflow release before ``fixed_in`` (as the
# release's own constraints file pins below them). pandas 3 (2026-01-21) renamed DataFrame's
# class path, and Airflow's XCom serializer knows the new one from 3.3.1 on (task SDK 1.3.1).
@dataclass(frozen=True)
class Ceiling:
    requirement: str  # a PEP 508 constraint, "pandas<3"
    fixed_in: str  # the first Airflow release that works without it


DEPENDENCY_CEILINGS: tuple[Ceiling, ...] = (Ceiling("pandas<3", "3.3.1"),)
_VERSION = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+)|\.\*)$")


class UnsupportedAirflowVersion(ValueError):
    """A version outside the policy; the message names where it came from and the fix."""


def check_airflow_version(version: str, source: str) -> str:
    """Accept ``X.Y.Z`` or ``X.Y.*`` for Airflow 2.7+ and 3.x; ``source`` names the field."""
    match = _VERSION.match(version.strip())
    if match is None:
        raise UnsupportedAirflowVersion(
            f"{source}: Airflow version {version!r} is not a version number; "
            "use a released Airflow version such as 3.1.0 or 2.10.5"
        )
    major, minor = int(match.group("major")), int(match.group("minor"))
    if major not in SUPPORTED_MAJORS or (major == 2 and minor < MIN_AIRFLOW_2_MINOR):
        raise UnsupportedAirflowVersion(
            f"{source}: unknown or unsupported Airflow version {version!r}; "
            f"flightdeck supports Airflow 2.{MIN_AIRFLOW_2_MINOR} and later and Airflow 3"
        )
    return version.strip()


def check_exact_airflow_version(version: str, source: str) -> str:
    """As :func:`check_airflow_version`, refusing ``X.Y.*``: a Deployment pins one release so
    every pass installs the same Airflow."""
    checked = check_airflow_version(version, source)
    if checked.endswith(".*"):
        raise UnsupportedAirflowVersion(
            f"{source}: a Deployment needs an exact version such as 3.1.0"
        )
    return checked


def airflow_major(version: str) -> int:
    """The major version of a checked version string (``3`` for ``3.1.0``)."""
    return int(version.split(".", 1)[0])


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def newest_release(version: str) -> str | None:
    """The release ``version`` installs: itself, or for ``X.Y.*`` the newest ``X.Y`` release
    in :data:`RELEASE_DATES`; ``None`` when the table does not know it."""
    if not version.endswith(".*"):
        return version if version in RELEASE_DATES else None
    series = version.removesuffix("*")
    known = [release for release in RELEASE_DATES if release.startswith(series)]
    return max(known, key=_release_key) if known else None


def resolution_cutoff(version: str) -> str | None:
    """The ``--exclude-newer`` moment for ``version``: the end (UTC) of its release day, so
    the release's own companion packages published later that day still resolve."""
    release = newest_release(version)
    if release is None:
        return None
    day = dt.date.fromisoformat(RELEASE_DATES[release]) + dt.timedelta(days=1)
    return f"{day.isoformat()}T00:00:00Z"


def ceilings_for(version: str) -> tuple[str, ...]:
    """The :data:`DEPENDENCY_CEILINGS` that apply to ``version`` (none for an unknown one)."""
    release = newest_release(version)
    if release is None:
        return ()
    key = _release_key(release)
    return tuple(c.requirement for c in DEPENDENCY_CEILINGS if key < _release_key(c.fixed_in))


def as_document() -> dict[str, object]:
    """The policy above, as `flightdeck reference airflow-versions` shows it."""
    return {
        "default": DEFAULT_AIRFLOW_VERSION,
        "supported": [f"2.{MIN_AIRFLOW_2_MINOR} and later 2.x releases", "3.x releases"],
        "deployment_form": "an exact release, X.Y.Z (for example 3.1.0)",
        "dev_form": "an exact release X.Y.Z, or a series X.Y.* (the newest of it)",
        "release_dates": dict(RELEASE_DATES),
    }

"""Which Airflow versions flightdeck runs, and the default: one policy for `flightdeck dev`
(devenv), Deployments (services) and the runtimes.

It sits beside ``flightdeck.config`` at the bottom of the layers, so every layer may import
it and it imports nothing of flightdeck's.
"""

from __future__ import annotations

import re

DEFAULT_AIRFLOW_VERSION = "3.3.2"
SUPPORTED_MAJORS = (2, 3)
# Airflow 2 releases before 2.7 do not install on Python 3.11.
MIN_AIRFLOW_2_MINOR = 7
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


def as_document() -> dict[str, object]:
    """The policy above, as `flightdeck reference airflow-versions` shows it."""
    return {
        "default": DEFAULT_AIRFLOW_VERSION,
        "supported": [f"2.{MIN_AIRFLOW_2_MINOR} and later 2.x releases", "3.x releases"],
        "deployment_form": "an exact release, X.Y.Z (for example 3.1.0)",
        "dev_form": "an exact release X.Y.Z, or a series X.Y.* (the newest of it)",
    }

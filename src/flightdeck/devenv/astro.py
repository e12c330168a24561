"""Which Airflow a project's Dockerfile asks for, so Astro CLI projects run natively unchanged.

Astro Runtime images name a runtime release, not an Airflow release: Airflow 2 runtimes
are ``major.minor.patch`` where each runtime major tracks one Airflow 2 minor, and Airflow 3
runtimes are ``<airflow major.minor>-<runtime patch>``. Runtime patches can carry Airflow
patches, so we pin the Airflow minor and let the installer take its newest patch.
"""

from __future__ import annotations

import re
from pathlib import Path

from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.textfile import read_project_text

# Astro Runtime major (Airflow 2 line) -> Airflow minor it is built on.
RUNTIME_MAJOR_TO_AIRFLOW = {
    4: "2.2",
    5: "2.3",
    6: "2.4",
    7: "2.5",
    8: "2.6",
    9: "2.7",
    10: "2.8",
    11: "2.9",
    12: "2.10",
    13: "2.11",
}

# Blanks, not \s: \s* would run across line ends and make the search quadratic.
_FROM = re.compile(
    r"^[ \t]*FROM[ \t]+(?:--platform=\S+[ \t]+)?(?P<image>\S+)", re.IGNORECASE | re.MULTILINE
)
_RUNTIME_AF3 = re.compile(r"^(?P<minor>3\.\d+)-\d+(?:-.*)?$")
_RUNTIME_AF2 = re.compile(r"^(?P<major>\d+)\.\d+\.\d+(?:-.*)?$")
_APACHE = re.compile(r"^(?:slim-)?(?P<version>[23]\.\d+\.\d+)(?:-.*)?$")


def airflow_version_for_image(image: str) -> str:
    """Map a base image reference to an Airflow version or ``X.Y.*`` minor; raise if unknown."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        raise DevEnvError(
            f"Dockerfile: base image {image!r} has no tag; pin one such as "
            "apache/airflow:3.1.0 or an astro-runtime version"
        )
    repo = name.rsplit("/", 1)[-1]
    if repo == "airflow" and (m := _APACHE.match(tag)):
        return m.group("version")
    if repo in {"runtime", "astro-runtime"}:
        if m := _RUNTIME_AF3.match(tag):
            return m.group("minor") + ".*"
        if (m := _RUNTIME_AF2.match(tag)) and int(m.group("major")) in RUNTIME_MAJOR_TO_AIRFLOW:
            return RUNTIME_MAJOR_TO_AIRFLOW[int(m.group("major"))] + ".*"
    raise DevEnvError(
        f"Dockerfile: cannot tell the Airflow version from base image {image!r}; set "
        "airflow_version in .flightdeck/config.yaml (for example 3.1.0)"
    )


def airflow_version_from_dockerfile(path: Path) -> str | None:
    """The Airflow version of the first ``FROM`` line, or ``None`` without a Dockerfile."""
    if not path.exists():
        return None
    match = _FROM.search(read_project_text(path))
    if match is None:
        raise DevEnvError(
            "Dockerfile: no FROM line found; add one (for example FROM apache/airflow:3.1.0) "
            "or set airflow_version in .flightdeck/config.yaml"
        )
    return airflow_version_for_image(match.group("image"))

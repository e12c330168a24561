"""Which Airflow a project's Dockerfile asks for, so Astro CLI projects run natively unchanged.

``apache/airflow`` tags name the Airflow release; Astro Runtime tags are resolved through
the runtime table (:mod:`flightdeck.devenv.astro_runtimes`).
"""

from __future__ import annotations

import re
from pathlib import Path

from flightdeck.devenv.astro_runtimes import RuntimeTag, resolve_runtime_tag
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.textfile import read_project_text

# Blanks, not \s: \s* would run across line ends and make the search quadratic.
_FROM = re.compile(
    r"^[ \t]*FROM[ \t]+(?:--platform=\S+[ \t]+)?(?P<image>\S+)", re.IGNORECASE | re.MULTILINE
)
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
        return resolve_runtime_tag(tag).airflow
    raise DevEnvError(
        f"Dockerfile: cannot tell the Airflow version from base image {image!r}; set "
        "airflow_version in .flightdeck/config.yaml (for example 3.1.0)"
    )


def _base_image(path: Path) -> str | None:
    if not path.exists():
        return None
    match = _FROM.search(read_project_text(path))
    if match is None:
        raise DevEnvError(
            "Dockerfile: no FROM line found; add one (for example FROM apache/airflow:3.1.0) "
            "or set airflow_version in .flightdeck/config.yaml"
        )
    return match.group("image")


def airflow_version_from_dockerfile(path: Path) -> str | None:
    """The Airflow version of the first ``FROM`` line, or ``None`` without a Dockerfile."""
    image = _base_image(path)
    return None if image is None else airflow_version_for_image(image)


def runtime_tag_from_dockerfile(path: Path) -> RuntimeTag | None:
    """The Astro Runtime release the ``FROM`` line names, or ``None`` for any other image."""
    image = _base_image(path)
    if image is None:
        return None
    name, _, tag = image.rpartition(":")
    if not name or name.rsplit("/", 1)[-1] not in {"runtime", "astro-runtime"}:
        return None
    return resolve_runtime_tag(tag)


INTEGRITY_EXCEPTIONS = Path(".astro") / "dag_integrity_exceptions.txt"


def integrity_exceptions(root: Path) -> set[str]:
    """The DAG files (relative to the project, one per line) Astro's DAG-integrity test lets
    fail to import: ``.astro/dag_integrity_exceptions.txt``, blank lines ignored."""
    path = root / INTEGRITY_EXCEPTIONS
    if not path.exists():
        return set()
    lines = read_project_text(path, str(INTEGRITY_EXCEPTIONS)).splitlines()
    return {line.strip() for line in lines if line.strip()}

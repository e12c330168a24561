"""What each Astro Runtime line installs besides Airflow, so DAGs that import it on Astro
import in a native run too.

Source: Astronomer's "Astro Runtime provider package reference" and "Astro Runtime
architecture" pages (astronomer.io/docs/runtime), read on 2026-12-01. The lists are the
newest release of each line listed there (12.8.0, 3.1-12, 3.2-6, 3.3-2; the 3.0 line has
the same set as the later Airflow 3 lines). Only names are kept: versions are resolved with
the Airflow release's dependency date (see :mod:`flightdeck.devenv.venvs`), as close as a
native run can get to the image. Astronomer-only packages that are not published on PyPI
(``astronomer-providers-logging``) are left out, and so are packages whose dependencies
only build against OS libraries an image has and a host usually lacks (:data:`NEEDS_OS_LIBRARIES`;
the note of ``dev start`` names them). Lines without a sourced list (Airflow 2 runtimes
before 12, and 13) install nothing extra.
"""

from __future__ import annotations

from flightdeck.devenv.astro_runtimes import RUNTIME_LINES, RuntimeTag

_AIRFLOW_3 = (
    "apache-airflow-providers-celery",
    "apache-airflow-providers-common-compat",
    "apache-airflow-providers-common-io",
    "apache-airflow-providers-common-sql",
    "apache-airflow-providers-elasticsearch",
    "apache-airflow-providers-openlineage",
    "apache-airflow-providers-smtp",
    "apache-airflow-providers-standard",
)

# Runtime line -> the PyPI packages its standard image ships besides Airflow.
PREINSTALLED: dict[str, tuple[str, ...]] = {
    "12": (
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-celery",
        "apache-airflow-providers-cncf-kubernetes",
        "apache-airflow-providers-common-compat",
        "apache-airflow-providers-common-io",
        "apache-airflow-providers-common-sql",
        "apache-airflow-providers-datadog",
        "apache-airflow-providers-elasticsearch",
        "apache-airflow-providers-fab",
        "apache-airflow-providers-ftp",
        "apache-airflow-providers-google",
        "apache-airflow-providers-http",
        "apache-airflow-providers-imap",
        "apache-airflow-providers-microsoft-azure",
        "apache-airflow-providers-mysql",
        "apache-airflow-providers-openlineage",
        "apache-airflow-providers-postgres",
        "apache-airflow-providers-redis",
        "apache-airflow-providers-smtp",
        "apache-airflow-providers-sqlite",
        "astro-sdk-python",
        "astronomer-providers",
    ),
    "3.0": _AIRFLOW_3,
    "3.1": _AIRFLOW_3,
    "3.2": _AIRFLOW_3,
    "3.3": _AIRFLOW_3,
}


# Runtime packages left out natively -> why: installing them compiles a C extension against
# libraries the image installs with apt (a DAG that needs one lists it in requirements.txt
# once the library is on the machine).
NEEDS_OS_LIBRARIES: dict[str, str] = {
    "apache-airflow-providers-mysql": "its mysqlclient builds against MySQL's client library",
}


def left_out(tag: RuntimeTag | None) -> list[str]:
    """The runtime's packages a native run does not install (see :data:`NEEDS_OS_LIBRARIES`)."""
    if tag is None:
        return []
    return [p for p in PREINSTALLED.get(tag.line.line, ()) if p in NEEDS_OS_LIBRARIES]


def preinstalled_for(tag: RuntimeTag | None) -> tuple[str, ...]:
    """The packages the runtime image ``tag`` ships besides Airflow (``-slim`` and ``-base``
    variants get the standard image's set: a superset, so nothing that imports there fails
    here)."""
    if tag is None:
        return ()
    return _installable(PREINSTALLED.get(tag.line.line, ()))


def preinstalled_for_airflow(version: str) -> tuple[str, ...]:
    """The packages of the runtime line built on ``version``'s Airflow minor (for trying an
    upgrade of a runtime project to another Airflow)."""
    minor = ".".join(version.split(".")[:2]) + ".*"
    for line in RUNTIME_LINES:
        if line.airflow == minor:
            return _installable(PREINSTALLED.get(line.line, ()))
    return ()


def _installable(packages: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for p in packages if p not in NEEDS_OS_LIBRARIES)

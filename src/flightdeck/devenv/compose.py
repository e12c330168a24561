"""Docker Compose files for developers who run Airflow in containers instead of natively.

The main file mirrors the native layout (one service per Airflow component, PostgreSQL for
metadata); the override file only mounts the developer's ``~/.aws`` read-only into the
components that talk to AWS, so credentials stay the developer's own and are never copied
into an image. Everything is built as plain data and dumped, never templated as text.
"""

from __future__ import annotations

import copy
import os
import re
import secrets
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import yaml

from flightdeck.airflow_versions import airflow_major
from flightdeck.devenv.airflow_env import CONTAINER_AWS_DIR
from flightdeck.devenv.envfile import read_env_file, update_env_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import Project

COMPOSE_FILE = "docker-compose.yaml"
OVERRIDE_FILE = "docker-compose.override.yml"
AWS_SERVICES = {
    3: ("scheduler", "api-server", "triggerer", "dag-processor"),
    2: ("scheduler", "webserver", "triggerer"),
}
PLATFORMS = ("linux", "darwin", "windows")


def current_platform() -> str:
    import sys

    if sys.platform.startswith("win"):
        return "windows"
    return "darwin" if sys.platform == "darwin" else "linux"


def host_aws_dir(platform: str, home: str) -> str:
    """The host's ``.aws`` folder as Compose wants it on that platform (forward slashes)."""
    if platform == "windows":
        return PureWindowsPath(home, ".aws").as_posix()
    if platform in ("linux", "darwin"):
        return str(PurePosixPath(home, ".aws"))
    raise DevEnvError(f"--platform {platform!r} is not one of: {', '.join(PLATFORMS)}")


def default_home(platform: str) -> str:
    if platform == "windows":
        return os.environ.get("USERPROFILE") or str(Path.home())
    return os.environ.get("HOME") or str(Path.home())


def _project_name(project: Project) -> str:
    name = re.sub(r"[^a-z0-9_-]", "-", project.root.name.lower()).strip("-_")
    return name or "airflow"


def compose_document(project: Project, airflow_version: str, api_port: int) -> dict[str, Any]:
    major = airflow_major(airflow_version)
    environment = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow:airflow@postgres/airflow",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    if major >= 3:
        environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = "http://api-server:8080/execution/"
        environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin"
    common: dict[str, Any] = {
        "build": {"context": "."},
        "env_file": [".env"],
        "environment": environment,
        "volumes": ["./dags:/opt/airflow/dags", "./plugins:/opt/airflow/plugins",
                    "./include:/opt/airflow/include"],
        "depends_on": {"postgres": {"condition": "service_healthy"}},
        "restart": "unless-stopped",
    }
    init_command = "airflow db migrate"
    if major < 3:
        init_command += (
            " && airflow users create --username admin --password admin --role Admin "
            "--firstname Local --lastname Admin --email admin@localhost || true"
        )
    services: dict[str, Any] = {
        "postgres": {
            "image": "postgres:16",
            "environment": {"POSTGRES_USER": "airflow", "POSTGRES_PASSWORD": "airflow",
                            "POSTGRES_DB": "airflow"},
            "volumes": ["postgres-db:/var/lib/postgresql/data"],
            "healthcheck": {"test": ["CMD", "pg_isready", "-U", "airflow"], "interval": "5s",
                            "retries": 10},
        },
        "airflow-init": {**copy.deepcopy(common), "command": ["bash", "-c", init_command],
                         "restart": "no"},
    }
    components = ("api-server", "scheduler", "dag-processor", "triggerer") if major >= 3 else (
        "webserver", "scheduler", "triggerer")
    for component in components:
        service = copy.deepcopy(common)
        service["command"] = [component]
        service["depends_on"]["airflow-init"] = {"condition": "service_completed_successfully"}
        if component in ("api-server", "webserver"):
            service["ports"] = [f"127.0.0.1:{api_port}:8080"]
        services[component] = service
    return {"name": _project_name(project), "services": services, "volumes": {"postgres-db": {}}}


def override_document(major: int, aws_dir: str) -> dict[str, Any]:
    mount = {"type": "bind", "source": aws_dir, "target": CONTAINER_AWS_DIR, "read_only": True}
    return {
        "services": {
            name: {"volumes": [dict(mount)]} for name in AWS_SERVICES[3 if major >= 3 else 2]
        }
    }


def write_compose(
    project: Project, airflow_version: str, api_port: int, aws_profile: str | None,
    platform: str, aws_dir: str | None = None,
) -> list[Path]:
    """Write both files and the container AWS paths in ``.env``; returns what was written."""
    read_env_file(project.env_file)  # refuse to touch a broken .env
    major = airflow_major(airflow_version)
    source = aws_dir or host_aws_dir(platform, default_home(platform))
    documents = {
        COMPOSE_FILE: compose_document(project, airflow_version, api_port),
        OVERRIDE_FILE: override_document(major, source),
    }
    written = []
    for name, document in documents.items():
        path = project.root / name
        tmp = path.with_name(name + ".tmp")
        tmp.write_text(
            "# Written by `flightdeck dev compose`; re-run it to regenerate.\n"
            + yaml.safe_dump(document, sort_keys=False),
            encoding="utf-8",
        )
        tmp.replace(path)
        written.append(path)
    updates: dict[str, str | None] = {
        "AWS_CONFIG_FILE": f"{CONTAINER_AWS_DIR}/config",
        "AWS_SHARED_CREDENTIALS_FILE": f"{CONTAINER_AWS_DIR}/credentials",
    }
    if aws_profile:
        updates["AWS_PROFILE"] = aws_profile
    existing = read_env_file(project.env_file)
    if major >= 3 and "AIRFLOW__API_AUTH__JWT_SECRET" not in existing:
        updates["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(32)
    update_env_file(project.env_file, updates, comment="Containers (flightdeck dev compose)")
    written.append(project.env_file)
    return written

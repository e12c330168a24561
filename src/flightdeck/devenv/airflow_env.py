"""The environment every Airflow process of a project gets, composed in one place.

Order of precedence (later wins): the developer's own shell environment (so AWS_PROFILE,
AWS_CONFIG_FILE, SSO caches and the rest of their AWS setup just work), flightdeck's local
defaults, the profile recorded by ``flightdeck dev aws use``, the project's ``.env``, and
finally the values that must match what the supervisor chose (home, ports, database).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flightdeck.airflow_versions import airflow_major
from flightdeck.devenv.envfile import read_env_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import Project, ProjectConfig

# Where `flightdeck dev compose` mounts ~/.aws inside the apache/airflow image.
CONTAINER_AWS_DIR = "/home/airflow/.aws"
ADMIN_USER = "admin"
_AWS_FILE_KEYS = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass(frozen=True)
class Ports:
    api: int
    worker_logs: int
    trigger_logs: int

    def as_dict(self) -> dict[str, int]:
        return {"api": self.api, "worker_logs": self.worker_logs, "trigger_logs": self.trigger_logs}


@dataclass(frozen=True)
class LocalSecrets:
    """Per-project random keys and the UI password, created once and kept across restarts."""

    admin_password: str
    jwt_secret: str
    secret_key: str


def local_secrets(project: Project) -> LocalSecrets:
    path = project.airflow_home / "local-secrets.json"
    if path.exists():
        data = json.loads(path.read_text())
    else:
        data = {
            "admin_password": secrets.token_urlsafe(12),
            "jwt_secret": secrets.token_urlsafe(48),
            "secret_key": secrets.token_urlsafe(48),
        }
        project.airflow_home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
    return LocalSecrets(data["admin_password"], data["jwt_secret"], data["secret_key"])


def passwords_file(project: Project) -> Path:
    return project.airflow_home / "simple_auth_manager_passwords.json"


def read_project_env(project: Project) -> tuple[dict[str, str], list[str]]:
    """The ``.env`` values for native runs, and notes about keys left out.

    ``flightdeck dev compose`` writes container paths for the AWS files into ``.env``; natively
    those paths do not exist, so they are skipped and the host's own AWS setup applies.
    """
    values = read_env_file(project.env_file)
    notes: list[str] = []
    for key in _AWS_FILE_KEYS:
        value = values.get(key)
        if value and value.startswith(CONTAINER_AWS_DIR) and not Path(value).exists():
            del values[key]
            notes.append(f".env {key}={value} is a container path; using the host's AWS files")
    backend_kwargs = values.get("AIRFLOW__SECRETS__BACKEND_KWARGS")
    if backend_kwargs is not None:
        try:
            json.loads(backend_kwargs)
        except json.JSONDecodeError:
            raise DevEnvError(
                ".env AIRFLOW__SECRETS__BACKEND_KWARGS: not valid JSON; rewrite it with "
                "`flightdeck dev secrets use ...` or fix the quoting"
            ) from None
    return values, notes


def airflow_environment(
    project: Project,
    config: ProjectConfig,
    ports: Ports,
    dotenv: dict[str, str],
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """Compose the environment for Airflow's processes (see the module docstring for order)."""
    home = project.airflow_home
    major = airflow_major(config.airflow_version)
    keys = local_secrets(project)
    env = dict(os.environ if base is None else base)
    defaults = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project.root / "plugins"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    }
    if major >= 3:
        defaults |= {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        }
    else:
        defaults |= {
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",  # the only one SQLite allows
            "AIRFLOW__API__AUTH_BACKENDS": (
                "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session"
            ),
        }
    env |= defaults
    if config.aws_profile:
        env["AWS_PROFILE"] = config.aws_profile
        env.pop("AWS_DEFAULT_PROFILE", None)
    env |= dotenv
    # The project root on sys.path lets DAGs import `include.*`, as in the container layout.
    pythonpath = [str(project.root), env.get("PYTHONPATH", "")]
    api_url = f"http://127.0.0.1:{ports.api}"
    env |= {
        "AIRFLOW_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(p for p in pythonpath if p),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.worker_logs),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.trigger_logs),
        # Off by default; if a user turns it on, still loopback only.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
    }
    if major >= 3:
        env |= {
            "AIRFLOW__API__PORT": str(ports.api),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(project)),
            "AIRFLOW__API_AUTH__JWT_SECRET": keys.jwt_secret,
            "AIRFLOW__API__SECRET_KEY": keys.secret_key,
        }
    else:
        env |= {
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(ports.api),
            "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__WEBSERVER__BASE_URL": api_url,
            "AIRFLOW__WEBSERVER__SECRET_KEY": keys.secret_key,
        }
    return env

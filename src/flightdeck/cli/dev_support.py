"""What the ``flightdeck dev`` commands share: finding the project, turning the devenv
layer's errors into one line, and reaching the project's running Airflow."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from flightdeck.cli.errors import CliError

if TYPE_CHECKING:
    from flightdeck.devenv.project import Project

CWD = Path()  # the default of --project-dir: found from here upwards


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the devenv layer's errors into the CLI's single-line errors."""
    from flightdeck.devenv.errors import DevEnvError

    try:
        yield
    except DevEnvError as exc:
        raise CliError(exc.message) from None


def project_at(directory: Path) -> Project:
    """The project containing ``directory`` (it or a parent)."""
    from flightdeck.devenv.project import find_project

    return find_project(directory.resolve())


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout stays the command's result."""
    typer.echo(message, err=True)


def running_airflow_api(project: Project) -> Any:
    """A client of the project's running Airflow, logged in as the local admin."""
    from flightdeck.airflow_versions import airflow_major
    from flightdeck.devenv import supervisor
    from flightdeck.devenv.airflow_api import AirflowApi
    from flightdeck.devenv.airflow_env import local_secrets

    state = supervisor.read_state(project)
    if state is None or not any(state.alive().values()):
        raise CliError("Airflow is not running for this project; run `flightdeck dev start`")
    password = local_secrets(project).admin_password
    return AirflowApi(state.url, airflow_major(state.airflow_version), "admin", password)

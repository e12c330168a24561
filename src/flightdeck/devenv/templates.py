"""The files ``flightdeck dev init`` writes, kept apart so ``project.py`` stays about logic.

Every DAG template imports from the Airflow 3 Task SDK first and falls back to the Airflow 2
modules, so one scaffold serves both major versions.
"""

from __future__ import annotations

EXAMPLE_DAG = '''"""An example pipeline: extract a few numbers, sum them, print the total."""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
     tags=["example"])
def example_pipeline():
    @task
    def extract() -> list[int]:
        return [1, 2, 3, 5, 8]

    @task
    def total(numbers: list[int]) -> int:
        result = sum(numbers)
        print(f"total: {result}")
        return result

    total(extract())


example_pipeline()
'''

SECRETS_EXAMPLE_DAG = '''"""Read an Airflow variable and a connection; print them (masked in logs).

With a secrets backend configured (``flightdeck dev secrets use aws-secrets-manager``) the
values come from AWS with your own credentials. Airflow masks secret values in task logs,
so the printed password and variable appear as ***.
"""

from __future__ import annotations

import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import Connection, Variable, dag, task

    get_connection = Connection.get
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task
    from airflow.hooks.base import BaseHook
    from airflow.models import Variable

    get_connection = BaseHook.get_connection

VARIABLE_KEY = os.environ.get("SECRETS_EXAMPLE_VARIABLE", "example_api_key")
CONNECTION_ID = os.environ.get("SECRETS_EXAMPLE_CONNECTION", "example_database")


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
     tags=["example", "secrets"])
def secrets_example():
    @task
    def show_secrets() -> None:
        missing = []
        try:
            value = Variable.get(VARIABLE_KEY)
        except Exception:  # not set yet: Airflow 3 says VARIABLE_NOT_FOUND, Airflow 2 KeyError
            value = None
            missing.append(
                f"variable {VARIABLE_KEY} is not set; set it with\\n"
                f"    flightdeck dev run variables set {VARIABLE_KEY} some-value\\n"
                f"  or store it as the secret airflow/variables/{VARIABLE_KEY} after\\n"
                "    flightdeck dev secrets use aws-secrets-manager"
            )
        try:
            conn = get_connection(CONNECTION_ID)
        except Exception:  # not set yet: CONNECTION_NOT_FOUND / AirflowNotFoundException
            conn = None
            missing.append(
                f"connection {CONNECTION_ID} is not set; add it with\\n"
                f"    flightdeck dev run connections add {CONNECTION_ID} "
                "--conn-uri postgresql://user:password@host:5432/db\\n"
                f"  or store it as the secret airflow/connections/{CONNECTION_ID} after\\n"
                "    flightdeck dev secrets use aws-secrets-manager"
            )
        if value is not None:
            print(f"variable {VARIABLE_KEY}: {value}")
        if conn is not None:
            print(f"connection {CONNECTION_ID}: type={conn.conn_type} host={conn.host} "
                  f"login={conn.login} password={conn.password}")
        for how in missing:
            print(f"secrets_example: {how}")
        if missing:
            print("secrets_example: nothing to show until then; the task succeeds anyway "
                  "(see flightdeck's docs/dev.md, Secrets backend).")

    show_secrets()


secrets_example()
'''

DAG_INTEGRITY_TEST = '''"""Every DAG in dags/ imports cleanly: the cheapest test there is."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models import DagBag

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    # Airflow's example DAGs follow AIRFLOW__CORE__LOAD_EXAMPLES (off in flightdeck dev).
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}


def test_every_dag_has_tags(dag_bag: DagBag) -> None:
    ours = {i: d for i, d in dag_bag.dags.items() if str(DAGS) in str(d.fileloc)}
    untagged = [dag_id for dag_id, dag in ours.items() if not dag.tags]
    assert untagged == []
'''

REQUIREMENTS = """# Python packages for your DAGs, one per line (pip requirement syntax).
# Airflow itself and apache-airflow-providers-amazon are installed for you.
"""

PACKAGES = """# OS packages (Debian names) for the Docker image. `flightdeck dev start` runs
# natively and cannot install these: it warns, and you install them on your machine.
"""

ENV = """# Environment for Airflow's processes (KEY=VALUE per line). Not committed to git.
# Example: AIRFLOW__CORE__DEFAULT_TIMEZONE=UTC
"""

AIRFLOW_SETTINGS = """# Connections, pools and variables loaded by `flightdeck dev start`.
# Not committed to git: it may contain credentials.
airflow:
  connections:
    - conn_id: example_http
      conn_type: http
      conn_host: example.com
      conn_schema: https
      conn_login:
      conn_password:
      conn_port:
      conn_extra: {}
  pools:
    - pool_name: example_pool
      pool_slot: 4
      pool_description: An example pool
  variables:
    - variable_name: example_environment
      variable_value: local
"""

DOCKERFILE = """FROM apache/airflow:{version}-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow=={version}" apache-airflow-providers-amazon \\
    -r /requirements.txt
"""

GITIGNORE = """.env
airflow_settings.yaml
.flightdeck/airflow/
__pycache__/
*.pyc
.pytest_cache/
docker-compose.override.yml
"""

CONFIG = """# flightdeck dev project settings. Runtime data: .flightdeck/airflow/ (not committed).
airflow_version: {version}
# Port for the Airflow UI/API; a free one is chosen when it is busy.
api_port: 8080
aws:
  # Set with `flightdeck dev aws use --profile NAME`; empty means AWS's default chain.
  profile:
# A constraints file (path or URL, e.g. Airflow's constraints-3.11.txt) pinning every
# dependency; without one, packages are limited to those published by Airflow's release.
# constraints: constraints.txt
"""

"""A started local Airflow for end-to-end tests: real Airflow, real moto, the real CLI.

The developer's path: init -> aws use --profile -> secrets use aws-secrets-manager -> start.
Airflow's processes find the profile through the developer's own AWS config files (no keys
in the environment) and reach the emulator through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devenv.cli_helpers import VENV_CACHE, run_cli
from flightdeck.airflow_versions import airflow_major
from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.devenv.airflow_env import local_secrets
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import read_state

PROFILE = "dev-sandbox"
PROFILE_KEY = "AKIAPROFILE000000001"
PROFILE_SECRET = "profile-secret-access-key-0001"
EXPLICIT_KEY = "AKIAEXPLICIT00000002"
EXPLICIT_SECRET = "explicit-secret-access-key-0002"
VARIABLE_VALUE = "var-Secret-Value-8f3a1c"
CONN_PASSWORD = "conn-Passw0rd-b71e99"

PRECEDENCE_DAG = '''
from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
     tags=["test"])
def credentials_precedence():
    @task
    def whoami() -> None:
        for label, conn_id in (("explicit", "aws_explicit_keys"), ("default", None)):
            hook = AwsBaseHook(aws_conn_id=conn_id, client_type="sts")
            session = hook.get_session()
            creds = session.get_credentials()
            hook.get_conn().get_caller_identity()  # the credentials really work
            print(f"{label}: key={creds.access_key} method={creds.method} "
                  f"profile={session.profile_name}")

    whoami()


credentials_precedence()
'''

SETTINGS = f"""
airflow:
  connections:
    - conn_id: aws_explicit_keys
      conn_type: aws
      conn_login: {EXPLICIT_KEY}
      conn_password: {EXPLICIT_SECRET}
      conn_extra:
        region_name: us-east-1
  pools:
    - pool_name: dev_pool
      pool_slot: 2
      pool_description: from the settings file
  variables:
    - variable_name: environment_name
      variable_value: local-test
"""




@dataclass
class Started:
    project: Path
    env: dict[str, str]
    start_output: str

    def api(self) -> AirflowApi:
        project = Project(self.project)
        state = read_state(project)
        assert state is not None
        major = airflow_major(state.airflow_version)
        return AirflowApi(state.url, major, "admin", local_secrets(project).admin_password)

    def cli(self, *args: str) -> Any:
        return run_cli("dev", *args, "--project-dir", str(self.project), env=self.env)

    def kill(self) -> None:
        self.cli("kill")

    def leaking_logs(self, *secrets: str) -> list[str]:
        """Every log file (task or component) that holds one of ``secrets`` in clear text."""
        logs = Project(self.project).airflow_home / "logs"
        return [
            str(path) for path in logs.rglob("*.log")
            if any(secret in path.read_text(errors="replace") for secret in secrets)
        ]


def _create_secret(client: Any, name: str, value: str) -> None:
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


def start_project(
    base: Path, moto_endpoint: str, airflow_version: str | None, extra_dags: dict[str, str]
) -> Started:
    """Create a project the way a developer would and start it; raises if start fails."""
    home = base / "home"
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        f"[{PROFILE}]\naws_access_key_id = {PROFILE_KEY}\n"
        f"aws_secret_access_key = {PROFILE_SECRET}\n"
    )
    (aws / "config").write_text(f"[profile {PROFILE}]\nregion = us-east-1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(aws / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
        "AWS_ENDPOINT_URL": moto_endpoint,
        "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE,
    }
    # The secrets live in the account the developer's profile reaches.
    sm = boto3.client(
        "secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1",
        aws_access_key_id=PROFILE_KEY, aws_secret_access_key=PROFILE_SECRET,
    )
    _create_secret(sm, "airflow/variables/example_api_key", VARIABLE_VALUE)
    _create_secret(
        sm,
        "airflow/connections/example_database",
        json.dumps({
            "conn_type": "postgres", "host": "db.example.internal", "port": 5432,
            "login": "analyst", "password": CONN_PASSWORD, "schema": "warehouse",
        }),
    )
    project = base / "proj"
    init = ["init", str(project)]
    if airflow_version:
        init += ["--airflow-version", airflow_version]
    for args in (
        init,
        ["aws", "use", "--profile", PROFILE, "--project-dir", str(project)],
        ["secrets", "use", "aws-secrets-manager", "--region", "us-east-1",
         "--project-dir", str(project)],
    ):
        result = run_cli("dev", *args, env=env)
        assert result.returncode == 0, result.stderr
    for name, source in extra_dags.items():
        (project / "dags" / name).write_text(source)
    (project / "airflow_settings.yaml").write_text(SETTINGS)
    (project / "packages.txt").write_text("# OS packages\nlibpq-dev\n")
    result = run_cli("dev", "start", "--project-dir", str(project), env=env, timeout=900)
    started = Started(project, env, result.stdout + result.stderr)
    if result.returncode != 0:
        started.kill()
        raise AssertionError(f"dev start failed:\n{result.stderr}{result.stdout}")
    return started


def run_dag(started: Started, dag_id: str, timeout: float = 240) -> str:
    """Unpause and trigger ``dag_id`` over the REST API; return its task logs once finished."""
    api = started.api()
    client = api.client()
    prefix = api.prefix
    body = {"logical_date": None} if api.major >= 3 else {}
    try:
        deadline = time.monotonic() + timeout
        while client.get(f"{prefix}/dags/{dag_id}").status_code != 200:
            assert time.monotonic() < deadline, f"{dag_id} was never parsed"
            time.sleep(1)
        unpause = client.patch(f"{prefix}/dags/{dag_id}", json={"is_paused": False})
        assert unpause.status_code == 200, unpause.text
        run = client.post(f"{prefix}/dags/{dag_id}/dagRuns", json=body)
        assert run.status_code == 200, run.text
        run_id = run.json()["dag_run_id"]
        state = None
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline, f"{dag_id} run did not finish: {state}"
            time.sleep(1)
            state = client.get(f"{prefix}/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
    finally:
        api.close()
    logs = Project(started.project).airflow_home / "logs" / f"dag_id={dag_id}"
    text = "\n".join(p.read_text() for p in sorted(logs.rglob("*.log")))
    assert state == "success", text[-3000:]
    return text

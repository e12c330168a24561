"""End to end with real Airflow 3 and a real moto server: one started project for the module.

A developer's path: init -> aws use --profile -> secrets use aws-secrets-manager -> start.
Airflow's processes find the profile through the developer's own AWS config files (no
keys in the environment), read a variable and a connection from Secrets Manager on the
emulator, and the secret values show up only masked in the task log.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from devenv.cli_helpers import VENV_CACHE, run_cli
from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.devenv.airflow_env import local_secrets
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import read_state

pytestmark = pytest.mark.slow

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
        return AirflowApi(state.url, 3, "admin", local_secrets(project).admin_password)

    def cli(self, *args: str) -> Any:
        return run_cli("dev", *args, "--project-dir", str(self.project), env=self.env)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Iterator[Started]:
    base = tmp_path_factory.mktemp("native")
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
    sm.create_secret(Name="airflow/variables/example_api_key", SecretString=VARIABLE_VALUE)
    sm.create_secret(
        Name="airflow/connections/example_database",
        SecretString=json.dumps({
            "conn_type": "postgres", "host": "db.example.internal", "port": 5432,
            "login": "analyst", "password": CONN_PASSWORD, "schema": "warehouse",
        }),
    )
    project = base / "proj"
    for args in (
        ("init", str(project)),
        ("aws", "use", "--profile", PROFILE, "--project-dir", str(project)),
        ("secrets", "use", "aws-secrets-manager", "--region", "us-east-1",
         "--project-dir", str(project)),
    ):
        result = run_cli("dev", *args, env=env)
        assert result.returncode == 0, result.stderr
    (project / "dags" / "credentials_precedence.py").write_text(PRECEDENCE_DAG)
    (project / "airflow_settings.yaml").write_text(SETTINGS)
    result = run_cli("dev", "start", "--project-dir", str(project), env=env, timeout=900)
    try:
        assert result.returncode == 0, result.stderr + result.stdout
        yield Started(project, env, result.stdout + result.stderr)
    finally:
        run_cli("dev", "kill", "--project-dir", str(project), env=env)


def _run_dag(started: Started, dag_id: str, timeout: float = 180) -> str:
    """Unpause and trigger ``dag_id``; return the task log text once the run has finished."""
    api = started.api()
    client = api.client()
    try:
        deadline = time.monotonic() + timeout
        while client.get(f"/api/v2/dags/{dag_id}").status_code != 200:
            assert time.monotonic() < deadline, f"{dag_id} was never parsed"
            time.sleep(1)
        assert client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).status_code == 200
        run = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        assert run.status_code == 200, run.text
        run_id = run.json()["dag_run_id"]
        state = None
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline, f"{dag_id} run did not finish: {state}"
            time.sleep(1)
            state = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
    finally:
        api.close()
    logs = Project(started.project).airflow_home / "logs" / f"dag_id={dag_id}"
    text = "\n".join(p.read_text() for p in sorted(logs.rglob("*.log")))
    assert state == "success", text[-3000:]
    return text


def test_start_prints_url_and_login_and_loads_settings(started: Started) -> None:
    assert "Airflow UI: http://127.0.0.1:" in started.start_output
    assert "Login: admin / " in started.start_output
    api = started.api()
    try:
        client = api.client()
        assert client.get("/api/v2/variables/environment_name").json()["value"] == "local-test"
        assert client.get("/api/v2/pools/dev_pool").json()["slots"] == 2
        conn = client.get("/api/v2/connections/aws_explicit_keys").json()
        assert conn["conn_type"] == "aws" and conn["login"] == EXPLICIT_KEY
    finally:
        api.close()
    ps = started.cli("ps")
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert any(
            line.startswith(component) and line.endswith("running")
            for line in ps.stdout.splitlines()
        ), ps.stdout


def test_secrets_example_reads_secrets_manager_and_log_is_masked(started: Started) -> None:
    log = _run_dag(started, "secrets_example")
    assert "variable example_api_key: ***" in log
    assert "host=db.example.internal login=analyst password=***" in log
    # Not only the task log: no log file of any component may hold the values.
    leaking = [
        str(path)
        for path in (Project(started.project).airflow_home / "logs").rglob("*.log")
        if VARIABLE_VALUE in (text := path.read_text(errors="replace")) or CONN_PASSWORD in text
    ]
    assert leaking == []


def test_connection_with_explicit_keys_overrides_the_profile(started: Started) -> None:
    log = _run_dag(started, "credentials_precedence")
    assert f"explicit: key={EXPLICIT_KEY} method=explicit" in log
    assert f"default: key={PROFILE_KEY} method=shared-credentials-file profile={PROFILE}" in log
    assert EXPLICIT_SECRET not in log and PROFILE_SECRET not in log


def test_secrets_check_shows_masked_values_and_credential_source(started: Started) -> None:
    result = started.cli("secrets", "check", "--variable", "example_api_key",
                         "--connection", "example_database")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Variable example_api_key: ***" in out
    assert "host=db.example.internal" in out and "password=***" in out
    assert f"Credentials: shared-credentials-file (profile {PROFILE}" in out
    assert VARIABLE_VALUE not in out and CONN_PASSWORD not in out
    missing = started.cli("secrets", "check", "--variable", "no_such_variable")
    assert missing.returncode != 0
    assert "Variable no_such_variable: NOT FOUND" in missing.stdout


def test_parse_reports_errors_by_file_and_pytest_runs_project_tests(started: Started) -> None:
    broken = started.project / "dags" / "broken_dag.py"
    broken.write_text("from airflow.sdk import dag\nimport module_that_does_not_exist\n")
    try:
        result = started.cli("parse")
    finally:
        broken.unlink()
    assert result.returncode != 0
    assert "dags/broken_dag.py: ModuleNotFoundError" in result.stdout
    assert result.stderr.strip().startswith("Error: 1 DAG file(s) failed to import")
    ok = started.cli("parse")
    assert ok.returncode == 0 and "secrets_example" in ok.stdout
    tests = started.cli("pytest")
    assert tests.returncode == 0, tests.stdout[-2000:]
    assert "passed" in tests.stdout


def test_object_export_then_import(started: Started, tmp_path: Path) -> None:
    target = tmp_path / "exported.yaml"
    assert started.cli("object", "export", "--file", str(target)).returncode == 0
    text = target.read_text()
    assert "aws_explicit_keys" in text and "dev_pool" in text and "environment_name" in text
    target.write_text(text.replace("local-test", "changed-by-import"))
    result = started.cli("object", "import", "--file", str(target))
    assert result.returncode == 0, result.stderr
    api = started.api()
    try:
        value = api.client().get("/api/v2/variables/environment_name").json()["value"]
    finally:
        api.close()
    assert value == "changed-by-import"


def test_logs_then_stop_keeps_data(started: Started) -> None:
    logs = started.cli("logs", "--component", "scheduler", "--lines", "5")
    assert logs.returncode == 0 and logs.stdout.startswith("scheduler | ")
    bad = started.cli("logs", "--component", "nope")
    assert bad.returncode != 0 and "choose one of" in bad.stderr
    home = Project(started.project).airflow_home
    assert started.cli("stop").returncode == 0
    assert (home / "airflow.db").exists()
    assert "not running" in started.cli("ps").stdout
    assert started.cli("kill").returncode == 0
    assert not home.exists()


def test_unpublished_airflow_version_is_one_clear_error(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    assert run_cli("dev", "init", str(project), "--airflow-version", "3.99.0").returncode == 0
    env = {**os.environ, "FLIGHTDECK_DEV_CACHE_DIR": str(tmp_path / "cache")}
    result = run_cli("dev", "start", "--project-dir", str(project), env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: Airflow version 3.99.0 is not published on PyPI")
    assert not (project / ".flightdeck" / "airflow").exists()

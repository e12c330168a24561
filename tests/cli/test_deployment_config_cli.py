"""`flightdeck deployment variable|connection|airflow-variable|pool` against the embedded
server (emulator, worker, local runtime) and one real Airflow, started once for the module:
a secret variable a task reads and its log masks, an API-only variable that restarts the API
server alone, a connection and a pool read back from that Airflow, airflow_settings.yaml
applied. Bad input is tests/api/test_deployment_config.py's (no Airflow needed)."""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.conftest import Server, _serve, run_cli, sign_up_and_verify
from devenv.cli_helpers import VENV_CACHE
from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.devenv.project import Project, init_project
from flightdeck.devenv.supervisor import read_state

PASSWORD = "correct horse battery staple"
CUSTOMER = "222222222222"
SECRET = "tok-never-in-a-log-5e1d"
CONN_PASSWORD = "pg-password-9c2b"

DAG = '''
import hashlib
import os

import pendulum
from airflow.sdk import Variable, dag, task


@dag(dag_id="reads_secret", schedule=None, catchup=False,
     start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def reads_secret():
    @task
    def read() -> None:
        value = Variable.get("api_token")  # AIRFLOW_VAR_API_TOKEN, a secret of the Deployment
        digest = hashlib.sha256(value.encode()).hexdigest()
        assert digest == "{digest}", "the secret variable did not arrive"
        assert os.environ["PLAIN_FROM_FILE"] == "from-dotenv"
        print(f"the token is {{value}}")

    read()


reads_secret()
'''


@dataclass
class Stack:
    server: Server
    env: dict[str, str]
    data_dir: Path
    deployment_id: str

    def cli(self, *args: str, ok: bool = True, timeout: float = 120) -> str:
        result = run_cli(*args, env=self.env, timeout=900 if "--wait" in args else timeout)
        assert "Traceback" not in result.stderr, result.stderr
        if ok:
            assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
            return result.stdout
        assert result.returncode != 0, f"{args} should fail: {result.stdout}"
        return result.stderr

    def wait_applied(self, timeout: float = 900) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data: dict[str, Any] = json.loads(self.cli("deployment", "get", "etl", "--json"))
            if data["observed_generation"] >= data["generation"] and data["phase"] == "Healthy":
                return data
            time.sleep(2)
        raise AssertionError(f"not Healthy after {timeout}s: {data}")

    def pids(self) -> dict[str, int]:
        state = read_state(Project(self.data_dir / "deployments" / self.deployment_id))
        assert state is not None
        return dict(state.pids)

    def airflow(self) -> tuple[str, dict[str, str]]:
        login = json.loads(self.cli("deployment", "airflow-login", "etl", "--json"))
        token = httpx.post(f"{login['url']}/auth/token", timeout=60,
                           json={"username": login["username"], "password": login["password"]})
        assert token.status_code in (200, 201), token.text
        return login["url"], {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("depconfig")
    with pytest.MonkeyPatch.context() as patch:
        # The per-test isolated home is not there yet at module scope: one of its own.
        home = tmp / "home"
        data_dir = home / ".flightdeck"
        for name, value in {"HOME": home, "FLIGHTDECK_DATA_DIR": data_dir,
                            "FLIGHTDECK_CONFIG_DIR": home / ".config" / "flightdeck",
                            "XDG_CONFIG_HOME": home / ".config",
                            "XDG_CACHE_HOME": home / ".cache",
                            "AWS_CONFIG_FILE": home / ".aws" / "config",
                            "AWS_SHARED_CREDENTIALS_FILE": home / ".aws" / "credentials"}.items():
            patch.setenv(name, str(value))
        for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "FLIGHTDECK_URL",
                     "FLIGHTDECK_TOKEN", "FLIGHTDECK_DATABASE_URL", "FLIGHTDECK_MODE"):
            patch.delenv(name, raising=False)
        patch.setenv("FLIGHTDECK_DEV_CACHE_DIR", VENV_CACHE)
        for server in _serve(tmp):
            env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp / "cfg"),
                   "FLIGHTDECK_PASSWORD": PASSWORD,
                   "AWS_CONFIG_FILE": str(data_dir / "aws" / "config"),
                   "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "aws" / "credentials")}
            stack = Stack(server, env, data_dir, "")
            sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme")
            stack.cli("workspace", "create", "data")
            stack.cli("aws", "role", "create", "--profile", "customer")
            stack.cli("aws", "account", "verify", CUSTOMER)
            stack.cli("cluster", "create", "prod", "--account", CUSTOMER, "--watch",
                      timeout=600)
            created = json.loads(stack.cli("deployment", "create", "etl", "--workspace", "data",
                                           "--cluster", "prod", "--wait", "--json"))
            assert created["phase"] == "Healthy", created
            stack.deployment_id = created["id"]
            try:
                yield stack
            finally:
                stack.cli("deployment", "delete", "etl", "--yes", "--wait", ok=True)


@pytest.mark.slow
def test_a_secret_variable_reaches_the_task_and_its_log_masks_it(
    stack: Stack, tmp_path: Path
) -> None:
    import hashlib

    dotenv = tmp_path / ".env"
    dotenv.write_text("# from the project\nPLAIN_FROM_FILE=from-dotenv\n")
    stack.cli("deployment", "variable", "set", "etl", "--load", str(dotenv))
    stack.cli("deployment", "variable", "set", "etl", "--secret", f"AIRFLOW_VAR_API_TOKEN={SECRET}")
    listed = stack.cli("deployment", "variable", "list", "etl")
    assert "PLAIN_FROM_FILE" in listed and "from-dotenv" in listed
    assert "AIRFLOW_VAR_API_TOKEN" in listed and "set (secret)" in listed
    assert SECRET not in listed
    rows = json.loads(stack.cli("deployment", "variable", "list", "etl", "--json"))
    assert {"key": "AIRFLOW_VAR_API_TOKEN", "secret": True, "value": None} in rows
    events = stack.cli("deployment", "events", "etl", "--json")
    assert "secret AIRFLOW_VAR_API_TOKEN; restarts every component" in events
    assert SECRET not in events
    stack.wait_applied()

    project = tmp_path / "project"
    init_project(project, DEFAULT_AIRFLOW_VERSION, force=False)
    for path in (project / "dags").glob("*.py"):
        path.unlink()
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    (project / "dags" / "reads_secret.py").write_text(DAG.format(digest=digest))
    stack.cli("deploy", "etl", "--dags", "--project-dir", str(project), timeout=900)

    url, bearer = stack.airflow()
    with httpx.Client(base_url=url, headers=bearer, timeout=60) as airflow:
        deadline = time.monotonic() + 300
        while airflow.get("/api/v2/dags/reads_secret").status_code != 200:
            assert time.monotonic() < deadline, "the DAG was never parsed"
            time.sleep(2)
        assert airflow.patch("/api/v2/dags/reads_secret", json={"is_paused": False}).is_success
        run = airflow.post("/api/v2/dags/reads_secret/dagRuns", json={"logical_date": None})
        assert run.status_code == 200, run.text
        run_id = run.json()["dag_run_id"]
        state = None
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline + 300, f"the run is still {state}"
            time.sleep(2)
            state = airflow.get(f"/api/v2/dags/reads_secret/dagRuns/{run_id}").json()["state"]
        log = airflow.get(
            f"/api/v2/dags/reads_secret/dagRuns/{run_id}/taskInstances/read/logs/1",
            headers={"Accept": "application/json"},
        ).text
    assert state == "success", log[-3000:]
    assert "the token is ***" in log
    assert SECRET not in log


@pytest.mark.slow
def test_an_api_server_option_restarts_the_api_server_alone(stack: Stack) -> None:
    before = stack.pids()
    stack.cli("deployment", "variable", "set", "etl", "AIRFLOW__API__EXPOSE_CONFIG=False")
    events = json.loads(stack.cli("deployment", "events", "etl", "--json"))
    changed = next(e for e in events if e["kind"] == "updated")
    assert changed["message"].endswith("environment AIRFLOW__API__EXPOSE_CONFIG; "
                                       "restarts api-server only"), changed
    stack.wait_applied()
    deadline = time.monotonic() + 300
    while stack.pids()["api-server"] == before["api-server"]:
        assert time.monotonic() < deadline, "the api-server was not restarted"
        time.sleep(2)
    stack.wait_applied()
    after = stack.pids()
    assert after["api-server"] != before["api-server"]
    for component in ("scheduler", "dag-processor", "triggerer"):
        assert after[component] == before[component], component
    stack.cli("deployment", "variable", "unset", "etl", "AIRFLOW__API__EXPOSE_CONFIG")
    stack.wait_applied()


@pytest.mark.slow
def test_connections_variables_and_pools_round_trip_through_its_airflow(
    stack: Stack, tmp_path: Path
) -> None:
    stack.cli("deployment", "connection", "set", "etl", "warehouse", "--type", "postgres",
              "--host", "db.internal", "--port", "5432", "--login", "etl",
              "--password", CONN_PASSWORD, "--extra", '{"sslmode": "require", "api_key": "k1"}')
    stack.cli("deployment", "pool", "set", "etl", "reports", "--slots", "3",
              "--description", "nightly reports")
    stack.cli("deployment", "airflow-variable", "set", "etl", "region", "eu-west-1")
    stack.cli("deployment", "airflow-variable", "set", "etl", "db_password", "hunter2-xyz")

    url, bearer = stack.airflow()  # what Airflow itself now holds
    with httpx.Client(base_url=url, headers=bearer, timeout=60) as airflow:
        conn = airflow.get("/api/v2/connections/warehouse").json()
        pool = airflow.get("/api/v2/pools/reports").json()
        region = airflow.get("/api/v2/variables/region").json()
    assert (conn["conn_type"], conn["host"], conn["port"], conn["login"]) == (
        "postgres", "db.internal", 5432, "etl")
    assert (pool["slots"], pool["description"]) == (3, "nightly reports")
    assert region["value"] == "eu-west-1"

    shown = stack.cli("deployment", "connection", "list", "etl", "--json")
    assert CONN_PASSWORD not in shown and "k1" not in shown
    (listed,) = [c for c in json.loads(shown) if c["connection_id"] == "warehouse"]
    assert listed["password"] == "***"
    assert listed["extra"] == {"sslmode": "require", "api_key": "***"}
    variables = {v["key"]: v["value"] for v in json.loads(
        stack.cli("deployment", "airflow-variable", "list", "etl", "--json"))}
    assert variables["region"] == "eu-west-1" and variables["db_password"] == "***"
    pools = {p["name"]: p["slots"] for p in json.loads(
        stack.cli("deployment", "pool", "list", "etl", "--json"))}
    assert pools["reports"] == 3

    settings = tmp_path / "airflow_settings.yaml"
    settings.write_text(textwrap.dedent("""\
        airflow:
          connections:
            - conn_id: api
              conn_type: http
              conn_host: api.example
              conn_password: from-settings-pw
          pools:
            - pool_name: batch
              pool_slot: 7
              pool_description: from settings
          variables:
            - variable_name: owner
              variable_value: data-team
        """))
    applied = json.loads(stack.cli("deployment", "pool", "apply", "etl", "--from-settings",
                                   str(settings), "--json"))
    assert applied == {"connections": 1, "pools": 1, "variables": 1}
    pools = {p["name"]: p["slots"] for p in json.loads(
        stack.cli("deployment", "pool", "list", "etl", "--json"))}
    assert pools["batch"] == 7
    assert "from-settings-pw" not in stack.cli("deployment", "connection", "list", "etl")

    stack.cli("deployment", "pool", "delete", "etl", "reports")
    stack.cli("deployment", "connection", "delete", "etl", "warehouse")
    missing = stack.cli("deployment", "pool", "delete", "etl", "reports", ok=False)
    assert "pool 'reports' not found in Deployment etl" in missing

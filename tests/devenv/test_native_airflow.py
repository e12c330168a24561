"""End to end with real Airflow 3 and a real moto server: one started project for the module.

A developer's path: init -> aws use --profile -> secrets use aws-secrets-manager -> start.
Airflow's processes find the profile through the developer's own AWS config files (no
keys in the environment), read a variable and a connection from Secrets Manager on the
emulator, and the secret values show up only masked in the task log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.cli_helpers import VENV_CACHE, run_cli
from devenv.native_helpers import (
    CONN_PASSWORD,
    EXPLICIT_KEY,
    EXPLICIT_SECRET,
    PRECEDENCE_DAG,
    PROFILE,
    PROFILE_KEY,
    PROFILE_SECRET,
    VARIABLE_VALUE,
    Started,
    run_dag,
    start_project,
)
from flightdeck.devenv.project import Project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Iterator[Started]:
    project = start_project(
        tmp_path_factory.mktemp("native3"), moto_endpoint, None,
        {"credentials_precedence.py": PRECEDENCE_DAG},
    )
    try:
        yield project
    finally:
        project.kill()


def test_start_prints_url_and_login_and_loads_settings(started: Started) -> None:
    assert "Airflow UI: http://127.0.0.1:" in started.start_output
    assert "Login: admin / " in started.start_output
    assert "Warning: packages.txt: " in started.start_output
    assert "libpq-dev" in started.start_output.split("Warning: packages.txt: ", 1)[1]
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
    log = run_dag(started, "secrets_example")
    assert "variable example_api_key: ***" in log
    assert "host=db.example.internal login=analyst password=***" in log
    # Not only the task log: no log file of any component may hold the values.
    assert started.leaking_logs(VARIABLE_VALUE, CONN_PASSWORD) == []


def test_connection_with_explicit_keys_overrides_the_profile(started: Started) -> None:
    log = run_dag(started, "credentials_precedence")
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


def test_secrets_check_with_an_expired_sso_profile_says_to_log_in(tmp_path: Path) -> None:
    """An SSO profile is resolved by botocore's SSO provider, which needs a cached token."""
    home = tmp_path / "home"
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "config").write_text(
        "[profile data-eng]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = DataEngineer\nregion = us-east-1\n\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"HOME": str(home), "AWS_CONFIG_FILE": str(aws / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
            "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE}
    project = tmp_path / "proj"
    for args in (("init", str(project)),
                 ("aws", "use", "--profile", "data-eng", "-p", str(project)),
                 ("secrets", "use", "aws-secrets-manager", "-p", str(project))):
        assert run_cli("dev", *args, env=env).returncode == 0
    result = run_cli("dev", "secrets", "check", "--variable", "x", "-p", str(project), env=env)
    assert result.returncode != 0
    assert "Credentials: sso (profile data-eng" in result.stdout
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("Error: secrets check failed:")
    assert error[0].endswith("run `aws sso login --profile data-eng` and retry")

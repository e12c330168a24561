"""Airflow 2 smoke test: the same developer path on an Airflow 2 project (webserver, API v1).

Secrets come from Secrets Manager on the emulator through the developer's profile, and the
values appear only masked in the task log.
"""

from __future__ import annotations

import pytest

from devenv.native_helpers import CONN_PASSWORD, VARIABLE_VALUE, run_dag, start_project

pytestmark = pytest.mark.slow

AIRFLOW2_VERSION = "2.10.5"


def test_airflow2_project_runs_the_secrets_example(
    tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str
) -> None:
    started = start_project(tmp_path_factory.mktemp("native2"), moto_endpoint, AIRFLOW2_VERSION, {})
    try:
        assert f"Airflow {AIRFLOW2_VERSION} is healthy." in started.start_output
        ps = started.cli("ps").stdout
        for component in ("webserver", "scheduler", "triggerer"):
            assert any(
                line.startswith(component) and line.endswith("running")
                for line in ps.splitlines()
            ), ps
        api = started.api()
        try:  # airflow_settings.yaml went in through API v1 with basic auth
            pool = api.client().get("/api/v1/pools/dev_pool").json()
        finally:
            api.close()
        assert pool["slots"] == 2
        log = run_dag(started, "secrets_example")
        assert "variable example_api_key: ***" in log
        assert "password=***" in log
        assert started.leaking_logs(VARIABLE_VALUE, CONN_PASSWORD) == []
    finally:
        started.kill()

"""`flightdeck dev` for a new user: `ps` and `parse` answer in JSON, and the example project's
secrets_example succeeds out of the box, its log saying how to give it its secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devenv.cli_helpers import VENV_CACHE, run_cli
from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.devenv.project import init_project


def _env() -> dict[str, str]:
    return {**os.environ, "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE}


def test_ps_json_when_airflow_is_not_running(tmp_path: Path) -> None:
    init_project(tmp_path, DEFAULT_AIRFLOW_VERSION, force=False)
    result = run_cli("dev", "ps", "--json", cwd=tmp_path, env=_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"running": False, "url": None, "components": []}


@pytest.mark.slow
def test_parse_json_and_the_secrets_example_out_of_the_box(tmp_path: Path) -> None:
    init_project(tmp_path, DEFAULT_AIRFLOW_VERSION, force=False)
    parsed = run_cli("dev", "parse", "--json", cwd=tmp_path, env=_env())
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout) == {
        "dags": ["example_pipeline", "secrets_example"],
        "errors": {},
        "excepted": [],
    }

    (tmp_path / "dags" / "broken.py").write_text(
        "from airflow.sdk import dag\nimport package_that_is_not_installed\n"
    )
    broken = run_cli("dev", "parse", "--json", cwd=tmp_path, env=_env())
    assert broken.returncode == 1
    missing = "ModuleNotFoundError: No module named 'package_that_is_not_installed' (line 2)"
    assert json.loads(broken.stdout)["errors"] == {"dags/broken.py": missing}
    (tmp_path / "dags" / "broken.py").unlink()

    # No variable, no connection, no secrets backend: the run succeeds and says how.
    tested = run_cli("dev", "run", "dags", "test", "secrets_example", cwd=tmp_path, env=_env())
    output = tested.stdout + tested.stderr
    assert tested.returncode == 0, output[-3000:]
    assert "state=success" in output
    assert "variable example_api_key is not set; set it with" in output
    assert "flightdeck dev run variables set example_api_key" in output
    assert "flightdeck dev run connections add example_database" in output
    assert "VARIABLE_NOT_FOUND" not in output.replace("Airflow 3 says VARIABLE_NOT_FOUND", "")

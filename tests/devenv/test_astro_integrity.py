"""``.astro/dag_integrity_exceptions.txt`` is honoured as in an Astro image: the project's
own tests see DAG paths relative to the project, and ``dev parse`` lets listed files fail."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devenv.cli_helpers import VENV_CACHE, run_cli
from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.devenv.astro import integrity_exceptions
from flightdeck.devenv.project import AirflowSettings, Project, ProjectConfig
from flightdeck.devenv.supervisor import Prepared, project_test_environment

# Written in the shape of the test `astro dev init` generates (our own text): paths are made
# relative to AIRFLOW_HOME and the exceptions file is read from the working directory.
ASTRO_STYLE_TEST = """
import os

import pytest
from airflow.models import DagBag


def _relative(path):
    return os.path.relpath(path, os.environ.get("AIRFLOW_HOME"))


def _outcomes():
    bag = DagBag()  # examples follow AIRFLOW__CORE__LOAD_EXAMPLES
    found = [(_relative(path), error.strip()) for path, error in bag.import_errors.items()]
    found += [(_relative(dag.fileloc), "ok") for dag in bag.dags.values()]
    return sorted(set(found))


@pytest.mark.parametrize("rel_path, outcome", _outcomes())
def test_file_imports(rel_path, outcome):
    allowed = []
    if os.path.exists(".astro/dag_integrity_exceptions.txt"):
        with open(".astro/dag_integrity_exceptions.txt", encoding="utf-8") as handle:
            allowed = [line.strip() for line in handle]
    assert outcome == "ok" or rel_path in allowed, f"{rel_path}: {outcome}"
"""

GOOD_DAG = """
from datetime import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime(2025, 1, 1), catchup=False, tags=["t"])
def good():
    @task
    def hello():
        return 1
    hello()

good()
"""


def test_exceptions_file_lines_are_project_relative_paths(tmp_path: Path) -> None:
    assert integrity_exceptions(tmp_path) == set()
    (tmp_path / ".astro").mkdir()
    (tmp_path / ".astro" / "dag_integrity_exceptions.txt").write_text(
        "dags/broken.py\n\n  dags/other.py  \n"
    )
    assert integrity_exceptions(tmp_path) == {"dags/broken.py", "dags/other.py"}


def test_the_projects_tests_see_the_project_as_airflow_home(tmp_path: Path) -> None:
    project = Project(tmp_path)
    prepared = Prepared(
        project, ProjectConfig("3.1.*"), AirflowSettings(), {}, tmp_path / "venv", []
    )
    env = project_test_environment(prepared, {"AIRFLOW_HOME": str(project.airflow_home), "X": "1"})
    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert env["AIRFLOW_CONFIG"] == str(project.airflow_home / "airflow.cfg")
    assert env["X"] == "1"


@pytest.mark.slow
def test_astro_integrity_test_and_parse_honour_the_exceptions(tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE}
    (tmp_path / "dags").mkdir()
    (tmp_path / ".astro").mkdir()
    (tmp_path / "Dockerfile").write_text(f"FROM apache/airflow:{DEFAULT_AIRFLOW_VERSION}\n")
    (tmp_path / "dags" / "good.py").write_text(GOOD_DAG)
    (tmp_path / "dags" / "broken.py").write_text(
        "from airflow.sdk import dag\nimport package_that_is_not_installed\n"
    )
    (tmp_path / ".astro" / "test_dag_integrity_default.py").write_text(ASTRO_STYLE_TEST)
    exceptions = tmp_path / ".astro" / "dag_integrity_exceptions.txt"

    exceptions.write_text("# Add dag files to exempt from parse test below.\n")
    failed = run_cli("dev", "pytest", ".astro/test_dag_integrity_default.py", cwd=tmp_path, env=env)
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert "dags/broken.py" in failed.stdout
    parsed = run_cli("dev", "parse", "--json", cwd=tmp_path, env=env)
    assert parsed.returncode == 1
    assert list(json.loads(parsed.stdout)["errors"]) == ["dags/broken.py"]

    exceptions.write_text("# Add dag files to exempt from parse test below.\ndags/broken.py\n")
    passed = run_cli("dev", "pytest", ".astro/test_dag_integrity_default.py", cwd=tmp_path, env=env)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    assert "2 passed" in passed.stdout
    parsed = run_cli("dev", "parse", "--json", cwd=tmp_path, env=env)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert json.loads(parsed.stdout) == {
        "dags": ["good"],
        "errors": {},
        "excepted": ["dags/broken.py"],
    }
    # Airflow's own files stayed in flightdeck's home, not in the project.
    assert not (tmp_path / "airflow.cfg").exists()

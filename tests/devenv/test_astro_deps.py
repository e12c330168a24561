"""Astro projects' dependencies: the runtime's preinstalled packages, Airflow's dependency
date or constraints, conflicts in one message, and trying requirements and upgrades in
throw-away environments. Real uv resolutions against PyPI (uv caches them); the installs of
whole Airflow environments are marked slow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devenv.cli_helpers import VENV_CACHE, run_cli
from flightdeck import airflow_versions
from flightdeck.devenv import venvs
from flightdeck.devenv.astro_packages import PREINSTALLED, left_out, preinstalled_for
from flightdeck.devenv.astro_runtimes import RUNTIME_LINES, resolve_runtime_tag
from flightdeck.devenv.project import Project
from flightdeck.devenv.upgrade import diff_packages, ruff_airflow_rules

DATAFRAME_DAG = """
from __future__ import annotations

import pandas as pd
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def dataframe_pipeline():
    @task
    def extract() -> pd.DataFrame:
        return pd.DataFrame({"city": ["Lisbon", "Porto"], "visits": [3, 4]})

    @task
    def total(frame: pd.DataFrame) -> int:
        count = int(frame["visits"].sum())
        print(f"TOTAL-VISITS={count}")
        return count

    total(extract())


dataframe_pipeline()
"""

AIRFLOW2_ONLY_DAG = """
import pendulum
from airflow import DAG
from airflow.operators.dummy import DummyOperator

with DAG("legacy", start_date=pendulum.datetime(2024, 1, 1), schedule_interval=None):
    DummyOperator(task_id="noop")
"""


def astro_project(root: Path, image: str, requirements: str, dag: str = DATAFRAME_DAG) -> Path:
    """A project as `astro dev init` lays it out, with a DataFrame-passing DAG."""
    (root / "dags").mkdir(parents=True)
    (root / "include").mkdir()
    (root / "plugins").mkdir()
    (root / ".astro").mkdir()
    (root / ".astro" / "config.yaml").write_text("project:\n  name: sample\n")
    (root / "Dockerfile").write_text(f"FROM {image}\n")
    (root / "requirements.txt").write_text(requirements)
    (root / "packages.txt").write_text("")
    (root / "airflow_settings.yaml").write_text(
        "airflow:\n  connections:\n    - conn_id:\n      conn_type:\n  pools:\n"
        "    - pool_name:\n      pool_slot:\n  variables:\n    - variable_name:\n"
    )
    (root / "dags" / "pipeline.py").write_text(dag)
    return root


def cli_env(tmp_path: Path, shared: bool = False) -> dict[str, str]:
    cache = VENV_CACHE if shared else str(tmp_path / "venvs")
    return {**os.environ, "FLIGHTDECK_DEV_CACHE_DIR": cache}


def test_every_supported_release_has_a_date_and_series_take_their_newest() -> None:
    dates = airflow_versions.RELEASE_DATES
    assert airflow_versions.DEFAULT_AIRFLOW_VERSION in dates
    assert airflow_versions.newest_release("2.10.*") == "2.10.5"
    assert airflow_versions.resolution_cutoff("2.10.*") == "2025-02-11T00:00:00Z"
    assert airflow_versions.resolution_cutoff("3.1.0") == "2025-09-26T00:00:00Z"
    assert airflow_versions.resolution_cutoff("3.9.*") is None
    for version in dates:
        airflow_versions.check_exact_airflow_version(version, "RELEASE_DATES")


def test_pandas_3_is_kept_out_where_airflows_serializer_does_not_know_it() -> None:
    # pandas 3.0.0 was published before Airflow 3.1.8, whose XCom serializer predates it.
    assert airflow_versions.ceilings_for("3.1.*") == ("pandas<3",)
    assert airflow_versions.ceilings_for("2.10.5") == ("pandas<3",)
    assert airflow_versions.ceilings_for("3.3.2") == ()
    assert venvs.venv_key("3.1.8", []) != venvs.venv_key("3.3.2", [])


def test_preinstalled_table_matches_the_runtime_table() -> None:
    lines = {line.line: line for line in RUNTIME_LINES}
    assert set(PREINSTALLED) <= set(lines)
    for name, packages in PREINSTALLED.items():
        assert packages and len(set(packages)) == len(packages), name
        assert "apache-airflow" not in packages
        if lines[name].airflow.startswith("3."):
            assert "apache-airflow-providers-standard" in packages
    # Every Airflow 3 runtime line the runtime table knows has its list.
    assert {n for n, line in lines.items() if line.airflow.startswith("3.")} <= set(PREINSTALLED)
    floating = preinstalled_for(resolve_runtime_tag("3.1-python-3.12-base"))
    assert floating == PREINSTALLED["3.1"]
    assert preinstalled_for(None) == ()
    runtime_12 = resolve_runtime_tag("12.8.0")
    assert left_out(runtime_12) == ["apache-airflow-providers-mysql"]
    assert "apache-airflow-providers-mysql" not in preinstalled_for(runtime_12)
    assert set(preinstalled_for(runtime_12)) | set(left_out(runtime_12)) == set(PREINSTALLED["12"])


def test_cache_key_changes_with_what_decides_the_resolution(tmp_path: Path) -> None:
    base = venvs.venv_key("3.1.0", ["pandas"])
    assert venvs.venv_key("3.1.0", ["pandas"], (), ("apache-airflow-providers-celery",)) != base
    pinned = venvs.Constraints("c.txt", "pandas==2.2.3\n")
    other = venvs.Constraints("c.txt", "pandas==2.1.0\n")
    assert venvs.venv_key("3.1.0", ["pandas"], constraints=pinned) != base
    assert venvs.venv_key("3.1.0", ["pandas"], constraints=pinned) != venvs.venv_key(
        "3.1.0", ["pandas"], constraints=other
    )
    (tmp_path / "constraints.txt").write_text("pandas==2.2.3\n")
    loaded = venvs.load_constraints("constraints.txt", tmp_path)
    assert loaded.digest == pinned.digest


def test_dependency_difference() -> None:
    diff = diff_packages({"a": "1", "b": "2", "c": "3"}, {"b": "2", "c": "4", "d": "5"})
    assert diff.added == {"d": "5"} and diff.removed == {"a": "1"}
    assert diff.changed == {"c": ("3", "4")}


def test_conflict_with_airflows_dependencies_is_one_message_naming_both(tmp_path: Path) -> None:
    project = astro_project(tmp_path / "p", "apache/airflow:2.10.5", "sqlalchemy==2.0.30\n")
    result = run_cli("dev", "test-requirements", cwd=project, env=cli_env(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(error) == 1, result.stderr
    assert "sqlalchemy==2.0.30" in error[0] and "sqlalchemy>=1.4.36,<2.0" in error[0]
    assert "Traceback" not in result.stderr
    as_json = run_cli("dev", "test-requirements", "--json", cwd=project, env=cli_env(tmp_path))
    document = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and document["ok"] is False
    assert "sqlalchemy==2.0.30" in document["conflict"]["packages"]
    assert not (tmp_path / "venvs").exists() or not any((tmp_path / "venvs").iterdir())


def test_a_pin_newer_than_the_airflow_release_names_the_date(tmp_path: Path) -> None:
    project = astro_project(tmp_path / "p", "apache/airflow:2.10.5", "pandas==3.0.0\n")
    result = run_cli("dev", "test-requirements", cwd=project, env=cli_env(tmp_path))
    assert result.returncode == 1
    assert "pandas==3.0.0" in result.stderr and "2025-02-11" in result.stderr


def test_ruff_airflow_rules_find_airflow2_only_imports(tmp_path: Path) -> None:
    project = astro_project(tmp_path / "p", "apache/airflow:2.10.5", "", AIRFLOW2_ONLY_DAG)
    findings = ruff_airflow_rules(Project(project))
    assert findings and all(f.code.startswith("AIR") for f in findings)
    assert {f.path for f in findings} == {"dags/pipeline.py"}


@pytest.mark.slow
def test_astro_runtime_project_with_pandas_parses_and_runs(tmp_path: Path) -> None:
    project = astro_project(
        tmp_path / "p", "astrocrpublic.azurecr.io/runtime:3.1-12", "pandas\npyarrow\n"
    )
    env = cli_env(tmp_path, shared=True)
    parsed = run_cli("dev", "parse", "--json", cwd=project, env=env, timeout=1200)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert json.loads(parsed.stdout)["dags"] == ["dataframe_pipeline"]
    check = run_cli(
        "dev", "run", "--", "providers", "list", "--output", "json", cwd=project, env=env
    )
    providers = {item["package_name"] for item in json.loads(check.stdout)}
    assert set(PREINSTALLED["3.1"]) <= providers
    ran = run_cli("dev", "run", "--", "dags", "test", "dataframe_pipeline", cwd=project, env=env)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-3000:]
    assert "TOTAL-VISITS=7" in output


@pytest.mark.slow
def test_upgrade_test_reports_an_airflow2_only_import(tmp_path: Path) -> None:
    project = astro_project(tmp_path / "p", "apache/airflow:2.10.5", "", AIRFLOW2_ONLY_DAG)
    env = cli_env(tmp_path, shared=True)
    result = run_cli(
        "dev",
        "upgrade-test",
        "--airflow-version",
        airflow_versions.DEFAULT_AIRFLOW_VERSION,
        "--json",
        cwd=project,
        env=env,
        timeout=1800,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["current_airflow_version"] == "2.10.5"
    assert "dags/pipeline.py" in report["import_errors"]
    changed = report["dependencies"]["changed"]
    assert changed["apache-airflow"] == {
        "from": "2.10.5",
        "to": airflow_versions.DEFAULT_AIRFLOW_VERSION,
    }
    assert any(f["path"] == "dags/pipeline.py" for f in report["ruff_air"])


def test_a_constraints_file_decides_the_versions(tmp_path: Path) -> None:
    project = astro_project(tmp_path / "p", "apache/airflow:2.10.5", "pendulum==3.0.0\n")
    (project / "airflow-constraints.txt").write_text("pendulum==2.1.2\n")
    result = run_cli(
        "dev", "test-requirements", "--constraints", "airflow-constraints.txt", "--json",
        cwd=project, env=cli_env(tmp_path),
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert result.returncode == 1 and document["ok"] is False
    assert document["bound"] == "constraints airflow-constraints.txt"
    assert {"pendulum==3.0.0", "pendulum==2.1.2"} <= set(document["conflict"]["packages"])
    # The same file named in the project's settings.
    (project / ".flightdeck").mkdir()
    (project / ".flightdeck" / "config.yaml").write_text("constraints: airflow-constraints.txt\n")
    again = run_cli("dev", "test-requirements", "--json", cwd=project, env=cli_env(tmp_path))
    assert json.loads(again.stdout)["bound"] == "constraints airflow-constraints.txt"
    missing = run_cli(
        "dev", "test-requirements", "--constraints", "nope.txt", cwd=project, env=cli_env(tmp_path)
    )
    assert missing.returncode == 1 and "--constraints: no file 'nope.txt'" in missing.stderr


def test_every_runtime_lines_packages_resolve_with_its_airflow(tmp_path: Path) -> None:
    """A real resolution (no install) of each line's set with pandas and pyarrow, limited as
    `dev` limits it: the table names only packages that go together with that Airflow."""
    (tmp_path / "requirements.txt").write_text("pandas\npyarrow\n")
    lines = {line.line: line for line in RUNTIME_LINES}
    for name, packages in PREINSTALLED.items():
        airflow = lines[name].airflow
        resolution = venvs.Resolution(airflow, tmp_path / "requirements.txt", (), packages)
        pins = venvs.resolve(resolution)
        assert pins["apache-airflow"] == airflow_versions.newest_release(airflow), name
        assert {venvs._normalise(p) for p in packages} <= pins.keys(), name
        if airflow_versions.ceilings_for(airflow):
            assert int(pins["pandas"].split(".")[0]) < 3, name


# The same DAG as Airflow 2 writes it (its decorators, before the Task SDK).
AIRFLOW2_DATAFRAME_DAG = DATAFRAME_DAG.replace(
    "from airflow.sdk import dag, task", "from airflow.decorators import dag, task"
)
assert AIRFLOW2_DATAFRAME_DAG != DATAFRAME_DAG


@pytest.mark.slow
def test_astro_runtime_12_project_gets_pandas_from_the_runtime_and_runs(tmp_path: Path) -> None:
    """Runtime 12 (Airflow 2.10): pandas is not in requirements.txt, the runtime's providers
    bring it, at a 2.x version the release's serializer handles."""
    project = astro_project(
        tmp_path / "p", "quay.io/astronomer/astro-runtime:12.8.0", "pyarrow\n",
        AIRFLOW2_DATAFRAME_DAG,
    )  # fmt: skip
    env = cli_env(tmp_path, shared=True)
    parsed = run_cli("dev", "parse", "--json", cwd=project, env=env, timeout=1800)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert json.loads(parsed.stdout)["dags"] == ["dataframe_pipeline"]
    ran = run_cli("dev", "run", "--", "dags", "test", "dataframe_pipeline", cwd=project, env=env)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-3000:]
    assert "TOTAL-VISITS=7" in output

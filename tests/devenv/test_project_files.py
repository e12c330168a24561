"""Scaffold, strict .env / settings parsing and Astro base-image mapping (no Airflow needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.devenv.astro import airflow_version_for_image
from flightdeck.devenv.envfile import parse_env_text, read_env_file, update_env_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import (
    Project,
    check_airflow_version,
    init_project,
    parse_settings,
)

EXPECTED_FILES = [
    "dags/example_pipeline.py",
    "dags/secrets_example.py",
    "include",
    "plugins",
    "tests/dags/test_dag_integrity.py",
    "requirements.txt",
    "packages.txt",
    ".env",
    "airflow_settings.yaml",
    "Dockerfile",
    ".flightdeck/config.yaml",
    ".gitignore",
]


def test_init_creates_a_complete_project(tmp_path: Path) -> None:
    init_project(tmp_path, "2.10.5", force=False)
    for name in EXPECTED_FILES:
        assert (tmp_path / name).exists(), name
    config = Project(tmp_path).load_config()
    assert config.airflow_version == "2.10.5"
    assert "apache/airflow:2.10.5" in (tmp_path / "Dockerfile").read_text()
    assert ".flightdeck/airflow/" in (tmp_path / ".gitignore").read_text()
    # The scaffolded settings file is valid and loads.
    settings = Project(tmp_path).load_settings()
    assert [c.conn_id for c in settings.connections] == ["example_http"]
    for dag in ("example_pipeline.py", "secrets_example.py"):
        compile((tmp_path / "dags" / dag).read_text(), dag, "exec")


def test_init_default_version(tmp_path: Path) -> None:
    init_project(tmp_path, None, force=False)
    assert Project(tmp_path).load_config().airflow_version == DEFAULT_AIRFLOW_VERSION


def test_init_refuses_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DevEnvError, match=r"not empty.*--force"):
        init_project(tmp_path, None, force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_init_force_keeps_existing_files_and_astro_dockerfile_decides(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM quay.io/astronomer/astro-runtime:12.1.0\n")
    (tmp_path / "requirements.txt").write_text("pandas\n")
    init_project(tmp_path, None, force=True)
    assert (tmp_path / "requirements.txt").read_text() == "pandas\n"
    assert Project(tmp_path).load_config().airflow_version == "2.10.*"


def test_astro_project_without_flightdeck_config_works(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "Dockerfile").write_text("# comment\nFROM astrocrpublic.azurecr.io/runtime:3.0-2\n")
    assert Project(tmp_path).load_config().airflow_version == "3.0.*"


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("quay.io/astronomer/astro-runtime:12.1.0", "2.10.*"),
        ("quay.io/astronomer/astro-runtime:9.4.0-python-3.11", "2.7.*"),
        ("quay.io/astronomer/astro-runtime:11.3.0-base", "2.9.*"),
        ("astrocrpublic.azurecr.io/runtime:3.0-1", "3.0.*"),
        ("astrocrpublic.azurecr.io/runtime:3.1-3-python-3.12", "3.1.*"),
        ("apache/airflow:2.9.3", "2.9.3"),
        ("apache/airflow:3.0.2-python3.11", "3.0.2"),
        ("apache/airflow:slim-2.10.5-python3.11", "2.10.5"),
    ],
)
def test_base_image_maps_to_airflow_version(image: str, version: str) -> None:
    assert airflow_version_for_image(image) == version


@pytest.mark.parametrize(
    "image", ["ubuntu:22.04", "apache/airflow", "quay.io/astronomer/astro-runtime:99.0.0"]
)
def test_unknown_base_image_is_a_clear_error(image: str) -> None:
    with pytest.raises(DevEnvError, match="Dockerfile"):
        airflow_version_for_image(image)


@pytest.mark.parametrize("version", ["1.10.15", "4.0.0", "2.5.0", "latest", "3"])
def test_unsupported_airflow_versions_are_refused(version: str) -> None:
    with pytest.raises(DevEnvError, match="airflow_version"):
        check_airflow_version(version, ".flightdeck/config.yaml airflow_version")


def test_env_parser_accepts_the_usual_forms() -> None:
    text = (
        "# comment\n\nA=1\nexport B=two words # trailing\nC='single # kept'\n"
        'D="double"\nE=\nJSON={"a": 1}\n'
    )
    assert parse_env_text(text) == {
        "A": "1",
        "B": "two words",
        "C": "single # kept",
        "D": "double",
        "E": "",
        "JSON": '{"a": 1}',
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nNOT A PAIR\n", r"\.env line 2: expected KEY=VALUE"),
        ("1BAD=x\n", r"\.env line 1: '1BAD' is not a valid variable name"),
        ("A='open\n", r"\.env line 1: the value of A opens a ' quote"),
        ('A="x" y\n', r"\.env line 1: unexpected text after the quoted value of A"),
    ],
)
def test_env_parser_names_file_line_and_fix(text: str, message: str) -> None:
    with pytest.raises(DevEnvError, match=message):
        parse_env_text(text, ".env")


def test_env_update_keeps_comments_and_replaces_keys(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# keep me\nA=1\nB=2\n")
    update_env_file(path, {"A": "changed", "B": None, "C": '{"k": "v w"}'}, comment="added")
    text = path.read_text()
    assert text.startswith("# keep me\nA=changed\n")
    assert "B=" not in text and "# added" in text
    assert read_env_file(path) == {"A": "changed", "C": '{"k": "v w"}'}


def test_env_update_refuses_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("oops\n")
    with pytest.raises(DevEnvError, match="line 1"):
        update_env_file(path, {"A": "1"})
    assert path.read_text() == "oops\n"


def test_settings_parse_all_three_kinds() -> None:
    raw = yaml.safe_load(
        """
airflow:
  connections:
    - conn_id: db
      conn_type: postgres
      conn_host: h
      conn_port: 5432
      conn_password: pw
      conn_extra: '{"sslmode": "require"}'
    - conn_id:
      conn_type:
  pools:
    - pool_name: p
      pool_slot: 3
  variables:
    - variable_name: v
      variable_value: 7
"""
    )
    settings = parse_settings(raw)
    assert settings.connections[0].extra == {"sslmode": "require"}
    assert settings.connections[0].port == 5432
    assert len(settings.connections) == 1  # the empty template entry is skipped
    assert settings.pools[0].slots == 3
    assert settings.variables == {"v": "7"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("airflow:\n  connections:\n    - conn_id: x\n", r"connections\[0\] \(x\): conn_type"),
        ("airflow:\n  pools:\n    - pool_name: p\n      pool_slot: many\n", r"pools\[0\] \(p\)"),
        ("airflow: [1]\n", "top-level 'airflow:' mapping"),
        (
            "airflow:\n  connections:\n    - conn_id: x\n      conn_type: http\n"
            "      conn_extra: '{bad'\n",
            "conn_extra is not valid JSON",
        ),
    ],
)
def test_settings_errors_name_the_entry(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "airflow_settings.yaml").write_text(text)
    with pytest.raises(DevEnvError, match=message):
        Project(tmp_path).load_settings()


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "airflow_settings.yaml").write_text("airflow:\n  pools:\n   - a: [1\n")
    with pytest.raises(DevEnvError, match=r"airflow_settings.yaml line \d+: .*fix the YAML"):
        Project(tmp_path).load_settings()


def test_aws_profile_is_recorded_without_losing_other_settings(tmp_path: Path) -> None:
    init_project(tmp_path, "3.0.6", force=False)
    project = Project(tmp_path)
    project.set_aws_profile("analytics")
    config = project.load_config()
    assert (config.aws_profile, config.airflow_version) == ("analytics", "3.0.6")
    project.set_aws_profile(None)
    assert project.load_config().aws_profile is None
    assert json.dumps(yaml.safe_load(project.config_file.read_text())["aws"]) == '{"profile": null}'


def test_log_guard_drops_task_events_and_renders_the_rest() -> None:
    from flightdeck.devenv.logguard import filter_line

    task_line = json.dumps({"event": "password=hunter2", "logger": "task.stdout", "level": "info"})
    hook_line = json.dumps({"event": "x", "logger": "airflow.providers.x", "ti_id": "01a"})
    own = json.dumps({"timestamp": "T", "level": "info", "event": "Starting",
                      "logger": "airflow.jobs.Scheduler", "filename": "s.py", "lineno": 3})
    assert filter_line(task_line + "\n") is None
    assert filter_line(hook_line) is None
    assert filter_line(own) == "T [info     ] Starting [airflow.jobs.Scheduler] loc=s.py:3"
    traceback = "Traceback (most recent call last):"
    assert filter_line(traceback + "\n") == traceback

"""`airflow db migrate` runs once per Airflow version of a metadata database: a restart on
the same version skips it (it costs seconds of imports even with nothing to do)."""

from __future__ import annotations

import stat
from pathlib import Path

from flightdeck.devenv import sandbox, supervisor
from flightdeck.devenv.project import AirflowSettings, Project, ProjectConfig

FAKE_PYTHON = """#!/bin/sh
echo "$@" >> "{calls}"
mkdir -p "$(dirname "{database}")"
echo "migrated by $AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS" > "{database}"
"""


def _prepared(
    tmp_path: Path, version: str, box: sandbox.Sandbox | None = None, name: str = "project"
) -> supervisor.Prepared:
    project = Project(tmp_path / name)
    files = box.host_path(project.airflow_home) if box is not None else project.airflow_home
    files.mkdir(parents=True, exist_ok=True)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(calls=tmp_path / "calls", database=files / "airflow.db"))
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    config = ProjectConfig(airflow_version=version)
    return supervisor.Prepared(project, config, AirflowSettings(), {}, venv, [], box)


def _migrations(tmp_path: Path) -> int:
    calls = tmp_path / "calls"
    return calls.read_text().count("db migrate") if calls.exists() else 0


def test_the_same_version_migrates_once_and_a_new_one_again(tmp_path: Path) -> None:
    supervisor.ensure_database(_prepared(tmp_path, "3.1.0"), {}, print)
    supervisor.ensure_database(_prepared(tmp_path, "3.1.0"), {}, print)
    assert _migrations(tmp_path) == 1
    supervisor.ensure_database(_prepared(tmp_path, "3.2.0"), {}, print)
    assert _migrations(tmp_path) == 2


def test_a_new_database_is_a_copy_of_the_environments_template(tmp_path: Path) -> None:
    """The first project of an environment migrates and keeps the result beside the venv;
    the next project (or a database removed) is a copy of it, not a migration."""
    first = _prepared(tmp_path, "3.1.0")
    supervisor.ensure_database(first, {}, print)
    template = supervisor.database_template(first, {})
    assert template.parent == first.venv and template.read_text() == "migrated by \n"
    second = _prepared(tmp_path, "3.1.0", name="second")
    said: list[str] = []
    supervisor.ensure_database(second, {}, said.append)
    assert _migrations(tmp_path) == 1 and "template" in said[0]
    copied = second.project.airflow_home / "airflow.db"
    assert copied.read_text() == "migrated by \n"
    assert (second.project.airflow_home / supervisor.MIGRATED_MARKER).read_text() == "3.1.0\n"
    assert not list(second.project.airflow_home.glob("*.partial"))
    (first.project.airflow_home / "airflow.db").unlink()
    supervisor.ensure_database(first, {}, print)
    assert _migrations(tmp_path) == 1
    # Options that change what migrating writes name another template.
    options = {"AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False"}
    assert supervisor.database_template(first, options) != template
    third = _prepared(tmp_path, "3.1.0", name="third")
    supervisor.ensure_database(third, options, print)
    assert _migrations(tmp_path) == 2
    assert (third.project.airflow_home / "airflow.db").read_text() == "migrated by False\n"


def test_a_home_a_sandbox_has_not_made_yet_is_migrated_not_copied_into(tmp_path: Path) -> None:
    """A sandboxed Deployment's first start: its Airflow home does not exist on the host
    until the sandbox makes it (owned by the Deployment's user), so that start migrates."""
    supervisor.ensure_database(_prepared(tmp_path, "3.1.0"), {}, print)  # the template
    project = Project(tmp_path / "boxed")
    behind = tmp_path / "not-made-yet"
    box = sandbox.Sandbox(
        sandbox.Isolation.SINGLE_TENANT, project.root, writable={project.airflow_home: behind}
    )
    prepared = _prepared(tmp_path, "3.1.0", box, name="boxed")
    import shutil

    shutil.rmtree(behind)  # _prepared made it; a first start has none
    supervisor.ensure_database(prepared, {}, print)
    assert _migrations(tmp_path) == 2 and (behind / "airflow.db").is_file()


def test_without_a_template_a_removed_database_is_migrated_again(tmp_path: Path) -> None:
    prepared = _prepared(tmp_path, "3.1.0")
    supervisor.ensure_database(prepared, {}, print)
    supervisor.database_template(prepared, {}).unlink()
    (prepared.project.airflow_home / "airflow.db").unlink()
    supervisor.ensure_database(prepared, {}, print)
    assert _migrations(tmp_path) == 2


def test_the_marker_sits_beside_the_database_a_sandbox_writes(tmp_path: Path) -> None:
    project = Project(tmp_path / "project")
    behind = tmp_path / "airflow-home"
    box = sandbox.Sandbox(
        sandbox.Isolation.SINGLE_TENANT, project.root, writable={project.airflow_home: behind}
    )
    assert box.host_path(project.airflow_home / "airflow.db") == behind / "airflow.db"
    assert box.host_path(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    prepared = _prepared(tmp_path, "3.1.0", box)
    supervisor.ensure_database(prepared, {}, print)
    supervisor.ensure_database(prepared, {}, print)
    assert _migrations(tmp_path) == 1
    assert (behind / supervisor.MIGRATED_MARKER).read_text().strip() == "3.1.0"

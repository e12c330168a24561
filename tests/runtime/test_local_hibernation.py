"""The local runtime's hibernation without Airflow (fast): a hibernated spec stops the
Deployment's processes, keeps its metadata database, code and record, reports
``hibernating`` pass after pass, and a spec applied awake is started again at once."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from flightdeck.devenv.project import Project
from flightdeck.runtime import local_layout as layout
from flightdeck.runtime.local import HIBERNATING_MESSAGE, LocalRuntime
from runtime.test_local_runtime import AIRFLOW_VERSION, CLUSTER, SPEC


def _running(root: Path) -> tuple[Project, subprocess.Popen[bytes]]:
    """A Deployment directory whose record says started, with one live 'component'."""
    project = Project(root / SPEC.id)
    project.airflow_home.mkdir(parents=True)
    (project.airflow_home / "airflow.db").write_bytes(b"metadata")
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    (project.airflow_home / "run.json").write_text(
        json.dumps(
            {
                "airflow_version": AIRFLOW_VERSION,
                "venv": "/nowhere",
                "ports": {},
                "pids": {"scheduler": process.pid},
                "url": "http://127.0.0.1:9",
            }
        )
    )
    layout.lay_out(project.root, AIRFLOW_VERSION)
    layout.write_record(project.root, {"phase": "started", "deploy_id": "d-1", "salt": "s"})
    return project, process


def test_hibernate_stops_the_processes_and_keeps_database_code_and_record(
    tmp_path: Path,
) -> None:
    runtime = LocalRuntime(tmp_path)
    project, process = _running(tmp_path)
    asleep = replace(SPEC, hibernated=True)
    try:
        status = runtime.apply(asleep, CLUSTER)
        assert process.wait(timeout=30) is not None  # stopped, not left running
    finally:
        process.kill()
    assert (status.health, status.message, status.deploy_id) == (
        "hibernating",
        HIBERNATING_MESSAGE,
        "d-1",
    )
    assert (project.airflow_home / "airflow.db").read_bytes() == b"metadata"
    assert (project.root / "current").is_symlink() and (project.root / "dags").exists()
    record = layout.read_record(project.root)
    assert record["phase"] == "hibernated" and record["attempted_at"] == 0
    assert record["deploy_id"] == "d-1" and record["salt"] == "s"
    assert runtime.apply(asleep, CLUSTER).health == "hibernating"  # idempotent
    assert runtime.status(SPEC).health == "hibernating"
    # A control plane stopping meanwhile leaves it asleep, not "stopped with the control plane".
    runtime.stop_all()
    assert layout.read_record(project.root)["phase"] == "hibernated"


def test_a_deployment_asleep_before_its_first_start_is_laid_out_and_hibernating(
    tmp_path: Path,
) -> None:
    runtime = LocalRuntime(tmp_path)
    status = runtime.apply(replace(SPEC, hibernated=True), CLUSTER)
    assert status.health == "hibernating"
    assert (tmp_path / SPEC.id / "deployment.json").exists()

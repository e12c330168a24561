"""Processes are recognised by pid + start time + a per-start token; a server stop is a stop.

No Airflow here: real processes (``sleep``) stand in for components, so what is tested is
the bookkeeping — a reused pid is never taken for ours (nor stopped), and a Deployment
stopped with its control plane is started again at once, without the crash backoff.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flightdeck.devenv import supervisor
from flightdeck.devenv.process_identity import (
    RUN_TOKEN_VARIABLE,
    is_ours,
    process_start_time,
)
from flightdeck.devenv.project import Project
from flightdeck.runtime import local_layout as layout
from flightdeck.runtime.base import DeploymentSpec
from flightdeck.runtime.local import LocalRuntime


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session carrying a run token, like a spawned component."""
    env = {**os.environ, RUN_TOKEN_VARIABLE: "token-of-this-start"}
    process = subprocess.Popen(["sleep", "120"], env=env, start_new_session=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_process_is_ours_only_with_its_start_time_and_token(
    sleeper: subprocess.Popen[bytes],
) -> None:
    started = process_start_time(sleeper.pid)
    assert started is not None
    assert is_ours(sleeper.pid, started, "token-of-this-start")
    assert not is_ours(sleeper.pid, started, "token-of-another-start")
    assert not is_ours(sleeper.pid, started + 1, "token-of-this-start"), "a reused pid"
    sleeper.kill()
    sleeper.wait()
    assert not is_ours(sleeper.pid, started, "token-of-this-start")


def _write_run_record(project: Project, pid: int, token: str, started: int | None) -> None:
    project.airflow_home.mkdir(parents=True, exist_ok=True)
    record = {
        "airflow_version": "3.1.0",
        "venv": "/nonexistent",
        "ports": {"api": 1, "worker_logs": 2, "trigger_logs": 3},
        "pids": {"scheduler": pid},
        "url": "http://127.0.0.1:1",
        "token": token,
        "started": {} if started is None else {"scheduler": started},
    }
    (project.airflow_home / "run.json").write_text(json.dumps(record))


def test_stop_never_signals_a_process_that_only_has_our_pid(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    project = Project(tmp_path / "project")
    # The record names the stranger's pid, as after a reboot or pid wrap-around.
    _write_run_record(project, sleeper.pid, "a-token-it-does-not-carry", None)
    state = supervisor.read_state(project)
    assert state is not None and state.alive() == {"scheduler": False}
    assert supervisor.stop(project, grace=1.0) == []
    time.sleep(0.2)
    assert sleeper.poll() is None, "the stranger still runs"


def test_stop_ends_the_process_this_start_launched(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    project = Project(tmp_path / "project")
    _write_run_record(project, sleeper.pid, "token-of-this-start", process_start_time(sleeper.pid))
    assert supervisor.stop(project, grace=5.0) == ["scheduler"]
    assert process_start_time(sleeper.pid) is None, "stopped (and reaped)"


def test_a_deployment_stopped_with_the_control_plane_starts_again_at_once(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    runtime = LocalRuntime(tmp_path / "deployments", restart_backoff=3600)
    spec = DeploymentSpec(id="dep-1", name="one", organization_id="org", airflow_version="3.1.0")
    directory = runtime.directory(spec)
    layout.lay_out(directory, spec.airflow_version)
    layout.write_record(directory, {"phase": "started", "attempted_at": time.time()})
    _write_run_record(
        Project(directory), sleeper.pid, "token-of-this-start", process_start_time(sleeper.pid)
    )

    assert runtime.stop_all() == ["dep-1"]
    assert process_start_time(sleeper.pid) is None, "stopped (and reaped)"
    record = layout.read_record(directory)
    assert record["phase"] == "stopped" and record["attempted_at"] == 0
    status = runtime.status(spec)
    assert status.health == "creating"
    assert "Stopped with the control plane" in status.message

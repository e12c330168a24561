"""Start-up failures explain themselves: which component, and the tail of its log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.cli_helpers import free_port
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import RunState, component_log, stop, wait_healthy


def _spawn(code: str) -> int:
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    return process.pid


def _state(project: Project, pids: dict[str, int]) -> RunState:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    return RunState("3.1.0", "/nowhere", {"api": 1, "worker_logs": 2, "trigger_logs": 3}, pids, url)


def test_timeout_names_the_component_and_shows_its_log(tmp_path: Path) -> None:
    project = Project(tmp_path)
    log = component_log(project, "api-server")
    log.parent.mkdir(parents=True)
    log.write_text("starting\nOSError: could not bind the port\n")
    pid = _spawn("import time; time.sleep(60)")
    state = _state(project, {"api-server": pid})
    try:
        with pytest.raises(DevEnvError) as caught:
            wait_healthy(project, state, 3, timeout=1.5)
    finally:
        (tmp_path / ".flightdeck" / "airflow").mkdir(parents=True, exist_ok=True)
        (tmp_path / ".flightdeck" / "airflow" / "run.json").write_text(json.dumps(state.__dict__))
        assert stop(project, grace=5) == ["api-server"]
    message = caught.value.message
    assert message.startswith("Airflow was not healthy after 1s: api-server not healthy")
    assert message.endswith("OSError: could not bind the port")


def test_a_component_that_exits_is_reported_at_once(tmp_path: Path) -> None:
    project = Project(tmp_path)
    log = component_log(project, "scheduler")
    log.parent.mkdir(parents=True)
    log.write_text("ImportError: no executor named NoSuchExecutor\n")
    pid = _spawn("raise SystemExit(3)")
    subprocess.run([sys.executable, "-c", "import time; time.sleep(0.5)"], check=True)
    with pytest.raises(DevEnvError, match=r"(?s)scheduler exited during start-up.*NoSuchExecutor"):
        wait_healthy(project, _state(project, {"scheduler": pid}), 3, timeout=30)

"""A port taken between choosing it and Airflow binding it: never health-check the stranger.

Real sockets and processes; a small HTTP server stands in for Airflow's API server (it answers
Airflow 3's health report), so the race can be staged exactly: a foreign program grabs the
chosen port before "Airflow" binds it, and answers "healthy" itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devenv.cli_helpers import free_port
from flightdeck.devenv import supervisor
from flightdeck.devenv.airflow_env import Ports
from flightdeck.devenv.listeners import port_owner
from flightdeck.devenv.process_identity import process_start_time
from flightdeck.devenv.project import AirflowSettings, Project, ProjectConfig

HEALTHY = {
    key: {"status": "healthy"}
    for key in ("metadatabase", "scheduler", "triggerer", "dag_processor")
}
FAKE_AIRFLOW = """
import http.server, json, sys
body = sys.argv[2].encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def serve_healthy(port: int) -> subprocess.Popen[bytes]:
    """An HTTP server in its own session answering Airflow 3's health report on ``port``."""
    process = subprocess.Popen(
        [sys.executable, "-c", FAKE_AIRFLOW, str(port), json.dumps(HEALTHY)],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process  # could not bind (the port is taken): exited
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the fake server did not start")


@pytest.fixture
def foreign() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_port_owner_tells_our_listener_from_a_strangers(
    foreign: list[subprocess.Popen[bytes]],
) -> None:
    port = free_port()
    assert port_owner(port, {1}) is None, "nobody listens yet"
    foreign.append(serve_healthy(port))
    assert port_owner(port, {foreign[0].pid}) is True
    assert port_owner(port, {foreign[0].pid + 100000}) is False


def test_a_stranger_on_our_port_is_never_reported_healthy(
    tmp_path: Path, foreign: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    foreign.append(serve_healthy(port))  # answers "healthy" on the port Airflow was given
    ours = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        state = supervisor.RunState(
            "3.1.0",
            "/nowhere",
            {"api": port, "worker_logs": 2, "trigger_logs": 3},
            {"api-server": ours.pid},
            f"http://127.0.0.1:{port}",
        )
        with pytest.raises(supervisor.PortTaken, match=f"port {port} was taken"):
            supervisor.wait_healthy(Project(tmp_path), state, 3, timeout=10)
    finally:
        ours.kill()
        ours.wait()


def test_dev_start_moves_to_another_port_and_leaves_nothing_of_the_lost_attempt(
    tmp_path: Path, foreign: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(tmp_path / "project")
    project.airflow_home.mkdir(parents=True)
    prepared = supervisor.Prepared(
        project, ProjectConfig(airflow_version="3.1.0"), AirflowSettings(), {}, Path("/venv"), []
    )
    launched: list[subprocess.Popen[bytes]] = []
    chosen: list[int] = []
    real_choose = supervisor.choose_ports

    def racing_choose(preferred: dict[str, int], taken: frozenset[int] = frozenset()) -> Any:
        ports = real_choose(preferred, taken)
        chosen.append(ports["api"])
        if len(chosen) == 1:  # a stranger takes the first choice before Airflow binds it
            foreign.append(serve_healthy(ports["api"]))
        return ports

    def fake_launch(
        prepared: supervisor.Prepared, ports: Ports, env: dict[str, str], echo: Any
    ) -> tuple[supervisor.RunState, str]:
        server = serve_healthy(ports.api)  # "Airflow": exits at once when the port is taken
        launched.append(server)
        started = process_start_time(server.pid)
        state = supervisor.RunState(
            "3.1.0",
            "/venv",
            ports.as_dict(),
            {"api-server": server.pid},
            f"http://127.0.0.1:{ports.api}",
            "",
            {"api-server": started} if started else {},
        )
        (project.airflow_home / "run.json").write_text(json.dumps(state.__dict__))
        return state, "password"

    monkeypatch.setattr(supervisor, "prepare", lambda project, echo, constraints=None: prepared)
    monkeypatch.setattr(supervisor, "choose_ports", racing_choose)
    monkeypatch.setattr(supervisor, "launch", fake_launch)
    monkeypatch.setattr(supervisor, "components_for", lambda major: ("api-server",))
    said: list[str] = []
    try:
        state, _password, _prepared = supervisor.start(project, said.append, timeout=30)
        assert len(chosen) == 2 and state.ports["api"] == chosen[1] != chosen[0]
        assert any(f"Port {chosen[0]} was taken" in line for line in said)
        assert port_owner(chosen[1], {launched[-1].pid}) is True
        assert foreign[0].poll() is None, "the stranger is left alone"
        assert launched[0].poll() is not None, "nothing of the lost attempt runs"
    finally:
        supervisor.stop(project, grace=5)
        for process in launched:
            process.kill()
            process.wait()
    assert port_owner(chosen[1], {launched[-1].pid}) is None, "stopped: nobody listens"

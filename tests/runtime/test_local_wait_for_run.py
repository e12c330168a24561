"""`wait_for_run` on a busy machine: one poll that Airflow does not answer in time is not
the end of the wait (the quickstart's last step failed that way under load)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.runtime.base import DeploymentSpec
from flightdeck.runtime.local import LocalRuntime

SLOW_FIRST_ANSWER = 1.5  # seconds; the client below gives up after 0.3


class _Airflow(ThreadingHTTPServer):
    """Airflow's dagRuns endpoint on loopback: the first poll answers too late."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.polls = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Airflow

    def do_GET(self) -> None:
        self.server.polls += 1
        if self.server.polls == 1:
            time.sleep(SLOW_FIRST_ANSWER)
        data = json.dumps({"state": "success"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def airflow() -> Iterator[_Airflow]:
    server = _Airflow()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_poll_that_times_out_is_retried_until_the_deadline(
    airflow: _Airflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{airflow.server_address[1]}"
    api = AirflowApi(url, 3, "admin", "pw", _client=httpx.Client(base_url=url, timeout=0.3))
    runtime = LocalRuntime(tmp_path)
    monkeypatch.setattr(runtime, "_api", lambda spec: api)
    spec = DeploymentSpec("d-1", "analytics", "org-1", "3.3.2")

    assert runtime.wait_for_run(spec, "secrets_example", "manual__1", timeout=60) == "success"
    assert airflow.polls >= 2

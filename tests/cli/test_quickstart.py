"""`flightdeck quickstart` end to end, as a newcomer runs it: a real control plane, the AWS
emulator, a cluster provisioned through the customer's role, real Airflow running the
secrets example DAG; while it stays up, the web console it prints, signed in with the login
it prints, shows its organization, cluster and Deployment; after Ctrl-C everything stops
and frees its ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cli.conftest import FLIGHTDECK, free_port
from devenv.cli_helpers import VENV_CACHE
from support.browser import Pages

STEPS = 10
STAYS_UP = "Everything stays up until Ctrl-C."
CONSOLE_LOGIN = re.compile(
    r"Web console    (http://127\.0\.0\.1:\d+)/ .*\n"
    r"\s+login: (owner@quickstart\.example) / (\S+)"
)


def _command(tmp_path: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE,
        "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
    }
    command = [
        FLIGHTDECK,
        "quickstart",
        "--data-dir",
        str(tmp_path / "qs"),
        "--port",
        str(free_port()),
        *args,
    ]
    return command, env


def _quickstart(
    tmp_path: Path, *args: str, timeout: float = 1200
) -> subprocess.CompletedProcess[str]:
    command, env = _command(tmp_path, "--exit", *args)
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


class StaysUp:
    """`flightdeck quickstart` in its default mode: its output read as it comes, until it
    says everything stays up; then Ctrl-C, as its user stops it."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        command, env = _command(tmp_path, *args)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        self.up = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.strip() == STAYS_UP:
                self.up.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.up.wait(1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"quickstart did not stay up:\n{self.output[-4000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(10)
        return code


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As a server binds: connections that just closed (TIME_WAIT) do not hold the port,
        # a process still listening does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _console_shows_the_quickstart(browser: Any, pages: Pages, output: str) -> None:
    """The console URL and login the quickstart printed work in a browser, and show its
    organization, cluster and Deployment."""
    found = CONSOLE_LOGIN.search(output)
    assert found, output[-3000:]
    url, email, password = found.groups()
    page = pages.watch(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page.goto(url + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Quickstart", level=1).wait_for()
    pages.check(page, "quickstart overview")
    nav = page.get_by_role("navigation", name="Organization")
    nav.get_by_role("link", name="Clusters").click()
    page.get_by_role("heading", name="Clusters", level=1).wait_for()
    row = page.locator("tr", has=page.get_by_role("link", name="quickstart", exact=True))
    assert row.locator(".badge").inner_text() == "Active"
    pages.check(page, "quickstart clusters")
    nav.get_by_role("link", name="Deployments").click()
    page.get_by_role("heading", name="Deployments", level=1).wait_for()
    page.get_by_role("link", name="quickstart", exact=True).click()
    page.get_by_role("heading", name="Deployment quickstart").wait_for()
    assert page.locator("#status-heading .badge").inner_text() == "Healthy"
    assert page.get_by_role("link", name="Open Airflow").is_visible()
    pages.check(page, "quickstart deployment")
    page.context.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_quickstart_runs_the_secrets_dag_on_a_provisioned_cluster_then_stops(
    tmp_path: Path,
    browser: Any,
    pages: Pages,
) -> None:
    timings = tmp_path / "timings.json"
    # The user's own CLI configuration (a token for their server) is left as it was.
    stored = tmp_path / "cfg" / "credentials.json"
    stored.parent.mkdir()
    stored.write_text(json.dumps({"default_url": "https://flightdeck.example",
                                  "tokens": {"https://flightdeck.example": "fdk_users_own"}}))
    before = stored.read_bytes()
    run = StaysUp(tmp_path, "--timings", str(timings))
    run.wait_until_up(timeout=1500)
    try:
        _console_shows_the_quickstart(browser, pages, run.output)
    finally:
        returncode = run.stop()
    output = run.output
    assert returncode == 0, output[-4000:]
    for number in range(1, STEPS + 1):
        assert f"[{number}/{STEPS}]" in output
    assert "cluster quickstart: Active" in output
    assert "created  eks-cluster" in output
    assert re.search(r"DAG run \S+: success", output)
    assert (
        "Success: a DAG run succeeded on a Deployment of a cluster flightdeck provisioned"
        in output
    )
    assert CONSOLE_LOGIN.search(output)
    assert "Traceback" not in output
    phases = json.loads(timings.read_text())
    assert len(phases) == STEPS and all(p["seconds"] >= 0 for p in phases)

    # Everything stopped: the control plane's and Airflow's ports are free again, and the
    # Deployment's directory (its processes' home) is gone.
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)", output)
    assert len(set(urls)) >= 2
    assert all(_port_free(int(port)) for port in set(urls))
    assert list((tmp_path / "qs" / "deployments").glob("*-*-*")) == []
    # The DAG's secrets never reached the narration.
    assert "SecretString" not in output
    assert stored.read_bytes() == before
    assert [p.name for p in (tmp_path / "cfg").iterdir()] == ["credentials.json"]


def test_quickstart_stops_at_the_first_failure_naming_the_step(tmp_path: Path) -> None:
    result = _quickstart(tmp_path, "--airflow-version", "1.10.15", timeout=300)
    assert result.returncode == 1
    assert (
        "quickstart failed at step 'Create a Deployment: real Airflow on the local "
        "runtime'" in result.stderr
    )
    assert "airflow_version" in result.stderr and "unsupported" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr

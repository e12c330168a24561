"""`flightdeck quickstart --exit` end to end, as a newcomer runs it: a real control plane,
the AWS emulator, a cluster provisioned through the customer's role, real Airflow running
the secrets example DAG; then everything stops and frees its ports."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from cli.conftest import FLIGHTDECK, free_port
from devenv.cli_helpers import VENV_CACHE

STEPS = 10


def _quickstart(
    tmp_path: Path, *args: str, timeout: float = 1200
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE,
        "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
    }
    return subprocess.run(
        [
            FLIGHTDECK,
            "quickstart",
            "--exit",
            "--data-dir",
            str(tmp_path / "qs"),
            "--port",
            str(free_port()),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


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


@pytest.mark.slow
def test_quickstart_runs_the_secrets_dag_on_a_provisioned_cluster_then_stops(
    tmp_path: Path,
) -> None:
    timings = tmp_path / "timings.json"
    # The user's own CLI configuration (a token for their server) is left as it was.
    stored = tmp_path / "cfg" / "credentials.json"
    stored.parent.mkdir()
    stored.write_text(json.dumps({"default_url": "https://flightdeck.example",
                                  "tokens": {"https://flightdeck.example": "fdk_users_own"}}))
    before = stored.read_bytes()
    result = _quickstart(tmp_path, "--timings", str(timings))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for number in range(1, STEPS + 1):
        assert f"[{number}/{STEPS}]" in result.stdout
    assert "cluster quickstart: Active" in result.stdout
    assert "created  eks-cluster" in result.stdout
    assert re.search(r"DAG run \S+: success", result.stdout)
    assert (
        "Success: a DAG run succeeded on a Deployment of a cluster flightdeck provisioned"
        in result.stdout
    )
    assert re.search(
        r"Web console    http://127\.0\.0\.1:\d+/ .*\n\s+login: owner@quickstart\.example / \S+",
        result.stdout,
    )
    assert "Traceback" not in output
    phases = json.loads(timings.read_text())
    assert len(phases) == STEPS and all(p["seconds"] >= 0 for p in phases)

    # Everything stopped: the control plane's and Airflow's ports are free again, and the
    # Deployment's directory (its processes' home) is gone.
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)", result.stdout)
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

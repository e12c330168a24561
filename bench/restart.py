"""How long until every Deployment is Healthy again after `flightdeck server` restarts.

Sets up the embedded default as the quickstart does (role, verification, cluster, one
Deployment running Airflow) against a `flightdeck server` process, then times, from the
moment a server process is started until the Deployment reports Healthy:
  first    - the Deployment's first start (created, venv cached, metadata DB migrated)
  sigterm  - after a clean stop (the emulator restores from its snapshot; Airflow restarts)
  sigkill  - after `kill -9` (the emulator replays its journal; leftovers are stopped first)
Prints figures; asserts nothing.

Usage: python bench/restart.py [--airflow-version 3.3.2]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.cli.client import ApiClient
from flightdeck.cli.quickstart import Quickstart, free_port

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
SECRET_KEY = secrets.token_urlsafe(48)


def start_server(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTDECK_")}
    env |= {
        "FLIGHTDECK_DATA_DIR": str(data_dir),
        "FLIGHTDECK_PORT": str(port),
        "FLIGHTDECK_SECRET_KEY": SECRET_KEY,
        "FLIGHTDECK_MAX_REQUEUE_SECONDS": "1",
    }
    started = time.perf_counter()
    log = (data_dir.parent / "server.log").open("a")
    process = subprocess.Popen([FLIGHTDECK, "server"], env=env, stdout=log, stderr=log)
    while True:
        if process.poll() is not None:
            sys.exit(f"the server exited; see {data_dir.parent / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process, started
        except httpx.HTTPError:
            time.sleep(0.2)


class Setup(Quickstart):
    process: subprocess.Popen[bytes]
    started = 0.0

    def start_control_plane(self) -> None:
        with self.step("Start flightdeck server"):
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.process, self.started = start_server(self.data_dir, self.port)
            self.client = ApiClient(url=f"http://127.0.0.1:{self.port}", token="")


def restarts(run: Setup) -> int:
    """How many times the Deployment's timeline says Airflow was started again."""
    path = f"/organizations/{run.org_id}/deployments/{run.deployment_id}/events"
    return sum(1 for event in run.api.get(path) if event["kind"] == "restarted")


def wait_healthy_again(run: Setup, before: int) -> None:
    """Healthy on processes of the new server: the row still says Healthy from before the
    stop until the new worker's first pass, so wait for the timeline's restart line too."""
    path = f"/organizations/{run.org_id}/deployments/{run.deployment_id}"
    while restarts(run) <= before or run.api.get(path)["phase"] != "Healthy":
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--airflow-version", default=DEFAULT_AIRFLOW_VERSION)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flightdeck-restart-"))
    run = Setup(work / "data", free_port(8765), args.airflow_version, lambda _line: None, 1800)
    run.start_control_plane()
    for step in (run.sign_up_owner, run.reveal_external_id):
        step()
    role_arn = run.customer_creates_role()
    run.verify_role(role_arn)
    run.preflight()
    run.provision_cluster()
    created = time.perf_counter()
    run.create_deployment()
    figures = {"first": time.perf_counter() - created}
    for name, sig in (("sigterm", signal.SIGTERM), ("sigkill", signal.SIGKILL)):
        before = restarts(run)
        run.process.send_signal(sig)
        run.process.wait(timeout=300)
        run.process, started = start_server(run.data_dir, run.port)
        wait_healthy_again(run, before)
        figures[name] = time.perf_counter() - started
    run.process.send_signal(signal.SIGTERM)
    run.process.wait(timeout=300)
    for name, seconds in figures.items():
        ratio = seconds / figures["first"]
        print(f"{name:<8} {seconds:7.1f} s to a Healthy Deployment ({ratio:.2f}x the first start)")


if __name__ == "__main__":
    main()

"""The whole embedded default survives `kill -9` of `flightdeck server`.

The quickstart's path — role created from the template, verified, cluster Active, a
Deployment Healthy running the DAG that reads Secrets Manager — against a real
`flightdeck server` process; then SIGKILL, and a new server on the same data directory:
verification still passes, `cluster plan` has nothing to do, the Deployment is Healthy again
on processes of the new server only, and the DAG runs again and reads its secret.
"""

from __future__ import annotations

import configparser
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.conftest import FLIGHTDECK, free_port
from devenv.cli_helpers import VENV_CACHE
from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.cli.client import ApiClient
from flightdeck.cli.quickstart import CLUSTER, Quickstart, QuickstartFailed
from flightdeck.devenv import supervisor
from flightdeck.devenv.process_identity import RUN_TOKEN_VARIABLE, is_ours
from flightdeck.devenv.project import Project
from flightdeck.runtime.base import DeploymentSpec
from flightdeck.runtime.local import LocalRuntime

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]
SECRET_KEY = secrets.token_urlsafe(48)


class ServerProcess:
    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTDECK_")}
        env |= {
            "FLIGHTDECK_DATA_DIR": str(data_dir),
            "FLIGHTDECK_PORT": str(port),
            "FLIGHTDECK_SECRET_KEY": SECRET_KEY,
            "FLIGHTDECK_MAX_REQUEUE_SECONDS": "1",
            "FLIGHTDECK_DEV_CACHE_DIR": VENV_CACHE,
        }
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [FLIGHTDECK, "server"], env=env, stdout=log.open("a"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError("the server did not start")


def patient(client: ApiClient) -> None:
    """Verification makes many AWS calls; under load they outlast the CLI's 30 s."""
    client._http.timeout = httpx.Timeout(300.0)


class ServerQuickstart(Quickstart):
    """The quickstart's steps against a `flightdeck server` subprocess."""

    server: ServerProcess

    def start_control_plane(self) -> None:
        with self.step("Start flightdeck server"):
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.server = ServerProcess(self.data_dir, self.port, self.data_dir.parent / "log")
            self.client = ApiClient(url=self.server.url, token="")
            patient(self.client)

    def sign_up_owner(self) -> None:
        super().sign_up_owner()
        patient(self.api)

    def run_secrets_dag(self) -> None:
        """Airflow's API may not answer within 30 s on a loaded 2-core host: try again."""
        for attempt in range(3):
            try:
                super().run_secrets_dag()
                return
            except QuickstartFailed as exc:
                if "timed out" not in str(exc) or attempt == 2:
                    raise
                time.sleep(10)

    def _local_runtime(self) -> tuple[LocalRuntime, DeploymentSpec]:
        from flightdeck.db.engine import make_engine, make_session_factory
        from flightdeck.db.models import Deployment
        from flightdeck.services.deployments.requests import runtime_spec

        engine = make_engine(f"sqlite:///{self.data_dir / 'flightdeck.db'}")
        try:
            with make_session_factory(engine)() as session:
                spec = runtime_spec(session.get(Deployment, self.deployment_id), SECRET_KEY)
        finally:
            engine.dispose()
        return LocalRuntime(self.data_dir / "deployments"), spec


def _run_state(run: ServerQuickstart) -> supervisor.RunState:
    directory = run.data_dir / "deployments" / str(run.deployment_id)
    state = supervisor.read_state(Project(directory))
    found = sorted(str(p.relative_to(directory)) for p in directory.rglob("run.json"))
    assert state is not None, f"no run state under {directory}; run.json files: {found}"
    return state


def steady_state_calls(run: ServerQuickstart, monkeypatch: pytest.MonkeyPatch) -> int:
    """AWS calls of one reconcile pass of the Active cluster, made here through the same
    engine and the running server's emulator (a steady-state pass only reads)."""
    from flightdeck.aws import session as aws_session
    from flightdeck.aws.emulator.accounts import static_credentials
    from flightdeck.db.engine import make_engine, make_session_factory
    from flightdeck.db.models import AwsAccount, Cluster
    from flightdeck.services.clusters.engine import aws_engine
    from flightdeck.services.orgs import external_id_for

    profiles = configparser.ConfigParser()
    profiles.read(run.data_dir / "aws" / "config")
    setup = run.api.get(f"/organizations/{run.org_id}/aws/role-setup")
    platform = static_credentials(setup["platform_account_id"])
    sessions = aws_session.SessionFactory(
        endpoint_url=profiles["profile customer"]["endpoint_url"],
        credentials=aws_session.StaticCredentials(
            platform.access_key_id, platform.secret_access_key, platform.session_token
        ),
    )
    calls: list[str] = []
    original = aws_session.client

    def counting(*args: Any, **kwargs: Any) -> Any:
        built = original(*args, **kwargs)
        built.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        return built

    monkeypatch.setattr(aws_session, "client", counting)
    engine = make_engine(f"sqlite:///{run.data_dir / 'flightdeck.db'}")
    try:
        with make_session_factory(engine)() as session:
            cluster = session.query(Cluster).filter_by(organization_id=run.org_id).one()
            account = session.get(AwsAccount, cluster.aws_account_ref)
            assert account is not None
            external_id = external_id_for(session, run.org_id)
            outcome = aws_engine(sessions)(cluster, account, external_id, lambda *_: None)
    finally:
        engine.dispose()
        monkeypatch.setattr(aws_session, "client", original)
    assert outcome.phase == "Active", outcome
    return len([name for name in calls if name != "AssumeRole"])


def _processes_with_token(token: str) -> list[int]:
    marker = f"{RUN_TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_healthy(run: ServerQuickstart, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = run.api.get(f"/organizations/{run.org_id}/deployments/{run.deployment_id}")
        if data["phase"] == "Healthy":
            return dict(data)
        assert time.monotonic() < deadline, data
        time.sleep(2)


def test_everything_is_as_it_was_after_kill_minus_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLIGHTDECK_DEV_CACHE_DIR", VENV_CACHE)
    run = ServerQuickstart(
        tmp_path / "data", free_port(), DEFAULT_AIRFLOW_VERSION, print, timeout=1200
    )
    second: ServerProcess | None = None
    try:
        run.run()
        org = f"/organizations/{run.org_id}"
        plan_before = run.api.get(f"{org}/clusters/{CLUSTER}/plan")
        calls_before = steady_state_calls(run, monkeypatch)
        assert calls_before <= 5
        first_state = _run_state(run)
        assert first_state.token and all(first_state.alive().values())

        run.server.process.send_signal(signal.SIGKILL)
        run.server.process.wait(timeout=30)

        second = ServerProcess(run.data_dir, run.port, tmp_path / "log")
        account = run.api.post(f"{org}/aws/accounts/{run.account_id}/verify")
        assert account["status"] == "verified", account
        cluster = run.api.get(f"{org}/clusters/{CLUSTER}")
        assert cluster["phase"] == "Active"
        plan_after = run.api.get(f"{org}/clusters/{CLUSTER}/plan")
        assert plan_after == plan_before
        assert not [change for change in plan_after if change["action"] == "create"], plan_after
        assert steady_state_calls(run, monkeypatch) == calls_before

        deployment = _wait_healthy(run)
        assert deployment["running_executor"] == "LocalExecutor"
        events = run.api.get(f"{org}/deployments/{run.deployment_id}/events")
        restarts = [e["message"] for e in events if e["kind"] == "restarted"]
        assert restarts and "with the control plane" in restarts[0], events
        second_state = _run_state(run)
        assert second_state.token != first_state.token
        for name, pid in first_state.pids.items():
            assert not is_ours(pid, first_state.started.get(name), first_state.token), name
        assert _processes_with_token(first_state.token) == [], "no process of the first server"

        run.run_secrets_dag()  # runs again and reads its secret from Secrets Manager
    finally:
        for server in (second, getattr(run, "server", None)):
            if server is not None and server.process.poll() is None:
                server.process.terminate()
                server.process.wait(timeout=180)
        LocalRuntime(run.data_dir / "deployments").stop_all()
    # The server took its Deployment's processes down with it.
    assert _processes_with_token(second_state.token) == []

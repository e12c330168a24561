"""Alerts against real Airflow 3 on the local runtime.

One Deployment is started for the module (Airflow takes minutes), as in
test_local_runtime.py, with three DAGs: one that fails, one whose task sleeps past a minute,
one that succeeds. The control plane side is the API's test client on SQLite and PostgreSQL;
its alert worker reads this Airflow through its REST API. Each test triggers its own runs
and asserts only on alerts about them (a rule sees only what ended after it was created).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from api.conftest import cheap_password_hashing, client, settings  # noqa: F401 - fixtures
from api.test_alerts import Alerts, _signed, _webhook, alerts_for
from devenv.cli_helpers import VENV_CACHE
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.config import Settings
from flightdeck.db.types import utcnow
from flightdeck.devenv.airflow_runs import AirflowRunsReader
from flightdeck.notify.mail import SmtpSender
from flightdeck.runtime.base import ClusterOutputs, CodeBundle, DeploymentSpec
from flightdeck.runtime.bundle import build_bundle
from flightdeck.runtime.local import LocalRuntime
from flightdeck.services import notifications
from flightdeck.services.alerts.sources import AirflowSource
from runtime.test_local_runtime import AIRFLOW_VERSION
from support.airflow_answers import start_recorded_airflow
from support.receiver import Receiver, start_receiver
from support.smtp import Inbox, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]

DAGS = '''
import time

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2024, 1, 1, tz="UTC")


@dag(dag_id="etl_fails", schedule=None, catchup=False, start_date=START)
def etl_fails():
    @task(retries=0)
    def boom() -> None:
        raise RuntimeError("this DAG fails on purpose")

    boom()


@dag(dag_id="etl_slow", schedule=None, catchup=False, start_date=START)
def etl_slow():
    @task
    def crawl() -> None:
        time.sleep(80)

    crawl()


etl_fails()
etl_slow()
'''


@dataclass
class Airflow:
    runtime: LocalRuntime
    spec: DeploymentSpec

    def source(self) -> AirflowSource:
        api = self.runtime.airflow_api(self.spec)
        return AirflowSource(AirflowRunsReader(api), api.base_url)

    def trigger(self, dag_id: str) -> str:
        return self.runtime.trigger_dag(self.spec, dag_id)

    def finish(self, dag_id: str, run_id: str) -> str:
        return self.runtime.wait_for_run(self.spec, dag_id, run_id, timeout=300)


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory, aws_emulator: RunningEmulator
) -> Iterator[Airflow]:
    base = tmp_path_factory.mktemp("alerts-airflow")
    spec = DeploymentSpec(id="dep-alerts-1", name="analytics", organization_id="org-1",
                          airflow_version=AIRFLOW_VERSION,
                          secret_environment=dict(aws_emulator.customer_credentials().as_env()))
    cluster = ClusterOutputs(cluster_id="cl-1", name="main", region="us-east-1",
                             account_id=aws_emulator.customer_account_id,
                             aws_endpoint_url=aws_emulator.endpoint_url)
    project = base / "project"
    (project / "dags").mkdir(parents=True)
    (project / "dags" / "alerting.py").write_text(DAGS)
    runtime = LocalRuntime(base / "deployments", restart_backoff=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLIGHTDECK_DEV_CACHE_DIR", VENV_CACHE)
        runtime.apply(spec, cluster)
        try:
            runtime.wait_until_healthy(spec, timeout=900)
            archive = base / "dags.tar.gz"
            archive.write_bytes(build_bundle(project, "dags"))
            runtime.deploy_code(spec, CodeBundle("d-alerts", archive, "dags"))
            runtime.wait_until_healthy(spec, timeout=300)
            yield Airflow(runtime, spec)
        finally:
            runtime.delete(spec)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = start_receiver()
    yield started
    started.close()


@pytest.fixture
def watched(client: TestClient, airflow: Airflow) -> Iterator[Alerts]:  # noqa: F811
    unused = start_recorded_airflow()  # answers nothing: the worker reads the real Airflow
    try:
        yield alerts_for(client, unused, airflow.source)
    finally:
        unused.close()


def _until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Poll the worker's effect: within a minute of Airflow recording the event."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {seconds:.0f} s"
        time.sleep(2)


def test_a_failing_dag_alerts_once_to_a_signed_webhook_and_by_email(
    watched: Alerts, airflow: Airflow, receiver: Receiver
) -> None:
    secret = _webhook(watched, receiver)
    watched.post("/alert-channels", {"name": "oncall", "kind": "email",
                                     "target": "oncall@acme.example"})
    watched.post("/alert-rules", {"name": "failures", "kind": "dag-failed", "dag_glob": "etl_*",
                                  "channels": ["hook", "oncall"]})
    run_id = airflow.trigger("etl_fails")
    assert airflow.finish("etl_fails", run_id) == "failed"
    worker = watched.worker()

    def alerted() -> bool:
        watched.clock[0] = utcnow()
        worker.run_once()
        watched.deliver()
        return len(receiver.requests) >= 1

    _until(alerted, "webhook alert")
    for _ in range(3):  # later passes, and a restarted worker, add nothing
        watched.advance(60)
        watched.worker("restarted").run_once()
        watched.deliver(later=3600)
    [request] = receiver.requests
    assert _signed(request, secret)
    assert request.json()["detail"] == {**request.json()["detail"], "dag_id": "etl_fails",
                                        "run_id": run_id, "state": "failed"}

    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port))
        with watched.factory() as session:
            notifications.deliver_due(session, sender)
            notifications.deliver_due(session, sender)
    finally:
        controller.stop()
    mails = [m for m in inbox.messages if m["To"] == "oncall@acme.example"]
    assert len(mails) == 1 and "etl_fails failed" in mails[0]["Subject"]


def test_a_receiver_down_then_up_gets_every_alert_exactly_once(
    watched: Alerts, airflow: Airflow, receiver: Receiver
) -> None:
    _webhook(watched, receiver)
    watched.post("/alert-rules", {"name": "failures", "kind": "dag-failed",
                                  "dag_glob": "etl_fails", "channels": ["hook"]})
    receiver.up = False
    runs = [airflow.trigger("etl_fails") for _ in range(2)]
    for run_id in runs:
        airflow.finish("etl_fails", run_id)
    worker = watched.worker()

    def recorded() -> bool:
        watched.clock[0] = utcnow()
        worker.run_once()
        watched.deliver()
        return len(watched.events()) == 2

    _until(recorded, "two alerts recorded")
    assert receiver.requests == []
    receiver.up = True
    watched.deliver(later=3600)
    watched.deliver(later=7200)
    assert sorted(r.json()["detail"]["run_id"] for r in receiver.requests) == sorted(runs)


def test_a_long_task_alerts_on_its_duration(
    watched: Alerts, airflow: Airflow, receiver: Receiver
) -> None:
    _webhook(watched, receiver)
    watched.post("/alert-rules", {"name": "slow", "kind": "task-duration", "minutes": 1,
                                  "dag_glob": "etl_slow", "channels": ["hook"]})
    run_id = airflow.trigger("etl_slow")
    worker = watched.worker()

    def alerted() -> bool:
        watched.clock[0] = utcnow()
        worker.run_once()
        return any(e.event_key.startswith(f"task:etl_slow:{run_id}:crawl") for e in
                   watched.events())

    _until(alerted, "duration alert", seconds=150)
    assert airflow.finish("etl_slow", run_id) == "success"
    watched.advance(60)
    worker.run_once()  # finished now: the same try does not alert again
    assert len(watched.events()) == 1


def test_a_deadline_alert_fires_for_a_dag_without_a_successful_run(
    watched: Alerts, airflow: Airflow, receiver: Receiver
) -> None:
    _webhook(watched, receiver)
    watched.post("/alert-rules", {"name": "by-noon", "kind": "dag-deadline",
                                  "deadline": "12:00", "timezone": "America/New_York",
                                  "dag_glob": "etl_fails", "channels": ["hook"]})
    run_id = airflow.trigger("etl_fails")  # unpaused, and it fails: no success today
    airflow.finish("etl_fails", run_id)
    zone = ZoneInfo("America/New_York")
    tomorrow = (utcnow().astimezone(zone) + timedelta(days=1)).replace(
        hour=12, minute=5, second=0, microsecond=0)
    watched.clock[0] = tomorrow.astimezone(UTC)
    watched.worker().run_once()
    [event] = watched.events()
    assert event.event_key == f"deadline:etl_fails:{tomorrow.date().isoformat()}"
    assert watched.deliver() == 1

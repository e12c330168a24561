"""Alerts end to end without Airflow: the evaluator reads a loopback server that answers
like Airflow's REST API, deliveries go to real HTTP receivers and a real SMTP server on
loopback, on SQLite and PostgreSQL. tests/runtime/test_alerts_airflow.py does the same
against real Airflow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.test_authorization_matrix import World, build_world
from flightdeck.config import Settings
from flightdeck.db.models import AlertEvent, AlertRule, Deployment, DeploymentEvent, Notification
from flightdeck.db.types import utcnow
from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.devenv.airflow_runs import AirflowRunsReader
from flightdeck.notify.mail import SmtpSender
from flightdeck.notify.webhook import DeliveryFailed, HttpRequest, HttpxPoster
from flightdeck.services import notifications
from flightdeck.services.alerts import channels, delivery, payloads
from flightdeck.services.alerts.evaluate import airflow_findings, fire
from flightdeck.services.alerts.rules import rules_for
from flightdeck.services.alerts.sources import AirflowSource
from flightdeck.services.alerts.worker import AlertWorker
from flightdeck.services.errors import InvalidInput
from support.airflow_answers import RecordedAirflow, dag_run, start_recorded_airflow, task_instance
from support.receiver import Receiver, start_receiver
from support.smtp import Inbox, free_port


@pytest.fixture
def airflow() -> Iterator[RecordedAirflow]:
    recorded = start_recorded_airflow()
    yield recorded
    recorded.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = start_receiver()
    yield started
    started.close()


@dataclass
class Alerts:
    """The world's Deployment watched by rules, with a clock the test moves."""

    client: TestClient
    world: World
    airflow: RecordedAirflow
    source: Callable[[], AirflowSource]  # the Airflow the worker reads
    clock: list[datetime] = field(default_factory=lambda: [utcnow()])

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.client.app.state.session_factory  # type: ignore[attr-defined,no-any-return]

    @property
    def settings(self) -> Settings:
        return self.client.app.state.settings  # type: ignore[attr-defined,no-any-return]

    def path(self, rest: str) -> str:
        return f"/api/v1/organizations/{self.world.ids['org']}{rest}"

    def post(self, rest: str, body: dict[str, Any] | None = None, actor: str = "owner") -> Any:
        response = self.client.post(self.path(rest), json=body, headers=self.world.headers[actor])
        assert response.status_code in (201, 202), response.text
        return response.json()

    def worker(self, name: str = "w1") -> AlertWorker:
        def airflow_for(deployment: Deployment) -> AirflowSource:
            return self.source()

        return AlertWorker(
            self.factory, self.settings, airflow_for, worker_id=name, now=lambda: self.clock[0]
        )

    def advance(self, seconds: float) -> None:
        self.clock[0] += timedelta(seconds=seconds)

    def deliver(self, later: float = 0) -> int:
        with self.factory() as session:
            return delivery.deliver_due(
                session,
                HttpxPoster(allow_private=True),
                self.settings.secret_key,
                now=utcnow() + timedelta(seconds=later),
            )

    def events(self) -> list[AlertEvent]:
        with self.factory() as session:
            return list(session.scalars(select(AlertEvent).order_by(AlertEvent.created_at)))


def recorded_source(airflow: RecordedAirflow) -> Callable[[], AirflowSource]:
    def source() -> AirflowSource:
        api = AirflowApi(airflow.url, 3, "admin", "pw")
        return AirflowSource(AirflowRunsReader(api), airflow.url)

    return source


@pytest.fixture
def alerts(client: TestClient, airflow: RecordedAirflow) -> Alerts:
    return alerts_for(client, airflow, recorded_source(airflow))


def alerts_for(
    client: TestClient, airflow: RecordedAirflow, source: Callable[[], AirflowSource]
) -> Alerts:
    """The matrix's world, its Deployment Healthy and watched by no rule yet."""
    world = build_world(client)
    watched = Alerts(client, world, airflow, source)
    with watched.factory() as session:
        deployment = session.get(Deployment, world.ids["deployment"])
        assert deployment is not None
        deployment.phase = "Healthy"
        for rule in session.scalars(select(AlertRule)):  # the matrix's rules: ours only here
            session.delete(rule)
        session.commit()
    return watched


def _webhook(alerts: Alerts, receiver: Receiver, name: str = "hook") -> str:
    created = alerts.post("/alert-channels", {"name": name, "kind": "webhook",
                                              "target": f"{receiver.url}/{name}"})
    assert created["signing_secret"].startswith("whsec_")
    listed = alerts.client.get(alerts.path("/alert-channels"),
                               headers=alerts.world.headers["owner"]).text
    assert created["signing_secret"] not in listed  # shown once, never again
    return str(created["signing_secret"])


def _signed(received: Any, secret: str) -> bool:
    return payloads.verify(
        secret,
        int(received.headers["Flightdeck-Timestamp"]),
        received.body,
        received.headers["Flightdeck-Signature"],
        now=time.time(),
    )


def test_a_failed_dag_alerts_once_by_signed_webhook_and_by_email(
    alerts: Alerts, receiver: Receiver
) -> None:
    secret = _webhook(alerts, receiver)
    alerts.post("/alert-channels", {"name": "oncall", "kind": "email",
                                    "target": "oncall@acme.example"})
    alerts.post("/alert-rules", {"name": "etl-failures", "kind": "dag-failed",
                                 "channels": ["hook", "oncall"], "dag_glob": "etl_*"})
    now = utcnow()
    alerts.airflow.dag_runs += [
        dag_run("etl_daily", "manual__1", "failed", now - timedelta(minutes=2), now),
        dag_run("etl_daily", "manual__0", "success", now - timedelta(minutes=5), now),
        dag_run("reporting", "manual__1", "failed", now - timedelta(minutes=2), now),
    ]
    assert alerts.worker().run_once() == 1
    assert alerts.worker("restarted").run_once() == 0  # not due yet
    alerts.advance(60)
    assert alerts.worker("restarted").run_once() == 1  # due again: reads, finds nothing new
    assert [e.event_key for e in alerts.events()] == ["run:etl_daily:manual__1"]

    assert alerts.deliver() == 1
    assert alerts.deliver() == 0
    [hook] = receiver.requests
    assert _signed(hook, secret)
    assert not _signed(hook, "whsec_another")
    body = hook.json()
    assert body["kind"] == "dag-failed" and body["rule"] == "etl-failures"
    assert body["detail"]["dag_id"] == "etl_daily" and body["deployment"] == "analytics"

    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port))
        with alerts.factory() as session:
            assert notifications.deliver_due(session, sender) >= 1
            assert notifications.deliver_due(session, sender) == 0
    finally:
        controller.stop()
    mails = [m for m in inbox.messages if m["To"] == "oncall@acme.example"]
    assert len(mails) == 1
    assert "DAG etl_daily failed" in mails[0]["Subject"]

    shown = alerts.client.get(alerts.path("/alert-deliveries"),
                              headers=alerts.world.headers["owner"]).json()
    assert sorted((d["transport"], d["status"]) for d in shown) == [
        ("email", "sent"), ("webhook", "sent")]


def test_a_receiver_that_is_down_then_up_gets_every_alert_exactly_once(
    alerts: Alerts, receiver: Receiver
) -> None:
    _webhook(alerts, receiver)
    alerts.post("/alert-rules", {"name": "failures", "kind": "dag-failed", "channels": ["hook"]})
    now = utcnow()
    alerts.airflow.dag_runs += [
        dag_run(f"dag_{n}", "manual__1", "failed", now - timedelta(minutes=1), now)
        for n in range(3)
    ]
    receiver.up = False
    alerts.worker().run_once()
    assert alerts.deliver() == 0
    with alerts.factory() as session:
        webhooks = select(Notification).where(Notification.transport == "webhook")
        rows = session.scalars(webhooks).all()
        assert [(r.status, r.attempts) for r in rows] == [("pending", 1)] * 3
        assert all(r.last_error == "the receiver answered HTTP 503" for r in rows)
    assert alerts.deliver() == 0  # not due yet: backoff
    receiver.up = True
    assert alerts.deliver(later=3600) == 3
    assert alerts.deliver(later=7200) == 0
    assert sorted(r.json()["detail"]["dag_id"] for r in receiver.requests) == [
        "dag_0", "dag_1", "dag_2"]
    delivery_ids = {r.headers["Flightdeck-Delivery"] for r in receiver.requests}
    assert len(delivery_ids) == 3


def test_a_task_running_longer_than_its_limit_alerts_once(
    alerts: Alerts, receiver: Receiver
) -> None:
    _webhook(alerts, receiver)
    alerts.post("/alert-rules", {"name": "slow", "kind": "task-duration", "minutes": 30,
                                 "channels": ["hook"]})
    now = utcnow()
    alerts.airflow.task_instances += [
        task_instance("etl", "manual__1", "load", "running", now - timedelta(minutes=31), None),
        task_instance("etl", "manual__1", "quick", "running", now - timedelta(minutes=5), None),
    ]
    alerts.worker().run_once()
    alerts.advance(30)
    alerts.worker().run_once()
    [event] = alerts.events()
    assert event.event_key == "task:etl:manual__1:load:-1:1"
    assert "longer than 30 minutes" in event.summary


def test_a_deadline_alert_fires_after_its_time_for_dags_without_a_successful_run(
    alerts: Alerts, receiver: Receiver
) -> None:
    _webhook(alerts, receiver)
    alerts.post("/alert-rules", {"name": "morning", "kind": "dag-deadline", "deadline": "07:30",
                                 "timezone": "Europe/Paris", "channels": ["hook"]})
    paris = ZoneInfo("Europe/Paris")
    tomorrow = (utcnow().astimezone(paris) + timedelta(days=1)).date()

    def at(hour: int, minute: int) -> datetime:
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, minute,
                        tzinfo=paris).astimezone(UTC)

    alerts.airflow.dags += [{"dag_id": "etl_on_time", "is_paused": False},
                            {"dag_id": "etl_late", "is_paused": False},
                            {"dag_id": "etl_paused", "is_paused": True}]
    alerts.airflow.dag_runs += [
        dag_run("etl_on_time", "scheduled__1", "success", at(6, 0), at(6, 40)),
        dag_run("etl_late", "scheduled__1", "failed", at(6, 0), at(6, 50)),
    ]
    alerts.clock[0] = at(7, 0)
    alerts.worker().run_once()
    assert alerts.events() == []
    alerts.clock[0] = at(7, 31)
    alerts.worker().run_once()
    alerts.clock[0] = at(7, 45)
    alerts.worker().run_once()
    [event] = alerts.events()
    assert event.event_key == f"deadline:etl_late:{tomorrow.isoformat()}"
    assert alerts.deliver() == 1


def test_health_alerts_come_from_the_timeline_and_pagerduty_resolves_the_recovery(
    alerts: Alerts, receiver: Receiver
) -> None:
    alerts.post("/alert-channels", {"name": "pager", "kind": "pagerduty",
                                    "target": f"{receiver.url}/v2/enqueue",
                                    "routing_key": "R0123456789abcdef0123456789abcde"})
    alerts.post("/alert-rules", {"name": "health", "kind": "deployment-health",
                                 "channels": ["pager"], "deployment": "analytics"})
    deployment_id = alerts.world.ids["deployment"]
    with alerts.factory() as session:
        for offset, message in ((1, "Healthy"), (2, "Unhealthy: scheduler died"), (3, "Healthy")):
            session.add(DeploymentEvent(deployment_id=deployment_id, kind="phase",
                                        message=message,
                                        created_at=utcnow() + timedelta(seconds=offset)))
        session.commit()
    alerts.worker().run_once()
    alerts.advance(60)
    alerts.worker().run_once()
    assert alerts.deliver() == 2
    trigger, resolve = sorted((r.json() for r in receiver.requests),
                              key=lambda b: b["event_action"] != "trigger")
    assert trigger["routing_key"] == "R0123456789abcdef0123456789abcde"
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "analytics"
    assert "scheduler died" in trigger["payload"]["summary"]
    with alerts.factory() as session:  # the routing key is never stored in the outbox
        assert all("R0123456789" not in n.body for n in session.scalars(select(Notification)))


def test_slack_gets_its_incoming_webhook_format_and_alert_test_sends_a_sample(
    alerts: Alerts, receiver: Receiver
) -> None:
    slack_url = f"{receiver.url}/services/T000/B000/XXXXSECRET"
    created = alerts.post("/alert-channels", {"name": "slack", "kind": "slack",
                                              "target": slack_url})
    assert "XXXXSECRET" not in str(created)
    alerts.post("/alert-rules", {"name": "done", "kind": "dag-succeeded", "channels": ["slack"]})
    queued = alerts.post("/alert-rules/done/test")
    assert [q["transport"] for q in queued] == ["slack"]
    assert alerts.deliver() == 1
    [request] = receiver.requests
    assert request.path == "/services/T000/B000/XXXXSECRET"
    body = request.json()
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("[flightdeck test]")
    assert body["blocks"][0]["type"] == "section"
    assert body["blocks"][0]["text"]["type"] == "mrkdwn"


@pytest.mark.parametrize(
    ("body", "field", "fix"),
    [
        ({"kind": "dag-deadline", "deadline": "07:30", "timezone": "Mars/Olympus"}, "timezone",
         "use a name like Europe/Paris"),
        ({"kind": "dag-deadline", "deadline": "25:00"}, "deadline", "use HH:MM"),
        ({"kind": "task-duration", "minutes": 0}, "minutes", "whole number of minutes from 1"),
        ({"kind": "dag-failed", "dag_glob": "etl_[x"}, "dag_glob", "e.g. 'etl_*'"),
        ({"kind": "dag-failed", "dag_glob": "etl daily"}, "dag_glob", "DAG id characters"),
        ({"kind": "dag-broke"}, "kind", "use one of dag-failed"),
    ],
)
def test_bad_rules_are_refused_with_one_line_naming_the_field(
    alerts: Alerts, receiver: Receiver, body: dict[str, Any], field: str, fix: str
) -> None:
    _webhook(alerts, receiver)
    response = alerts.client.post(alerts.path("/alert-rules"),
                                  headers=alerts.world.headers["owner"],
                                  json={"name": "bad", "channels": ["hook"], **body})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field and fix in error["message"] and "\n" not in error["message"]
    assert error["message"].startswith(f"{field}: ")
    rules = alerts.client.get(alerts.path("/alert-rules"), headers=alerts.world.headers["owner"])
    assert rules.json() == []  # nothing written


@pytest.mark.parametrize("target", ["ftp://hooks.example/x", "hooks.example/x", "file:///etc/x"])
def test_a_webhook_url_must_be_http_or_https(alerts: Alerts, target: str) -> None:
    response = alerts.client.post(alerts.path("/alert-channels"),
                                  headers=alerts.world.headers["owner"],
                                  json={"name": "bad", "kind": "webhook", "target": target})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "target" and "http(s) URL" in error["message"]


def test_private_and_loopback_targets_are_refused_unless_allowed(tmp_path: Any) -> None:
    production_like = Settings(data_dir=tmp_path, alert_private_targets=False)
    for url in ("http://127.0.0.1:8080/hook", "http://10.0.0.5/hook", "http://169.254.169.254/"):
        with pytest.raises(InvalidInput) as refused:
            channels.check_url(url, production_like, "target")
        assert refused.value.field == "target"
        assert "FLIGHTDECK_ALERT_PRIVATE_TARGETS" in refused.value.message
        with pytest.raises(DeliveryFailed):  # and at send time too
            HttpxPoster(allow_private=False).post(HttpRequest(url, b"{}", {}))
    assert Settings(data_dir=tmp_path).alert_private_targets_allowed  # the embedded default
    assert not Settings(data_dir=tmp_path, mode="embedded",
                        alert_private_targets=False).alert_private_targets_allowed


def test_another_organizations_rule_and_channel_ids_are_not_found(alerts: Alerts) -> None:
    outsider = alerts.world.headers["outsider"]
    their_org = alerts.client.get("/api/v1/organizations", headers=outsider).json()[0]["id"]
    base = f"/api/v1/organizations/{their_org}"
    rule, channel = alerts.world.ids["rule"], alerts.world.ids["channel"]
    for method, path in (("GET", f"/alert-rules/{rule}"), ("DELETE", f"/alert-rules/{rule}"),
                         ("POST", f"/alert-rules/{rule}/test"),
                         ("DELETE", f"/alert-channels/{channel}"),
                         ("POST", f"/alert-channels/{channel}/test")):
        response = alerts.client.request(method, base + path, headers=outsider)
        assert response.status_code == 404, (method, path, response.text)
    body = {"name": "steal", "kind": "dag-failed", "channels": [channel]}
    stolen = alerts.client.post(base + "/alert-rules", headers=outsider, json=body)
    assert stolen.status_code == 404 and "no channel" in stolen.text


@pytest.mark.postgres
def test_two_workers_on_postgresql_record_and_deliver_each_alert_once(
    alerts: Alerts, receiver: Receiver
) -> None:
    if not alerts.settings.resolved_database_url.startswith("postgresql"):
        pytest.skip("two workers share one database on PostgreSQL only")
    _webhook(alerts, receiver)
    alerts.post("/alert-rules", {"name": "failures", "kind": "dag-failed", "channels": ["hook"]})
    now = utcnow()
    alerts.airflow.dag_runs += [
        dag_run(f"dag_{n}", "manual__1", "failed", now - timedelta(minutes=1), now)
        for n in range(5)
    ]
    workers = [alerts.worker("one"), alerts.worker("two")]
    # Both record the same findings at once, as after a lease that expired mid-pass: the
    # unique key, not the lease, keeps each alert single.
    start = threading.Barrier(2)
    source = AirflowRunsReader(AirflowApi(alerts.airflow.url, 3, "admin", "pw"))
    fired: list[int] = []

    def evaluate() -> None:
        with alerts.factory() as session:
            deployment = session.get(Deployment, alerts.world.ids["deployment"])
            assert deployment is not None
            rules = rules_for(session, deployment)
            found = airflow_findings(rules, source, utcnow())
            start.wait()
            fired.append(len(fire(session, deployment, rules, found, url=None, now=utcnow())))
            session.commit()

    threads = [threading.Thread(target=evaluate) for _ in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fired) == [0, 5]
    for worker in workers:  # and the workers' own passes find nothing new
        alerts.advance(60)
        worker.run_once()
    assert len(alerts.events()) == 5

    delivered: list[int] = []
    go = threading.Barrier(2)

    def deliver() -> None:
        go.wait()
        delivered.append(alerts.deliver())

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(delivered) == 5
    assert sorted(r.json()["detail"]["dag_id"] for r in receiver.requests) == [
        f"dag_{n}" for n in range(5)]

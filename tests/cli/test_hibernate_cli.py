"""`flightdeck deployment hibernate` and `wake-up` against a real server (no worker): the
options reach the API, bad input is one line naming the option or field, and `get` says
how to wake it up. The worker's part is tested in tests/services/test_hibernation.py."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from cli.conftest import Server, run_cli, sign_up_and_verify
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.models import AwsAccount, Cluster, Deployment, Organization, Workspace

PASSWORD = "correct horse battery staple"


def _insert_deployment(database_url: str) -> None:
    """An Active cluster and a Deployment as past requests would have left them."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        org = session.scalars(select(Organization)).one()
        workspace = session.scalars(select(Workspace)).one()
        account = AwsAccount(organization_id=org.id, account_id="2" * 12, status="verified",
                             role_arn="arn:aws:iam::222222222222:role/flightdeck-remote-management")
        session.add(account)
        session.flush()
        cluster = Cluster(organization_id=org.id, aws_account_ref=account.id, name="prod",
                          region="us-east-1", phase="Active", spec={"account_id": "2" * 12})
        session.add(cluster)
        session.flush()
        session.add(Deployment(
            organization_id=org.id, workspace_id=workspace.id, cluster_id=cluster.id,
            name="analytics", runtime="local",
            spec={"airflow_version": "3.1.0", "executor": "CeleryExecutor",
                  "scheduler_size": "small", "scheduler_count": 1,
                  "worker_queue": {"name": "default", "min_workers": 1, "max_workers": 10,
                                   "tasks_per_worker": 5},
                  "environment": {}}))
        session.commit()
    engine.dispose()


def test_hibernate_and_wake_up_with_the_cli(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD}
    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    assert run_cli("workspace", "create", "data", env=env).returncode == 0
    _insert_deployment(server.database_url)

    def refused(*args: str) -> str:
        result = run_cli("deployment", "hibernate", "analytics", *args, env=env)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        return result.stderr

    assert "duration: must be more than 0" in refused("--for", "0m")
    assert "--until 'tonight': not a time; give ISO 8601" in refused("--until", "tonight")
    assert "until: that time has passed" in refused("--until", "2020-01-01T08:00")
    assert "give --until or --for, not both" in refused("--until", "2030-01-01", "--for", "1h")

    asleep = run_cli("deployment", "hibernate", "analytics", "--for", "8h", env=env)
    assert asleep.returncode == 0, asleep.stderr
    said = asleep.stdout + asleep.stderr
    assert "hibernation requested; it wakes at " in said
    assert "`flightdeck deployment wake-up analytics`" in said
    shown = run_cli("deployment", "get", "analytics", env=env).stdout
    assert "asked, wakes at" in shown
    awake = run_cli("deployment", "wake-up", "analytics", env=env)
    assert awake.returncode == 0
    assert "deployment analytics waking up" in awake.stdout + awake.stderr
    events = run_cli("deployment", "events", "analytics", env=env).stdout
    assert "asleep" in events and "awake" in events


def test_a_hibernation_schedule_and_the_cost_notes_with_the_cli(
    server: Server, tmp_path: Path
) -> None:
    import json

    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD}
    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    assert run_cli("workspace", "create", "data", env=env).returncode == 0
    _insert_deployment(server.database_url)
    weeknights = ("--hibernate-at", "0 20 * * 1-5", "--wake-at", "0 7 * * 1-5",
                  "--timezone", "Europe/Paris")

    def refused(*args: str) -> str:
        result = run_cli("deployment", *args, env=env)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr

    assert "only development Deployments sleep on a schedule: mark it with `flightdeck " \
        "deployment update analytics --development` first" in refused(
            "schedule", "set", "analytics", *weeknights)
    marked = run_cli("deployment", "update", "analytics", "--development", env=env)
    assert marked.returncode == 0, marked.stderr
    assert "hibernate_at: '0 20 * *' is not a cron expression; give five fields" in refused(
        "schedule", "set", "analytics", "--hibernate-at", "0 20 * *", "--wake-at", "0 7 * * *",
        "--timezone", "UTC")
    assert "timezone: 'Mars/Olympus' is not a known time zone" in refused(
        "schedule", "set", "analytics", "--hibernate-at", "0 20 * * *", "--wake-at", "0 7 * * *",
        "--timezone", "Mars/Olympus")

    planned = run_cli("deployment", "schedule", "set", "analytics", *weeknights, env=env)
    assert planned.returncode == 0, planned.stderr
    assert "asleep 0 20 * * 1-5, awake 0 7 * * 1-5 (Europe/Paris); next: " in (
        planned.stdout + planned.stderr)
    shown = json.loads(run_cli("deployment", "schedule", "show", "analytics", "--json",
                               env=env).stdout)
    assert shown["timezone"] == "Europe/Paris" and shown["next_change"] in ("hibernate", "wake")
    assert "sleeps on a schedule; clear it with `flightdeck deployment schedule clear " \
        "analytics` before marking it production" in refused("update", "analytics", "--production")

    got = json.loads(run_cli("deployment", "get", "analytics", "--json", env=env).stdout)
    cost = got["cost"]
    assert got["is_development"] is True and cost["running"] is True
    assert cost["hourly_usd"] > 0 and cost["prices_date"] and "AWS" in cost["source"]
    assert {line["what"].split(" (")[0] for line in cost["lines"]} >= {
        "scheduler", "api-server", "triggerer", "dag-processor", "celery worker", "redis"}
    text = run_cli("deployment", "get", "analytics", env=env).stdout
    assert "development" in text and "/hour on demand in us-east-1" in text

    cluster = json.loads(run_cli("cluster", "get", "prod", "--json", env=env).stdout)
    assert cluster["cost"]["running"] is True
    assert {line["what"] for line in cluster["cost"]["lines"]} >= {
        "EKS control plane", "NAT gateway", "RDS PostgreSQL (db.m6g.large)"}
    cleared = run_cli("deployment", "schedule", "clear", "analytics", env=env)
    assert cleared.returncode == 0
    assert run_cli("deployment", "schedule", "show", "analytics", env=env).stdout.strip() == "-"

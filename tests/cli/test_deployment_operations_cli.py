"""`flightdeck deployment list --all`, `airflow-login` and `logs [--follow]` against a real
server process. The Deployment row and its Airflow files are written as the worker and the
local runtime leave them (starting Airflow is tests/runtime/test_local_runtime.py's job)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.conftest import FLIGHTDECK, Server, owner_cli
from flightdeck.config import Settings
from flightdeck.db.engine import make_engine
from flightdeck.db.models import (
    AwsAccount,
    Cluster,
    Deploy,
    Deployment,
    Organization,
    Workspace,
)
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import component_log
from flightdeck.services.secrets import seal

SECRET = "cli-visible-never-0b1c"
SPEC = {"airflow_version": "3.1.0", "executor": "CeleryExecutor", "scheduler_size": "small",
        "scheduler_count": 1, "environment": {},
        "worker_queue": {"name": "default", "min_workers": 1, "max_workers": 10,
                         "tasks_per_worker": 5}}


def _deployments(database_url: str, settings: Settings) -> tuple[str, str]:
    """A live ``etl`` and a Deleted ``old`` in the organization's only workspace."""
    with Session(make_engine(database_url)) as session:
        org = session.scalars(select(Organization)).one()
        ws = session.scalars(select(Workspace)).one()
        account = AwsAccount(organization_id=org.id, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/fd")
        session.add(account)
        session.flush()
        cluster = Cluster(organization_id=org.id, aws_account_ref=account.id, name="prod",
                          region="us-east-1", phase="Active", spec={"account_id": "2"})
        session.add(cluster)
        session.flush()
        rows = [Deployment(organization_id=org.id, workspace_id=ws.id, cluster_id=cluster.id,
                           name=name, runtime="local", spec=SPEC, phase=phase,
                           secret_environment={"TOKEN": seal(SECRET, settings.secret_key)})
                for name, phase in (("old", "Deleted"), ("etl", "Healthy"))]
        session.add_all(rows)
        session.commit()
        return rows[0].id, rows[1].id


def test_list_login_and_logs_with_the_cli(server: Server, tmp_path: Path) -> None:
    assert server.database_url
    cli, env = owner_cli(server, tmp_path / "cfg")
    settings = Settings(database_url=server.database_url)
    old_id, etl_id = _deployments(server.database_url, settings)

    assert [d["name"] for d in json.loads(cli("deployment", "list", "--json"))] == ["etl"]
    everything = json.loads(cli("deployment", "list", "--all", "--json"))
    assert [(d["name"], d["phase"]) for d in everything] == [("old", "Deleted"),
                                                              ("etl", "Healthy")]
    assert "old" not in cli("deployment", "list")
    missing = cli("deployment", "get", "old", ok=False)
    assert "no Deployment 'old' in this organization; see `flightdeck deployment list`" \
        in missing

    refused = cli("deployment", "airflow-login", "etl", ok=False)
    assert "not running on this host" in refused
    project = Project(settings.deployments_dir / etl_id)
    project.airflow_home.mkdir(parents=True)
    (project.airflow_home / "run.json").write_text(json.dumps({
        "airflow_version": "3.1.0", "venv": "/nowhere", "ports": {"api": 18081}, "pids": {},
        "url": "http://127.0.0.1:18081"}))
    (project.airflow_home / "local-secrets.json").write_text(json.dumps({
        "admin_password": "pw-from-runtime-99", "jwt_secret": "j", "secret_key": "k"}))
    shown = cli("deployment", "airflow-login", "etl")
    assert "http://127.0.0.1:18081" in shown and "pw-from-runtime-99" in shown
    assert json.loads(cli("deployment", "airflow-login", "etl", "--json"))["username"] == "admin"

    log = component_log(project, "scheduler")
    log.parent.mkdir(parents=True)
    log.write_text(f"[2026-01-01T00:00:00.000+0000] started with {SECRET}\n")
    printed = cli("deployment", "logs", "etl", "--component", "scheduler")
    assert "scheduler | [2026-01-01T00:00:00.000+0000] started with ***" in printed
    assert SECRET not in printed
    assert json.loads(cli("deployment", "logs", "etl", "--since", "10m", "--json"))[
        "lines"] == []  # the one line is older than that
    bad = cli("deployment", "logs", "etl", "--since", "ten", ok=False)
    assert "since: 'ten' is not a duration" in bad

    follower = subprocess.Popen(
        [FLIGHTDECK, "deployment", "logs", "etl", "--follow", "--json", "--poll", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())
        assert first["line"].endswith("started with ***")
        time.sleep(0.5)
        with log.open("a") as handle:
            handle.write(f"[2026-01-01T00:00:01.000+0000] then {SECRET} again\n")
        second = json.loads(follower.stdout.readline())
        assert second["line"].endswith("then *** again")
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    assert old_id != etl_id

    refused = cli("deploy", "rollback", "etl", "--no-wait", ok=False)
    assert "etl has no earlier succeeded deploy whose bundle is kept" in refused
    earlier = _deploys(server.database_url, etl_id)
    rolled = json.loads(cli("deploy", "rollback", "etl", "--no-wait", "--json"))
    assert (rolled["status"], rolled["description"]) == ("pending", f"rollback to {earlier}")


def _deploys(database_url: str, deployment_id: str) -> str:
    """Two succeeded deploys with kept bundles, the second serving; returns the first."""
    with Session(make_engine(database_url)) as session:
        first, second = (Deploy(deployment_id=deployment_id, sha256=str(n) * 64,
                                status="succeeded", bundle=b"\x1f\x8b" + bytes([n]))
                         for n in (1, 2))
        session.add(first)
        session.flush()
        session.add(second)
        session.flush()
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        deployment.current_deploy_id = second.id
        session.commit()
        return first.id

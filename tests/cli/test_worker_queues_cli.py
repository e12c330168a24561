"""`flightdeck deployment create/update --worker-queue` against a real server process (no
worker runs: what is checked is the request, the stored layout and the errors)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.conftest import Server, owner_cli
from flightdeck.db.engine import make_engine
from flightdeck.db.models import AwsAccount, Cluster, Organization


def _active_cluster(database_url: str) -> None:
    with Session(make_engine(database_url)) as session:
        org = session.scalars(select(Organization)).one()
        account = AwsAccount(organization_id=org.id, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/fd")
        session.add(account)
        session.flush()
        session.add(Cluster(organization_id=org.id, aws_account_ref=account.id, name="prod",
                            region="us-east-1", phase="Active", spec={"account_id": "2"}))
        session.commit()


def test_worker_queues_with_the_cli(server: Server, tmp_path: Path) -> None:
    assert server.database_url
    cli, _ = owner_cli(server, tmp_path / "cfg")
    _active_cluster(server.database_url)
    create = ("deployment", "create", "etl", "--workspace", "data", "--cluster", "prod")

    refused = cli(*create, "--worker-queue", "name=big,cpu=4", ok=False)
    assert "--worker-queue 'name=big,cpu=4': 'cpu=4' is not KEY=VALUE with KEY one of" in refused
    refused = cli(*create, "--worker-queue", "name=big,max=lots", ok=False)
    assert "max must be a whole number, not 'lots'" in refused
    refused = cli(*create, "--worker-queue", "min=1", ok=False)
    assert "name is missing" in refused
    refused = cli(*create, "--worker-queue", "name=big,min=5,max=2", ok=False)
    assert "worker_queues[big].max_workers: must be at least min_workers" in refused
    assert len(refused.strip().splitlines()) == 1
    assert json.loads(cli("deployment", "list", "--json")) == []  # nothing half-written

    created = json.loads(cli(
        *create, "--worker-queue", "name=default,instance-type=m5.xlarge,min=2",
        "--worker-queue", "name=highcpu,instance-type=c6i.4xlarge,min=1,max=8,concurrency=2",
        "--json"))
    assert created["worker_queue"]["instance_type"] == "m5.xlarge"
    assert [(q["name"], q["min_workers"], q["max_workers"], q["tasks_per_worker"],
             q["instance_type"]) for q in created["worker_queues"]] == [
        ("default", 2, 10, 5, "m5.xlarge"), ("highcpu", 1, 8, 2, "c6i.4xlarge")]
    shown = cli("deployment", "get", "etl")
    assert "highcpu: 1-8 workers on c6i.4xlarge, 2 tasks each" in shown

    updated = json.loads(cli("deployment", "update", "etl", "--worker-queue",
                             "name=reports,max=2", "--json"))
    assert [q["name"] for q in updated["worker_queues"]] == ["default", "reports"]
    refused = cli("deployment", "update", "etl", "--executor", "KubernetesExecutor", ok=False)
    assert "worker_queues: KubernetesExecutor has no queues" in refused

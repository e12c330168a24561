"""Server time of the console's heaviest pages next to the JSON API's for the same data.

With 200 clusters and 200 Deployments in one organization, on SQLite (a file) and
PostgreSQL (a fresh database on 127.0.0.1:5432), each page and its API twin is requested
in-process (no network) and timed: the cluster list, the Deployment list and one cluster's
page (status, 13 resources, 60 timeline events; the API twin is the cluster plus its events).
Goals: p95 <= 50 ms and page median within 1.5x of the API's. Prints figures; asserts nothing.

Usage: python bench/console_bench.py [--rounds 60] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from flightdeck.api.app import create_app
from flightdeck.config import Settings
from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, Deployment, Workspace
from flightdeck.services.auth import VERIFICATION_PREFIX
from flightdeck.services.notifications import list_outbox

PASSWORD = "correct horse battery staple"
COUNT = 200
STEPS = ("region", "vpc", "subnets", "internet_gateway", "nat_gateways", "route_tables",
         "security_groups", "vpc_endpoints", "iam_roles", "eks_cluster", "node_groups",
         "database", "log_bucket")  # fmt: skip
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"console_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(client: TestClient) -> tuple[str, str]:
    """An Owner signed in (cookie on the client), 200 Active clusters, 200 Deployments."""
    email = "owner@bench.example"
    client.post("/api/v1/auth/signup", json={
        "email": email, "password": PASSWORD, "organization_name": "Bench"})
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:  # the verification mail, from the outbox (no SMTP here)
        token = next(found.group(0) for mail in list_outbox(session, email)
                     if (found := re.search(VERIFICATION_PREFIX + r"[A-Za-z0-9_-]+", mail.body)))
    verified = client.post("/api/v1/auth/verify-email",
                           json={"token": token, "password": PASSWORD})
    org = verified.json()["organization"]["id"]  # and the client holds the session cookie
    with factory() as session:
        account = AwsAccount(organization_id=org, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/flightdeck-remote-management",
                             status="verified")
        workspace = Workspace(organization_id=org, name="data")
        session.add_all([account, workspace])
        session.flush()
        conditions = {step: {"state": "Ready", "aws_id": f"{step}-0123456789abcdef",
                             "message": "", "resources": {}} for step in STEPS}
        clusters = [
            Cluster(organization_id=org, aws_account_ref=account.id, name=f"cluster-{i:03d}",
                    region="us-east-1", phase="Active",
                    spec={"name": f"cluster-{i:03d}", "account_id": "222222222222",
                          "region": "us-east-1", "node_instance_type": "m5.xlarge",
                          "max_nodes": 20, "db_instance_type": "db.m6g.large",
                          "vpc_cidr": "172.20.0.0/19"},
                    status={"phase": "Active", "conditions": conditions})
            for i in range(COUNT)
        ]
        session.add_all(clusters)
        session.flush()
        session.add_all(
            ClusterEvent(cluster_id=clusters[0].id, step=step, action="created",
                         resource=step, aws_id=f"{step}-0123456789abcdef",
                         message=f"created {step}")
            for _ in range(60 // len(STEPS) + 1) for step in STEPS
        )
        session.add_all(
            Deployment(organization_id=org, workspace_id=workspace.id,
                       cluster_id=clusters[i % COUNT].id, name=f"deployment-{i:03d}",
                       runtime="local", phase="Healthy",
                       spec={"airflow_version": "3.1.0", "executor": "CeleryExecutor",
                             "scheduler_size": "small", "scheduler_count": 1,
                             "worker_queue": {"name": "default", "min_workers": 1,
                                              "max_workers": 10, "tasks_per_worker": 5},
                             "environment": {"REPORT_BUCKET": "reports"}},
                       status={"url": "http://127.0.0.1:28080", "message": "healthy"})
            for i in range(COUNT)
        )
        session.commit()
        return org, clusters[0].id


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    call()  # warm
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def get(client: TestClient, *paths: str) -> Callable[[], object]:
    def call() -> object:
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return None

    return call


def run(database_url: str, label: str, rounds: int, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, database_url=database_url,
                        run_worker_in_server=False, embedded_emulator=False,
                        platform_account_id="111111111111")
    with TestClient(create_app(settings)) as client:
        org, cluster = seed(client)
        api = f"/api/v1/organizations/{org}"
        pairs = {
            "cluster list": (get(client, f"/o/{org}/clusters"), get(client, f"{api}/clusters")),
            "Deployment list": (get(client, f"/o/{org}/deployments"),
                                get(client, f"{api}/deployments")),
            "cluster page": (get(client, f"/o/{org}/clusters/{cluster}"),
                             get(client, f"{api}/clusters/{cluster}",
                                 f"{api}/clusters/{cluster}/events")),
        }
        print(f"\n{label}: {COUNT} clusters, {COUNT} Deployments, {rounds} rounds (ms)")
        print(f"  {'page':<16}{'median':>8}{'p95':>8}   {'API median':>10}{'p95':>8}   ratio")
        for name, (page, twin) in pairs.items():
            page_ms, api_ms = timed(page, rounds), timed(twin, rounds)
            page_med, api_med = statistics.median(page_ms), statistics.median(api_ms)
            page_p95 = statistics.quantiles(page_ms, n=20)[-1]
            api_p95 = statistics.quantiles(api_ms, n=20)[-1]
            print(f"  {name:<16}{page_med:8.1f}{page_p95:8.1f}   {api_med:10.1f}{api_p95:8.1f}"
                  f"   {page_med / api_med:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.rounds, Path(tmp))
        if not args.skip_postgres:
            with postgres_database() as url:
                run(url, "PostgreSQL", args.rounds, Path(tmp) / "pg")


if __name__ == "__main__":
    main()

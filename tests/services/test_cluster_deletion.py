"""A cluster under live Deployments is not deleted: refused, naming them, unless asked to
delete them first; then its resources go only once the Deployments are gone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.models import AwsAccount, Cluster, Deployment, User, Workspace
from flightdeck.db.types import utcnow
from flightdeck.services import auth
from flightdeck.services import secrets as password_secrets
from flightdeck.services.clusters import requests as clusters
from flightdeck.services.clusters.engine import EngineOutcome
from flightdeck.services.clusters.worker import ReconcileWorker
from flightdeck.services.errors import Conflict


@pytest.fixture
def factory(database_url: str, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setattr(password_secrets, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def world(factory: sessionmaker[Session]) -> dict[str, str]:
    """An Active cluster with two live Deployments and one deleted long ago."""
    with factory() as session:
        result = auth.sign_up(session, email="owner@acme.example",
                              password="correct horse battery staple", organization_name="Acme")
        assert result.organization is not None
        org_id = result.organization.id
        account = AwsAccount(organization_id=org_id, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/r", status="verified")
        workspace = Workspace(organization_id=org_id, name="data")
        session.add_all([account, workspace])
        session.flush()
        cluster = Cluster(organization_id=org_id, aws_account_ref=account.id, name="prod",
                          region="us-east-1", phase="Active", spec={"account_id": "2" * 12})
        session.add(cluster)
        session.flush()
        for name, phase in (("etl", "Healthy"), ("reports", "Creating"), ("old", "Deleted")):
            session.add(Deployment(organization_id=org_id, workspace_id=workspace.id,
                                   cluster_id=cluster.id, name=name, runtime="local",
                                   phase=phase))
        session.commit()
        return {"org": org_id, "cluster": cluster.id, "owner": result.user.id}


def _owner(session: Session, world: dict[str, str]) -> User:
    owner = session.get(User, world["owner"])
    assert owner is not None
    return owner


def test_deleting_a_cluster_with_live_deployments_is_refused_naming_them(
    factory: sessionmaker[Session], world: dict[str, str]
) -> None:
    with factory() as session, pytest.raises(Conflict) as refused:
        clusters.request_deletion(session, _owner(session, world), world["org"], "prod")
    assert "etl, reports" in refused.value.message and "old" not in refused.value.message
    assert "--delete-deployments" in refused.value.message
    with factory() as session:
        cluster = session.get(Cluster, world["cluster"])
        assert cluster is not None
        assert (cluster.phase, cluster.desired_state) == ("Active", "present")


def test_asked_to_the_deployments_go_first_then_the_cluster(
    factory: sessionmaker[Session], world: dict[str, str]
) -> None:
    with factory() as session:
        cluster = clusters.request_deletion(session, _owner(session, world), world["org"],
                                            "prod", delete_deployments=True)
        assert cluster.phase == "Deleting"
        states = {d.name: (d.phase, d.desired_state)
                  for d in session.query(Deployment).all()}
    assert states["etl"] == states["reports"] == ("Deleting", "absent")
    assert states["old"][0] == "Deleted"

    engine_calls: list[str] = []

    def engine(cluster: Cluster, *_: Any) -> EngineOutcome:
        engine_calls.append(cluster.id)
        return EngineOutcome(phase="Deleted")

    worker = ReconcileWorker(factory, engine=engine, max_requeue_seconds=0)
    worker.run_once()
    assert engine_calls == []  # the Deployments are still being deleted
    with factory() as session:
        waiting = session.get(Cluster, world["cluster"])
        assert waiting is not None and waiting.phase == "Deleting"
        session.execute(update(Deployment).values(phase="Deleted"))
        session.execute(update(Cluster).values(next_reconcile_at=utcnow()))
        session.commit()
    worker.run_once()
    assert engine_calls == [world["cluster"]]
    with factory() as session:
        done = session.get(Cluster, world["cluster"])
        assert done is not None and done.phase == "Deleted"

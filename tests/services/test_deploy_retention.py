"""Deploy retention through the deployment worker on a real database: past the newest
``deploys`` or older than ``days``, a deploy's record and bundle go (and the runtime's copy
first); the deploy serving and the rollback target always stay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import DeployRetention, Settings
from flightdeck.db.models import Deploy, Deployment
from flightdeck.db.types import utcnow
from flightdeck.runtime.base import DeploymentSpec, RuntimeError_
from flightdeck.services.deployments import retention
from flightdeck.services.deployments.worker import DeploymentWorker
from services import test_deployments as base
from services.test_deployments import Org, _bundle, _create, _get, _pass
from services.test_hostile_deploys import UnpackingRuntime, _submit

factory = base.factory
org = base.org
settings = base.settings


class CopyKeepingRuntime(UnpackingRuntime):
    """Keeps a copy of every bundle (as the Kubernetes runtime does in S3)."""

    def __init__(self) -> None:
        self.forgotten: list[str] = []
        self.fail = False

    def forget_bundles(self, spec: DeploymentSpec, deploy_ids: Sequence[str]) -> None:
        if self.fail:
            raise RuntimeError_("s3 said no")
        self.forgotten += deploy_ids


def _ids(factory: sessionmaker[Session], deployment_id: str) -> list[str]:
    with factory() as session:
        return list(
            session.scalars(
                select(Deploy.id)
                .where(Deploy.deployment_id == deployment_id)
                .order_by(Deploy.created_at)
            )
        )


def _age(factory: sessionmaker[Session], deploy_id: str, days: int) -> None:
    with factory() as session:
        session.execute(
            update(Deploy)
            .where(Deploy.id == deploy_id)
            .values(created_at=utcnow() - timedelta(days=days))
        )
        session.commit()


def test_the_default_is_fifty_deploys_and_ninety_days(tmp_path: object) -> None:
    assert Settings(secret_key="k" * 40).deploy_retention == DeployRetention(deploys=50, days=90)


def test_one_setting_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIGHTDECK_DEPLOY_RETENTION", '{"deploys": 3, "days": 7}')
    assert Settings(secret_key="k" * 40).deploy_retention == DeployRetention(deploys=3, days=7)


def test_past_the_newest_n_a_deploy_and_its_runtime_copy_go(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    kept = settings.model_copy(update={"deploy_retention": DeployRetention(deploys=2, days=90)})
    runtime = CopyKeepingRuntime()
    worker = DeploymentWorker(factory, kept, runtime_factory=lambda _s, _d: runtime)
    made = []
    for _ in range(4):
        made.append(_submit(factory, org, kept, _bundle()))
        _pass(worker, factory, deployment_id)
        assert _get(factory, Deploy, made[-1]).status == "succeeded"
    # After the 3rd deploy the 1st went (the newest 2 are the 3rd and the 2nd); after the
    # 4th, the 2nd.
    assert _ids(factory, deployment_id) == made[2:]
    assert runtime.forgotten == made[:2]


def test_the_serving_deploy_and_the_rollback_target_are_never_pruned(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    kept = settings.model_copy(update={"deploy_retention": DeployRetention(deploys=1, days=1)})
    worker = DeploymentWorker(factory, kept, runtime_factory=lambda _s, _d: UnpackingRuntime())
    first = _submit(factory, org, kept, _bundle())
    _pass(worker, factory, deployment_id)
    second = _submit(factory, org, kept, _bundle({"dags/b.py": "x = 2\n"}))
    _pass(worker, factory, deployment_id)
    # Both are past the days kept and the first is past the newest 1, yet the second serves
    # and the first is what `deploy rollback` would go back to.
    _age(factory, first, 30)
    _age(factory, second, 20)
    with factory() as session:
        assert retention.prunable(session, deployment_id, kept.deploy_retention) == []
    third = _submit(factory, org, kept, _bundle({"dags/c.py": "x = 3\n"}))
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).current_deploy_id == third
    assert _ids(factory, deployment_id) == [second, third]


def test_a_runtime_that_cannot_remove_its_copies_keeps_the_records(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    kept = settings.model_copy(update={"deploy_retention": DeployRetention(deploys=1, days=90)})
    runtime = CopyKeepingRuntime()
    runtime.fail = True
    worker = DeploymentWorker(factory, kept, runtime_factory=lambda _s, _d: runtime)
    made = []
    for _ in range(3):
        made.append(_submit(factory, org, kept, _bundle()))
        _pass(worker, factory, deployment_id)
    assert _ids(factory, deployment_id) == made  # nothing orphaned; tried again next time
    runtime.fail = False
    made.append(_submit(factory, org, kept, _bundle()))
    _pass(worker, factory, deployment_id)
    assert _ids(factory, deployment_id) == made[2:]
    assert sorted(runtime.forgotten) == sorted(made[:2])


def test_open_deploys_and_young_ones_within_the_count_stay(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: UnpackingRuntime())
    done = _submit(factory, org, settings, _bundle())
    _pass(worker, factory, deployment_id)
    old = _submit(factory, org, settings, _bundle())
    _pass(worker, factory, deployment_id)
    third = _submit(factory, org, settings, _bundle())
    _pass(worker, factory, deployment_id)
    pending = _submit(factory, org, settings, _bundle())
    _age(factory, done, 200)
    _age(factory, pending, 200)
    with factory() as session:
        # done: too old, neither serving (third) nor the rollback target (old): it goes.
        assert retention.prunable(session, deployment_id, settings.deploy_retention) == [done]
    assert {old, third, pending} <= set(_ids(factory, deployment_id))

"""Worker queues through the deployment service on a real database: a layout by name, the
default queue among them, the runtime spec the worker hands on, and bad input refused by
field with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import Deployment, User
from flightdeck.runtime.base import WorkerQueue
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.deployments.requests import QueueRequest
from flightdeck.services.errors import InvalidInput
from services import test_deployments as base
from services.test_deployments import Org, _create

factory = base.factory
org = base.org
settings = base.settings

Q = QueueRequest


def _update(
    factory: sessionmaker[Session], org: Org, settings: Settings, **changes: Any
) -> Deployment:
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        return deployments.update_deployment(
            session, owner, org.org_id, "analytics", deployments.DeploymentUpdate(**changes),
            settings,
        )


def _spec(factory: sessionmaker[Session], settings: Settings) -> Any:
    with factory() as session:
        row = session.scalars(select(Deployment)).one()
        return deployments.runtime_spec(row, settings.secret_key)


def test_queues_by_name_reach_the_runtime_spec(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    _create(factory, org, settings, worker_queues=(
        Q("default", instance_type="m5.xlarge", min_workers=2, max_workers=6),
        Q("highcpu", instance_type="c6i.4xlarge", min_workers=1, max_workers=8,
          tasks_per_worker=2),
        Q("reports"),
    ))
    spec = _spec(factory, settings)
    assert spec.worker_queue == WorkerQueue("default", 2, 6, 5, "m5.xlarge")
    assert spec.extra_queues == (
        WorkerQueue("highcpu", 1, 8, 2, "c6i.4xlarge"),
        WorkerQueue("reports", 1, 10, 5, None),
    )
    assert spec.max_running_tasks == 6 * 5 + 8 * 2 + 10 * 5


def test_an_update_replaces_the_further_queues_and_keeps_what_is_not_given(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    _create(factory, org, settings, worker_queues=(Q("highcpu", max_workers=4), Q("io")))
    updated = _update(factory, org, settings,
                      worker_queues=(Q("highcpu", tasks_per_worker=3), Q("big")))
    assert updated.generation == 2
    spec = _spec(factory, settings)
    # highcpu keeps its max_workers; io is gone; big is new with the defaults.
    assert [(q.name, q.max_workers, q.tasks_per_worker) for q in spec.extra_queues] == [
        ("highcpu", 4, 3), ("big", 10, 5)]
    # Only the default queue named: every further queue is removed.
    _update(factory, org, settings, worker_queues=(Q("default", min_workers=3),))
    spec = _spec(factory, settings)
    assert spec.extra_queues == () and spec.worker_queue.min_workers == 3
    # No queues given: nothing about them changes.
    assert _update(factory, org, settings, max_workers=7).spec["extra_queues"] == []


def test_a_spec_written_before_queues_still_reads_and_updates(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    _create(factory, org, settings)
    with factory() as session:
        row = session.scalars(select(Deployment)).one()
        spec = dict(row.spec)
        spec.pop("extra_queues")
        spec["worker_queue"] = {k: v for k, v in spec["worker_queue"].items()
                                if k != "instance_type"}
        row.spec = spec
        session.commit()
    assert _spec(factory, settings).extra_queues == ()
    assert _update(factory, org, settings).generation == 1  # nothing asked, nothing changed
    _update(factory, org, settings, worker_queues=(Q("x1"),))
    assert [q.name for q in _spec(factory, settings).extra_queues] == ["x1"]


@pytest.mark.parametrize(
    ("queues", "overrides", "field", "message"),
    [
        ((Q("High CPU"),), {}, "worker_queues.name", "not a queue name"),
        ((Q("a"), Q("a")), {}, "worker_queues.name", "a given twice"),
        (tuple(Q(f"q{i}") for i in range(10)), {}, "worker_queues", "at most 10 queues"),
        ((Q("a", min_workers=0),), {}, "worker_queues[a].min_workers", "between 1 and"),
        ((Q("a", min_workers=5, max_workers=2),), {}, "worker_queues[a].max_workers",
         "at least min_workers"),
        ((Q("a", tasks_per_worker=999),), {}, "worker_queues[a].tasks_per_worker",
         "between 1 and 256"),
        ((Q("a", instance_type="huge"),), {}, "worker_queues[a].instance_type",
         "not an EC2 instance type"),
        ((Q("default", instance_type="m5"),), {}, "instance_type", "not an EC2 instance type"),
        ((Q("a"),), {"executor": "KubernetesExecutor"}, "worker_queues",
         "KubernetesExecutor has no queues"),
    ],
)
def test_bad_queues_name_the_field_and_write_nothing(
    factory: sessionmaker[Session], org: Org, settings: Settings,
    queues: tuple[QueueRequest, ...], overrides: dict[str, Any], field: str, message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message) as exc:
        _create(factory, org, settings, worker_queues=queues, **overrides)
    assert exc.value.field == field
    assert "\n" not in str(exc.value)
    with factory() as session:
        assert session.scalar(select(Deployment.id)) is None

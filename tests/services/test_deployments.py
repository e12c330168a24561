"""Deployments over a real database (SQLite and PostgreSQL): validation, access, sealed
secrets, and the deployment worker's state machine driven against a recording runtime
(the real runtimes have their own tests; the quickstart test runs the two together)."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.models import Cluster, Deploy, Deployment, User
from flightdeck.db.types import utcnow
from flightdeck.runtime.base import (
    ClusterOutputs,
    CodeBundle,
    CodeRejected,
    DeploymentSpec,
    RuntimeError_,
    RuntimeStatus,
)
from flightdeck.services import auth, workspaces
from flightdeck.services import secrets as password_secrets
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.deployments.worker import DeploymentWorker
from flightdeck.services.errors import Conflict, Forbidden, InvalidInput, NotFound

SECRET = "s3cr3t-value-that-must-never-leak"


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="k" * 40)


@dataclass
class Org:
    owner: User
    org_id: str
    workspace_id: str
    cluster: str


def _sign_up(session: Session, email: str, org: str | None) -> Any:
    return auth.sign_up(session, email=email, password="correct horse battery staple",
                        organization_name=org)


@pytest.fixture
def org(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Org:
    monkeypatch.setattr(password_secrets, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with factory() as session:
        result = _sign_up(session, "owner@acme.example", "Acme")
        org_id = result.organization.id
        workspace = workspaces.create_workspace(session, result.user, org_id, "Data")
        for name, phase in (("prod", "Active"), ("staging", "Pending")):
            session.add(Cluster(organization_id=org_id, aws_account_ref=_account(session, org_id),
                                name=name, region="us-east-1", phase=phase,
                                spec={"account_id": "222222222222"}))
        session.commit()
        return Org(result.user, org_id, workspace.id, "prod")


def _account(session: Session, org_id: str) -> str:
    from flightdeck.db.models import AwsAccount

    account = session.scalar(select(AwsAccount).where(AwsAccount.organization_id == org_id))
    if account is None:
        account = AwsAccount(organization_id=org_id, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/flightdeck-remote-management",
                             status="verified")
        session.add(account)
        session.flush()
    return account.id


def _request(org: Org, **overrides: Any) -> deployments.DeploymentRequest:
    values: dict[str, Any] = {"name": "analytics", "workspace": org.workspace_id,
                              "cluster": org.cluster, "airflow_version": "3.1.0",
                              "environment": {"TZ": "UTC"},
                              "secret_environment": {"API_KEY": SECRET}}
    values.update(overrides)
    return deployments.DeploymentRequest(**values)


def _create(factory: sessionmaker[Session], org: Org, settings: Settings,
            **overrides: Any) -> str:
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        return deployments.create_deployment(session, owner, org.org_id,
                                             _request(org, **overrides), settings).id


# -- requests ------------------------------------------------------------------------------
def test_a_deployment_needs_an_active_cluster_and_names_the_choices(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    with pytest.raises(InvalidInput, match=r"'staging' is Pending, not Active \(Active clusters: "
                                           r"prod\)") as exc:
        _create(factory, org, settings, cluster="staging")
    assert exc.value.field == "cluster"
    with pytest.raises(InvalidInput, match="'nope' not found"):
        _create(factory, org, settings, cluster="nope")
    deployment_id = _create(factory, org, settings)
    with factory() as session:
        row = session.get(Deployment, deployment_id)
        assert row is not None and row.phase == "Creating" and row.runtime == "local"
        assert row.spec["executor"] == "CeleryExecutor"
        assert row.spec["worker_queue"] == {"name": "default", "min_workers": 1,
                                            "max_workers": 10, "tasks_per_worker": 5,
                                            "instance_type": None}
        assert row.spec["extra_queues"] == []
    with pytest.raises(Conflict, match="already exists"):
        _create(factory, org, settings)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"environment": {"1BAD": "x"}}, "environment", "not a valid variable name"),
        ({"environment": {"AIRFLOW__CORE__EXECUTOR": "x"}}, "environment", "set by flightdeck"),
        ({"secret_environment": {"TZ": "x"}}, "environment", "both a plain and a secret"),
        ({"min_workers": 5, "max_workers": 2}, "max_workers", "at least min_workers"),
        ({"tasks_per_worker": 0}, "tasks_per_worker", "between 1 and"),
        ({"scheduler_count": 9}, "scheduler_count", "between 1 and 4"),
        ({"executor": "SequentialExecutor"}, "executor", "not one of"),
        ({"scheduler_size": "huge"}, "scheduler_size", "not one of"),
        ({"airflow_version": "1.10.15"}, "airflow_version", "unsupported"),
        ({"airflow_version": "3.1.*"}, "airflow_version", "exact version"),
        ({"name": "../etc"}, "name", "not a valid name"),
    ],
)
def test_bad_input_names_the_field_and_the_fix(
    factory: sessionmaker[Session], org: Org, settings: Settings,
    overrides: dict[str, Any], field: str, message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message) as exc:
        _create(factory, org, settings, **overrides)
    assert exc.value.field == field
    with factory() as session:
        assert session.scalar(select(Deployment.id)) is None  # nothing half-written


def test_secret_values_are_sealed_at_rest_and_only_unsealed_for_the_runtime(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    with factory() as session:
        raw = session.execute(text("SELECT secret_environment, spec FROM deployments")).one()
        assert SECRET not in str(raw[0]) and SECRET not in str(raw[1])
        row = session.get(Deployment, deployment_id)
        assert row is not None
        spec = deployments.runtime_spec(row, settings.secret_key)
        assert spec.secret_environment == {"API_KEY": SECRET}
        with pytest.raises(ValueError, match="FLIGHTDECK_SECRET_KEY"):
            deployments.runtime_spec(row, "another-key" * 4)


def test_update_changes_only_what_is_given_and_bumps_the_generation(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        unchanged = deployments.update_deployment(
            session, owner, org.org_id, "analytics", deployments.DeploymentUpdate(), settings)
        assert unchanged.generation == 1
        updated = deployments.update_deployment(
            session, owner, org.org_id, "analytics",
            deployments.DeploymentUpdate(max_workers=3, secret_environment={"TOKEN": "t"},
                                         remove_secrets=("API_KEY",)), settings)
        assert updated.generation == 2
        assert updated.spec["worker_queue"]["max_workers"] == 3
        assert updated.spec["environment"] == {"TZ": "UTC"}
        assert sorted(updated.secret_environment) == ["TOKEN"]
        for bad, field in ((deployments.DeploymentUpdate(max_workers=0), "max_workers"),
                           (deployments.DeploymentUpdate(scheduler_count=0), "scheduler_count"),
                           (deployments.DeploymentUpdate(airflow_version=""), "airflow_version")):
            with pytest.raises(InvalidInput) as refused:  # falsy is not "unchanged"
                deployments.update_deployment(session, owner, org.org_id, deployment_id, bad,
                                              settings)
            assert refused.value.field == field
        with pytest.raises(InvalidInput, match="remove_secrets: 'NOPE'"):
            deployments.update_deployment(
                session, owner, org.org_id, deployment_id,
                deployments.DeploymentUpdate(remove_secrets=("NOPE",)), settings)


def test_workspace_members_see_but_only_admins_change_and_outsiders_see_nothing(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    from flightdeck.db.models import OrganizationMembership, WorkspaceMembership

    _create(factory, org, settings)
    with factory() as session:
        member = _sign_up(session, "member@acme.example", "Members own").user
        session.add(OrganizationMembership(organization_id=org.org_id, user_id=member.id,
                                           role="member"))
        session.add(WorkspaceMembership(workspace_id=org.workspace_id, user_id=member.id,
                                        role="member"))
        stranger = _sign_up(session, "x@evil.example", "Evil").user
        session.commit()
        assert deployments.get_deployment(session, member, org.org_id, "analytics").name
        assert [d.name for d in deployments.list_deployments(session, member, org.org_id)] == [
            "analytics"]
        with pytest.raises(Forbidden):
            deployments.request_deletion(session, member, org.org_id, "analytics")
        with pytest.raises(Forbidden):
            deployments.submit_deploy(session, member, org.org_id, "analytics", _bundle(),
                                      kind="dags", description="", settings=settings)
        with pytest.raises(NotFound):
            deployments.get_deployment(session, stranger, org.org_id, "analytics")


def _bundle(files: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in (files or {"dags/a.py": "x = 1\n"}).items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_uploads_that_are_not_bundles_are_refused_before_anything_is_stored(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    _create(factory, org, settings)
    small = settings.model_copy(update={"max_bundle_bytes": 64})
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        for bundle, config, message in (
            (b"", settings, "empty"),
            (b"PK\x03\x04 a zip", settings, "not a gzip archive"),
            (b"\x1f\x8b" + bytes(range(200)), small, "over the 64-byte limit"),
        ):
            with pytest.raises(InvalidInput, match=message):
                deployments.submit_deploy(session, owner, org.org_id, "analytics", bundle,
                                          kind="dags", description="", settings=config)
        with pytest.raises(InvalidInput, match="kind"):
            deployments.submit_deploy(session, owner, org.org_id, "analytics", _bundle(),
                                      kind="image", description="", settings=settings)
        assert session.scalar(select(Deploy.id)) is None


# -- the worker ----------------------------------------------------------------------------
@dataclass
class RecordingRuntime:
    """Implements the Runtime protocol in memory and records every call."""

    name: str = "recording"
    calls: list[tuple[str, Any]] = field(default_factory=list)
    health: str = "creating"
    serving: str | None = None
    reject: set[str] = field(default_factory=set)
    run: str | None = "run-1"  # names the start of the processes (see RuntimeStatus.run_id)

    def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
        self.calls.append(("apply", (spec, cluster)))
        return RuntimeStatus("creating")

    def status(self, spec: DeploymentSpec) -> RuntimeStatus:
        self.calls.append(("status", spec.id))
        return RuntimeStatus(self.health, f"{self.health} now", url="http://127.0.0.1:1",
                             components={"scheduler": self.health == "healthy"},
                             deploy_id=self.serving,
                             run_id=self.run if self.health == "healthy" else None)

    def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
        assert bundle.archive.read_bytes()[:2] == b"\x1f\x8b"
        self.calls.append(("deploy_code", bundle.deploy_id))
        if bundle.deploy_id in self.reject:
            raise CodeRejected("1 DAG file failed to import", {"dags/bad.py": "SyntaxError"})
        self.serving = bundle.deploy_id
        return self.status(spec)

    def delete(self, spec: DeploymentSpec) -> None:
        self.calls.append(("delete", spec.id))
        self.health = "absent"

    def named(self, call: str) -> list[Any]:
        return [arg for name, arg in self.calls if name == call]


def _pass(worker: DeploymentWorker, factory: sessionmaker[Session], deployment_id: str) -> None:
    with factory() as session:
        session.execute(update(Deployment).where(Deployment.id == deployment_id)
                        .values(next_reconcile_at=utcnow()))
        session.commit()
    assert worker.run_once() == 1


def _get(factory: sessionmaker[Session], model: Any, row_id: str) -> Any:
    with factory() as session:
        row = session.get(model, row_id)
        assert row is not None
        session.expunge(row)
        return row


def test_the_worker_applies_once_per_generation_then_deploys_then_deletes(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    runtime = RecordingRuntime()
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)

    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        good = deployments.submit_deploy(session, owner, org.org_id, "analytics", _bundle(),
                                         kind="dags", description="first", settings=settings).id
    _pass(worker, factory, deployment_id)
    spec, outputs = runtime.named("apply")[0]
    assert spec.secret_environment == {"API_KEY": SECRET} and outputs.name == "prod"
    row = _get(factory, Deployment, deployment_id)
    assert (row.phase, row.observed_generation) == ("Creating", 1)
    assert runtime.named("deploy_code") == []  # not while the runtime is still starting
    assert _get(factory, Deploy, good).status == "pending"

    runtime.health = "healthy"
    _pass(worker, factory, deployment_id)
    assert runtime.named("apply")[1][0] == spec  # applied again (a no-op), same spec
    row = _get(factory, Deployment, deployment_id)
    assert row.phase == "Healthy" and row.current_deploy_id == good
    assert row.status["url"] == "http://127.0.0.1:1"
    assert _get(factory, Deploy, good).status == "succeeded"

    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        bad = deployments.submit_deploy(session, owner, org.org_id, "analytics", _bundle(),
                                        kind="dags", description="broken", settings=settings).id
    runtime.reject.add(bad)
    _pass(worker, factory, deployment_id)
    rejected = _get(factory, Deploy, bad)
    assert rejected.status == "rejected" and rejected.errors == {"dags/bad.py": "SyntaxError"}
    assert _get(factory, Deployment, deployment_id).current_deploy_id == good

    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        deployments.update_deployment(session, owner, org.org_id, "analytics",
                                      deployments.DeploymentUpdate(max_workers=4), settings)
    _pass(worker, factory, deployment_id)
    assert runtime.named("apply")[-1][0].worker_queue.max_workers == 4
    assert _get(factory, Deployment, deployment_id).observed_generation == 2

    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        deployments.request_deletion(session, owner, org.org_id, "analytics")
    _pass(worker, factory, deployment_id)
    assert runtime.named("delete") == [deployment_id]
    assert _get(factory, Deployment, deployment_id).phase == "Deleted"
    assert worker.run_once() == 0  # Deleted Deployments are never claimed again


def test_a_runtime_that_lost_the_deployment_is_applied_again(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:

    deployment_id = _create(factory, org, settings)
    runtime = RecordingRuntime(health="healthy")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    _pass(worker, factory, deployment_id)
    runtime.health = "absent"  # e.g. the host was rebuilt
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Creating"
    runtime.health = "healthy"
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Healthy"


def test_two_workers_never_work_on_the_same_deployment_at_once(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    first = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: RecordingRuntime())
    second = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: RecordingRuntime())
    assert first.claim_due() == [deployment_id]
    assert second.claim_due() == []
    assert first.work_on(deployment_id) == "Creating"
    assert second.work_on(deployment_id) is None  # not its lease


def test_a_workspace_with_live_deployments_cannot_be_deleted(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        with pytest.raises(Conflict, match=r"still has Deployments \(analytics\)"):
            workspaces.delete_workspace(session, owner, org.org_id, org.workspace_id)
        session.rollback()
        session.execute(update(Deployment).where(Deployment.id == deployment_id)
                        .values(phase="Deleted"))
        session.commit()
        workspaces.delete_workspace(session, owner, org.org_id, org.workspace_id)
        assert session.get(Deployment, deployment_id) is None


def test_a_crashing_runtime_is_retried_and_the_user_is_told(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)

    class Broken(RecordingRuntime):
        def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
            raise KeyError("an unexpected bug with secret detail")

    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: Broken())
    assert worker.run_once() == 1
    row = _get(factory, Deployment, deployment_id)
    assert row.lease_owner is None and row.phase == "Creating"
    assert row.last_error is not None and "KeyError" in row.last_error
    assert "secret detail" not in row.last_error
    assert row.next_reconcile_at > utcnow()  # retried later, not in a tight loop


def test_owners_hear_when_a_healthy_deployment_turns_unhealthy_and_recovers(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    from flightdeck.db.models import Notification

    deployment_id = _create(factory, org, settings)
    runtime = RecordingRuntime(health="healthy")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    for health in ("healthy", "healthy", "unhealthy", "unhealthy", "healthy"):
        runtime.health = health
        _pass(worker, factory, deployment_id)
    with factory() as session:
        mail = session.scalars(select(Notification).order_by(Notification.created_at)).all()
        assert [(m.recipient, m.kind) for m in mail] == [
            ("owner@acme.example", "deployment.Unhealthy"),
            ("owner@acme.example", "deployment.Healthy"),
        ]
        assert "unhealthy now" in mail[0].body


# -- deploys never stick ---------------------------------------------------------------------
class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, the lease is left behind."""


def _submit(factory: sessionmaker[Session], org: Org, settings: Settings) -> str:
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        return deployments.submit_deploy(session, owner, org.org_id, "analytics", _bundle(),
                                         kind="dags", description="", settings=settings).id


def _expire_lease(factory: sessionmaker[Session], deployment_id: str) -> None:
    with factory() as session:
        session.execute(update(Deployment).where(Deployment.id == deployment_id).values(
            lease_expires_at=utcnow() - timedelta(seconds=1), next_reconcile_at=utcnow()))
        session.commit()


def test_a_worker_killed_inside_deploy_code_leaves_a_deploy_the_next_worker_finishes(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    deploy_id = _submit(factory, org, settings)

    class Dying(RecordingRuntime):
        def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
            self.calls.append(("deploy_code", bundle.deploy_id))
            raise WorkerKilled

    doomed = DeploymentWorker(factory, settings, worker_id="doomed",
                              runtime_factory=lambda _s, _d: Dying(health="healthy"))
    with pytest.raises(WorkerKilled):
        doomed.run_once()
    assert _get(factory, Deploy, deploy_id).status == "checking"
    assert not [t for t in threading.enumerate() if t.name.startswith("lease-")]

    runtime = RecordingRuntime(health="healthy")
    survivor = DeploymentWorker(factory, settings, worker_id="survivor",
                                runtime_factory=lambda _s, _d: runtime)
    assert survivor.run_once() == 0, "the dead worker's lease must still hold"
    _expire_lease(factory, deployment_id)
    assert survivor.run_once() == 1
    deploy = _get(factory, Deploy, deploy_id)
    assert deploy.status == "succeeded" and deploy.finished_at is not None
    assert runtime.named("deploy_code") == [deploy_id]
    row = _get(factory, Deployment, deployment_id)
    assert row.current_deploy_id == deploy_id and row.lease_owner is None


def test_a_deploy_that_kills_its_worker_twice_fails_with_a_message(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    deploy_id = _submit(factory, org, settings)

    class Dying(RecordingRuntime):
        def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
            raise WorkerKilled

    for attempt in ("first", "second"):
        worker = DeploymentWorker(factory, settings, worker_id=attempt,
                                  runtime_factory=lambda _s, _d: Dying(health="healthy"))
        _expire_lease(factory, deployment_id)
        with pytest.raises(WorkerKilled):
            worker.run_once()
        assert _get(factory, Deploy, deploy_id).status == "checking"
    runtime = RecordingRuntime(health="healthy")
    third = DeploymentWorker(factory, settings, worker_id="third",
                             runtime_factory=lambda _s, _d: runtime)
    _expire_lease(factory, deployment_id)
    assert third.run_once() == 1
    deploy = _get(factory, Deploy, deploy_id)
    assert deploy.status == "failed" and "stopped twice" in deploy.message
    assert runtime.named("deploy_code") == []
    assert _get(factory, Deployment, deployment_id).phase == "Healthy"


def test_the_lease_is_renewed_while_deploy_code_runs(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    deploy_id = _submit(factory, org, settings)
    other = DeploymentWorker(factory, settings, worker_id="other",
                             runtime_factory=lambda _s, _d: RecordingRuntime())
    seen: dict[str, Any] = {}

    class Slow(RecordingRuntime):
        def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
            time.sleep(1.6)  # four times the lease
            seen["claimed by another"] = other.claim_due()
            seen["lease"] = _get(factory, Deployment, deployment_id).lease_expires_at
            seen["now"] = utcnow()
            return super().deploy_code(spec, bundle)

    worker = DeploymentWorker(factory, settings, worker_id="slow", lease_seconds=0.4,
                              runtime_factory=lambda _s, _d: Slow(health="healthy"))
    assert worker.run_once() == 1
    assert seen["claimed by another"] == []
    assert seen["lease"] > seen["now"], "renewed: the first lease ran out a second ago"
    assert _get(factory, Deploy, deploy_id).status == "succeeded"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(28, "No space left on device: /srv/private/path"), "(OSError)"),
        (RuntimeError_("x" * 5000), "xxx"),
    ],
)
def test_any_error_inside_deploy_code_ends_the_deploy_with_a_short_message(
    factory: sessionmaker[Session], org: Org, settings: Settings, error: Exception, message: str
) -> None:
    deployment_id = _create(factory, org, settings)
    deploy_id = _submit(factory, org, settings)

    class Failing(RecordingRuntime):
        def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
            raise error

    worker = DeploymentWorker(factory, settings,
                              runtime_factory=lambda _s, _d: Failing(health="healthy"))
    assert worker.run_once() == 1
    deploy = _get(factory, Deploy, deploy_id)
    assert deploy.status == "failed" and message in deploy.message
    assert len(deploy.message) <= 1024 and "/srv/private" not in deploy.message
    row = _get(factory, Deployment, deployment_id)
    assert row.lease_owner is None and row.phase == "Healthy"


# -- the timeline ----------------------------------------------------------------------------
def _timeline(
    factory: sessionmaker[Session], org: Org, deployment_id: str
) -> list[tuple[str, str]]:
    from flightdeck.services.deployments import timeline

    with factory() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        return [(e.kind, e.message) for e in reversed(timeline.list_events(session, deployment))]


def test_the_timeline_tells_what_happened_and_why(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    runtime = RecordingRuntime(health="creating")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    _pass(worker, factory, deployment_id)  # still Creating: no phase line
    runtime.health = "healthy"
    _pass(worker, factory, deployment_id)
    _submit(factory, org, settings)
    _pass(worker, factory, deployment_id)
    runtime.health, runtime.run = "unhealthy", None  # its processes died
    _pass(worker, factory, deployment_id)
    runtime.health, runtime.run = "healthy", "run-2"  # this worker started them again
    _pass(worker, factory, deployment_id)
    # A new control plane (a new worker) finds processes of a new start.
    runtime.run = "run-3"
    restarted = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    _pass(restarted, factory, deployment_id)
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        deployments.update_deployment(session, owner, org.org_id, "analytics",
                                      deployments.DeploymentUpdate(max_workers=4,
                                                                   environment={"TZ": "CET"},
                                                                   secret_environment={"NEW": "x"}),
                                      settings)
        deployments.request_deletion(session, owner, org.org_id, "analytics")
    _pass(restarted, factory, deployment_id)

    lines = _timeline(factory, org, deployment_id)
    kinds = [kind for kind, _ in lines]
    assert kinds == ["created", "phase", "deploy", "phase", "restarted", "phase", "restarted",
                     "updated", "deleting", "deleted"]
    messages = dict(enumerate(message for _, message in lines))
    assert "owner@acme.example" in messages[0] and "prod" in messages[0]
    assert messages[1] == "Healthy"
    assert "succeeded" in messages[2]
    assert messages[3].startswith("Unhealthy: unhealthy now")
    assert "processes had stopped" in messages[4]
    assert "with the control plane" in messages[6]
    assert "max_workers" in messages[7] and "environment TZ" in messages[7]
    assert "secret NEW" in messages[7] and "CET" not in messages[7]
    assert SECRET not in " ".join(messages.values())


def test_a_restart_the_worker_made_for_a_change_is_not_called_a_crash(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    from flightdeck.services.deployments import timeline

    deployment_id = _create(factory, org, settings)
    runtime = RecordingRuntime(health="healthy")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)
    _pass(worker, factory, deployment_id)
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        deployments.update_deployment(session, owner, org.org_id, "analytics",
                                      deployments.DeploymentUpdate(max_workers=4), settings)
    runtime.health, runtime.run = "creating", None  # applying it starts Airflow again
    _pass(worker, factory, deployment_id)
    runtime.health, runtime.run = "healthy", "run-after-change"
    _pass(worker, factory, deployment_id)
    runtime.run = "run-after-crash"  # later, with nothing changed: a crash
    _pass(worker, factory, deployment_id)
    restarts = [m for kind, m in _timeline(factory, org, deployment_id) if kind == "restarted"]
    assert restarts == [timeline.RESTART_FOR_CHANGE, timeline.RESTART_AFTER_CRASH]


def test_the_timeline_is_read_only_by_those_who_may_see_the_deployment(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    with factory() as session:
        stranger = _sign_up(session, "eve@evil.example", "Evil").user
        with pytest.raises(NotFound):
            deployments.get_deployment(session, stranger, org.org_id, deployment_id)
    assert [kind for kind, _ in _timeline(factory, org, deployment_id)] == ["created"]


def test_a_deleted_deployment_leaves_the_list_and_its_name_is_free_again(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    deployment_id = _create(factory, org, settings)
    worker = DeploymentWorker(factory, settings,
                              runtime_factory=lambda _s, _d: RecordingRuntime())
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        deployments.request_deletion(session, owner, org.org_id, "analytics")
        # Deleting is still live: the name stays taken until the runtime let go.
        assert [d.id for d in deployments.list_deployments(session, owner, org.org_id)] == [
            deployment_id]
        with pytest.raises(Conflict, match="'analytics' already exists"):
            deployments.create_deployment(session, owner, org.org_id, _request(org), settings)
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).phase == "Deleted"
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        assert deployments.list_deployments(session, owner, org.org_id) == []
        with pytest.raises(NotFound, match="no Deployment 'analytics' in this organization; "
                                           "see `flightdeck deployment list`"):
            deployments.get_deployment(session, owner, org.org_id, "analytics")
        again = _create(factory, org, settings)
        live = deployments.list_deployments(session, owner, org.org_id)
        assert [d.id for d in live] == [again]
        assert [d.id for d in deployments.list_deployments(
            session, owner, org.org_id, include_deleted=True)] == [deployment_id, again]
        assert deployments.get_deployment(session, owner, org.org_id, "analytics").id == again


def test_a_rollback_deploys_the_earlier_bundle_again_through_the_same_checks(
    factory: sessionmaker[Session], org: Org, settings: Settings
) -> None:

    deployment_id = _create(factory, org, settings)
    runtime = RecordingRuntime(health="healthy")
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: runtime)

    def submit(name: str) -> str:
        with factory() as session:
            owner = session.get(User, org.owner.id)
            assert owner is not None
            return deployments.submit_deploy(
                session, owner, org.org_id, "analytics", _bundle({f"dags/{name}.py": "x = 1\n"}),
                kind="dags", description=name, settings=settings).id

    def rollback(deploy_id: str | None = None, user_id: str | None = None) -> Any:
        with factory() as session:
            user = session.get(User, user_id or org.owner.id)
            assert user is not None
            return deployments.rollback(session, user, org.org_id, "analytics", deploy_id,
                                        description="", settings=settings)

    with pytest.raises(Conflict, match="no earlier succeeded deploy"):
        rollback()
    a = submit("a")
    _pass(worker, factory, deployment_id)
    b = submit("b")
    runtime.reject.add(b)
    _pass(worker, factory, deployment_id)
    c = submit("c")
    _pass(worker, factory, deployment_id)
    assert _get(factory, Deployment, deployment_id).current_deploy_id == c
    assert [_get(factory, Deploy, d).status for d in (a, b, c)] == [
        "succeeded", "rejected", "succeeded"]

    back = rollback()  # the newest succeeded deploy not serving now: a, not the rejected b
    assert (back.status, back.kind, back.description) == ("pending", "dags", f"rollback to {a}")
    assert back.sha256 == _get(factory, Deploy, a).sha256
    _pass(worker, factory, deployment_id)
    assert runtime.named("deploy_code")[-1] == back.id  # checked and switched like an upload
    row = _get(factory, Deployment, deployment_id)
    assert row.current_deploy_id == back.id and _get(factory, Deploy, back.id).status == (
        "succeeded")

    with pytest.raises(Conflict, match=f"the bundle of {b} is no longer kept"):
        rollback(b)  # a rejected deploy's bytes are dropped
    with pytest.raises(NotFound, match="'nope' is not a deploy of analytics"):
        rollback("nope")

"""Deployments: Airflow on an Active cluster, and the code deploys that reach it.

Requests here only validate and record; the deployment worker (services/deployments/worker.py)
makes the runtime match and reports health back. Secret environment variables are sealed
at rest and never leave this module except, unsealed, towards a runtime.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flightdeck.airflow_versions import (
    DEFAULT_AIRFLOW_VERSION,
    UnsupportedAirflowVersion,
    airflow_major,
    check_exact_airflow_version,
)
from flightdeck.aws.provision.database import DB_ENDPOINT, DB_INSTANCE, DatabaseStep
from flightdeck.aws.provision.eks import EKS_CLUSTER, EksClusterStep, NodeGroupsStep
from flightdeck.aws.provision.status import ClusterStatus
from flightdeck.aws.provision.storage import LOG_BUCKET, LogBucketStep
from flightdeck.config import Settings
from flightdeck.db.models import Cluster, Deploy, Deployment, User, Workspace, WorkspaceMembership
from flightdeck.db.types import utcnow
from flightdeck.phases import DeploymentEventKind, DeploymentPhase
from flightdeck.runtime import base as limits
from flightdeck.runtime.base import (
    EXECUTORS,
    SCHEDULER_SIZES,
    ClusterOutputs,
    DeploymentSpec,
    WorkerQueue,
    components_to_restart,
)
from flightdeck.services import audit, lookup
from flightdeck.services.access import org_membership, require_member, require_workspace
from flightdeck.services.deployments import schedule, sleep, timeline
from flightdeck.services.errors import Conflict, InvalidInput, NotFound
from flightdeck.services.locks import lock_organization
from flightdeck.services.secrets import seal, unseal
from flightdeck.services.validation import check_choice, check_name

LIVE_PHASES = ("Creating", "Healthy", "Unhealthy", "Hibernating", "Deleting")
DEPLOY_KINDS = ("dags", "full")
MAX_ENV_VARS = 100
MAX_ENV_VALUE = 8192
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# Set by the platform for every Deployment; a user value would break or escape the runtime.
RESERVED_ENV = frozenset(
    {
        "AIRFLOW_HOME",
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__CORE__PARALLELISM",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__API__PORT",
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "PATH",
        "PYTHONPATH",
        "VIRTUAL_ENV",
    }
)


@dataclass(frozen=True)
class QueueRequest:
    """One worker queue as asked: a field not given keeps the queue's current value (or the
    default, for a new queue)."""

    name: str
    instance_type: str | None = None
    min_workers: int | None = None
    max_workers: int | None = None
    tasks_per_worker: int | None = None


@dataclass(frozen=True)
class DeploymentRequest:
    name: str
    workspace: str
    cluster: str
    airflow_version: str = DEFAULT_AIRFLOW_VERSION
    executor: str = limits.DEFAULT_EXECUTOR
    scheduler_size: str = limits.DEFAULT_SCHEDULER_SIZE
    scheduler_count: int = limits.DEFAULT_SCHEDULER_COUNT
    min_workers: int = limits.DEFAULT_MIN_WORKERS
    max_workers: int = limits.DEFAULT_MAX_WORKERS
    tasks_per_worker: int = limits.DEFAULT_TASKS_PER_WORKER
    environment: Mapping[str, str] = field(default_factory=dict)
    secret_environment: Mapping[str, str] = field(default_factory=dict)
    is_development: bool = False
    # Queues by name: one named ``default`` sets the default queue (else the fields above
    # do), every other one is a further Celery queue.
    worker_queues: tuple[QueueRequest, ...] = ()


@dataclass(frozen=True)
class DeploymentUpdate:
    """Only the fields given change; ``environment`` replaces the plain variables,
    ``secret_environment`` sets the named secrets, ``remove_secrets`` drops them."""

    airflow_version: str | None = None
    executor: str | None = None
    scheduler_size: str | None = None
    scheduler_count: int | None = None
    min_workers: int | None = None
    max_workers: int | None = None
    tasks_per_worker: int | None = None
    environment: Mapping[str, str] | None = None
    secret_environment: Mapping[str, str] | None = None
    remove_secrets: tuple[str, ...] = ()
    is_development: bool | None = None
    # Given: the further queues become exactly those given (``default`` among them, if
    # there, changes the default queue); a queue left out is removed.
    worker_queues: tuple[QueueRequest, ...] | None = None


# -- validation ------------------------------------------------------------------------------
def _check_int(value: int, field_name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidInput(f"{field_name}: must be between {low} and {high}", field=field_name)
    return value


def check_env_name(key: str, field_name: str) -> str:
    """One variable's name, by the rules every door (API, CLI, console) applies."""
    if not _ENV_KEY.match(key):
        raise InvalidInput(
            f"{field_name}: {key!r} is not a valid variable name; use letters, digits and "
            "'_', not starting with a digit",
            field=field_name,
        )
    if key in RESERVED_ENV:
        raise InvalidInput(
            f"{field_name}: {key} is set by flightdeck for every Deployment; remove it",
            field=field_name,
        )
    return key


def check_env_value(key: str, value: object, field_name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_ENV_VALUE:
        raise InvalidInput(
            f"{field_name}: the value of {key} must be a string of at most "
            f"{MAX_ENV_VALUE} characters",
            field=field_name,
        )
    return value


def _check_env(env: Mapping[str, str], field_name: str) -> dict[str, str]:
    if len(env) > MAX_ENV_VARS:
        raise InvalidInput(f"{field_name}: at most {MAX_ENV_VARS} variables", field=field_name)
    return {
        check_env_name(key, field_name): check_env_value(key, value, field_name)
        for key, value in env.items()
    }


_QUEUE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]{0,15}\.[a-z0-9-]{1,20}$")


def _check_queue(
    name: str, values: Mapping[str, Any], prefix: str, *, default: bool
) -> dict[str, Any]:
    """One queue's stored form; ``prefix`` (``worker_queues[x].``; none for the default
    queue, whose fields are the request's own) names it in every error."""
    low = 0 if default else 1  # a further queue with no worker would never run its tasks
    min_workers = _check_int(
        values["min_workers"], f"{prefix}min_workers", low, limits.MAX_WORKERS
    )
    max_workers = _check_int(
        values["max_workers"], f"{prefix}max_workers", 1, limits.MAX_WORKERS
    )
    if max_workers < min_workers:
        raise InvalidInput(
            f"{prefix}max_workers: must be at least min_workers "
            f"({max_workers} < {min_workers}); raise max_workers or lower min_workers",
            field=f"{prefix}max_workers",
        )
    instance_type = values.get("instance_type") or None
    if instance_type is not None and not _INSTANCE_TYPE.match(str(instance_type)):
        raise InvalidInput(
            f"{prefix}instance_type: {instance_type!r} is not an EC2 instance type; "
            "use one such as m5.xlarge, or leave it out for the cluster's worker nodes",
            field=f"{prefix}instance_type",
        )
    return {
        "name": name,
        "min_workers": min_workers,
        "max_workers": max_workers,
        "tasks_per_worker": _check_int(
            values["tasks_per_worker"],
            f"{prefix}tasks_per_worker",
            1,
            limits.MAX_TASKS_PER_WORKER,
        ),
        "instance_type": instance_type,
    }


def _queue_layout(
    current_default: Mapping[str, Any],
    current_extra: list[Mapping[str, Any]],
    asked: tuple[QueueRequest, ...] | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The default queue's values and the further queues' (unchecked) after ``asked``."""
    if asked is None:
        return dict(current_default), [dict(q) for q in current_extra]
    names = [q.name for q in asked]
    for name in names:
        if not isinstance(name, str) or not _QUEUE_NAME.match(name):
            raise InvalidInput(
                f"worker_queues.name: {name!r} is not a queue name; use lowercase letters, "
                "digits and '-', starting with a letter, at most 30 characters",
                field="worker_queues.name",
            )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInput(
            f"worker_queues.name: {', '.join(twice)} given twice; name each queue once",
            field="worker_queues.name",
        )
    if len(set(names) | {limits.DEFAULT_QUEUE_NAME}) > limits.MAX_QUEUES:
        raise InvalidInput(
            f"worker_queues: at most {limits.MAX_QUEUES} queues, the default one included",
            field="worker_queues",
        )
    before = {q["name"]: q for q in current_extra}
    default = dict(current_default)
    extra: list[dict[str, Any]] = []
    for queue in asked:
        given = {
            k: v
            for k, v in (
                ("instance_type", queue.instance_type),
                ("min_workers", queue.min_workers),
                ("max_workers", queue.max_workers),
                ("tasks_per_worker", queue.tasks_per_worker),
            )
            if v is not None
        }
        if queue.name == limits.DEFAULT_QUEUE_NAME:
            default.update(given)
            continue
        start = before.get(queue.name) or {
            "name": queue.name,
            "min_workers": limits.DEFAULT_MIN_WORKERS,
            "max_workers": limits.DEFAULT_MAX_WORKERS,
            "tasks_per_worker": limits.DEFAULT_TASKS_PER_WORKER,
            "instance_type": None,
        }
        extra.append({**start, **given})
    return default, extra


def _checked_spec(values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        version = check_exact_airflow_version(str(values["airflow_version"]), "airflow_version")
    except UnsupportedAirflowVersion as exc:
        raise InvalidInput(str(exc), field="airflow_version") from None
    executor = check_choice(values["executor"], EXECUTORS, "executor")
    extra = [
        _check_queue(q["name"], q, f"worker_queues[{q['name']}].", default=False)
        for q in values.get("extra_queues") or []
    ]
    if extra and executor != "CeleryExecutor":
        raise InvalidInput(
            f"worker_queues: {executor} has no queues (each task runs in a pod of its own); "
            "remove the queues other than default, or use the CeleryExecutor",
            field="worker_queues",
        )
    return {
        "airflow_version": version,
        "executor": executor,
        "scheduler_size": check_choice(values["scheduler_size"], SCHEDULER_SIZES, "scheduler_size"),
        "scheduler_count": _check_int(
            values["scheduler_count"], "scheduler_count", 1, limits.MAX_SCHEDULERS
        ),
        "worker_queue": _check_queue(
            limits.DEFAULT_QUEUE_NAME,
            values,
            "",
            default=True,
        ),
        "extra_queues": extra,
        "environment": _check_env(values["environment"], "environment"),
    }


def _check_secret_keys(plain: Mapping[str, str], secret_keys: set[str]) -> None:
    both = sorted(secret_keys & set(plain))
    if both:
        raise InvalidInput(
            f"environment: {', '.join(both)} is both a plain and a secret variable; keep one",
            field="environment",
        )


# -- lookups ---------------------------------------------------------------------------------
def _workspace(
    session: Session, user: User, organization_id: str, ref: str, *, admin: bool = False
) -> Workspace:
    """A workspace by id or name that the user may see (``admin``: may manage); one not
    found and one the user may not see give the same answer."""
    workspace = lookup.by_id_or_name(
        session,
        Workspace,
        organization_id,
        ref,
        kind="workspace",
        list_command="flightdeck workspace list",
        ignore_case=True,
    )
    try:
        return require_workspace(session, user, organization_id, workspace.id, admin=admin)
    except NotFound:
        raise lookup.not_found("workspace", ref, "flightdeck workspace list") from None


def _active_cluster(session: Session, organization_id: str, ref: str) -> Cluster:
    candidates = session.scalars(
        select(Cluster)
        .where(Cluster.organization_id == organization_id, Cluster.phase != "Deleted")
        .order_by(Cluster.created_at)
    ).all()
    cluster = next((c for c in candidates if ref in (c.id, c.name)), None)
    active = [c.name for c in candidates if c.phase == "Active"]
    choices = f"Active clusters: {', '.join(active)}" if active else "no cluster is Active yet"
    if cluster is None:
        raise InvalidInput(f"cluster: {ref!r} not found ({choices})", field="cluster")
    if cluster.phase != "Active" or cluster.desired_state != "present":
        raise InvalidInput(
            f"cluster: {cluster.name!r} is {cluster.phase}, not Active ({choices})",
            field="cluster",
        )
    return cluster


def get_deployment(session: Session, user: User, organization_id: str, ref: str) -> Deployment:
    """A Deployment the user may see (its workspace's members and Organization Owners)."""
    require_member(session, user, organization_id)
    deployment = lookup.by_id_or_name(
        session,
        Deployment,
        organization_id,
        ref,
        kind="Deployment",
        list_command="flightdeck deployment list",
        live=Deployment.phase != "Deleted",
    )
    try:
        require_workspace(session, user, organization_id, deployment.workspace_id)
    except NotFound:
        raise lookup.not_found("Deployment", ref, "flightdeck deployment list") from None
    return deployment


def get_manageable(session: Session, user: User, organization_id: str, ref: str) -> Deployment:
    deployment = get_deployment(session, user, organization_id, ref)
    require_workspace(session, user, organization_id, deployment.workspace_id, admin=True)
    return deployment


def list_deployments(
    session: Session,
    user: User,
    organization_id: str,
    workspace: str | None = None,
    *,
    include_deleted: bool = False,
) -> list[Deployment]:
    """Owners see every Deployment; other members those of their workspaces. Deleted ones
    only with ``include_deleted``: a name lookup no longer finds them, so a list showing
    them by default would name what `get` answers "not found" for."""
    membership = org_membership(session, user, organization_id)
    query = select(Deployment).where(Deployment.organization_id == organization_id)
    if not include_deleted:
        query = query.where(Deployment.phase != "Deleted")
    if workspace is not None:
        query = query.where(
            Deployment.workspace_id == _workspace(session, user, organization_id, workspace).id
        )
    elif membership.role != "owner":
        query = query.join(
            WorkspaceMembership, WorkspaceMembership.workspace_id == Deployment.workspace_id
        ).where(WorkspaceMembership.user_id == user.id)
    return list(session.scalars(query.order_by(Deployment.created_at)))


# -- writes ----------------------------------------------------------------------------------
def create_deployment(
    session: Session,
    user: User,
    organization_id: str,
    request: DeploymentRequest,
    settings: Settings,
) -> Deployment:
    workspace = _workspace(session, user, organization_id, request.workspace, admin=True)
    name = check_name(request.name, "name")
    default, extra = _queue_layout(
        {
            "min_workers": request.min_workers,
            "max_workers": request.max_workers,
            "tasks_per_worker": request.tasks_per_worker,
            "instance_type": None,
        },
        [],
        request.worker_queues,
    )
    spec = _checked_spec(
        {
            "airflow_version": request.airflow_version,
            "executor": request.executor,
            "scheduler_size": request.scheduler_size,
            "scheduler_count": request.scheduler_count,
            **default,
            "extra_queues": extra,
            "environment": dict(request.environment),
        }
    )
    secrets_in = _check_env(request.secret_environment, "secret_environment")
    _check_secret_keys(spec["environment"], set(secrets_in))
    # One Deployment per name, and none on a cluster being deleted, even concurrently.
    lock_organization(session, organization_id)
    cluster = _active_cluster(session, organization_id, request.cluster)
    taken = session.scalar(
        select(Deployment.id).where(
            Deployment.organization_id == organization_id,
            Deployment.name == name,
            Deployment.phase != "Deleted",
        )
    )
    if taken is not None:
        raise Conflict(
            f"name: a Deployment named {name!r} already exists; choose another name",
            field="name",
        )
    deployment = Deployment(
        organization_id=organization_id,
        workspace_id=workspace.id,
        cluster_id=cluster.id,
        name=name,
        runtime=settings.runtime,
        spec=spec,
        secret_environment={k: seal(v, settings.secret_key) for k, v in secrets_in.items()},
        status={},
        phase="Creating",
        is_development=request.is_development,
        created_by=user.id,
    )
    session.add(deployment)
    session.flush()
    timeline.record(
        session,
        deployment.id,
        DeploymentEventKind.CREATED,
        f"created by {user.email} on cluster {cluster.name} (workspace {workspace.name}), "
        f"Airflow {spec['airflow_version']}",
    )
    audit.record(
        session,
        action="deployment.create",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
        detail={"name": name, "cluster": cluster.name, "workspace": workspace.name},
    )
    session.commit()
    return deployment


def update_deployment(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    update: DeploymentUpdate,
    settings: Settings,
) -> Deployment:
    deployment = get_manageable(session, user, organization_id, ref)
    if deployment.desired_state != "present":
        raise Conflict("deployment is being deleted; it cannot change")
    current = dict(deployment.spec)
    # A spec written before there were several queues and instance types has neither.
    current.setdefault("extra_queues", [])
    current["worker_queue"] = {"instance_type": None, **current["worker_queue"]}
    # The default queue as it is, less what the update's own fields change.
    queue = {
        k: v
        for k, v in current["worker_queue"].items()
        if k != "name" and getattr(update, k, None) is None
    }
    default, extra = _queue_layout(queue, current["extra_queues"], update.worker_queues)
    given = {
        "airflow_version": update.airflow_version,
        "executor": update.executor,
        "scheduler_size": update.scheduler_size,
        "scheduler_count": update.scheduler_count,
        "min_workers": update.min_workers,
        "max_workers": update.max_workers,
        "tasks_per_worker": update.tasks_per_worker,
        "environment": None if update.environment is None else dict(update.environment),
    }
    # A value given is validated even when falsy (0 workers is an error, not "unchanged").
    merged = {
        **current,
        **{k: v for k, v in given.items() if v is not None},
        **{k: v for k, v in default.items() if k != "name"},
        "extra_queues": extra,
    }
    spec = _checked_spec(merged)
    sealed = dict(deployment.secret_environment)
    for key in update.remove_secrets:
        if key not in sealed:
            raise InvalidInput(
                f"remove_secrets: {key!r} is not a secret variable of this Deployment",
                field="remove_secrets",
            )
        del sealed[key]
    new_secrets = _check_env(update.secret_environment or {}, "secret_environment")
    sealed.update({k: seal(v, settings.secret_key) for k, v in new_secrets.items()})
    _check_secret_keys(spec["environment"], set(sealed))
    marking = (
        update.is_development is not None and update.is_development != deployment.is_development
    )
    if marking and not update.is_development and schedule.schedule_of(deployment) is not None:
        raise Conflict(
            f"is_development: Deployment {deployment.name} sleeps on a schedule; clear it "
            f"with `flightdeck deployment schedule clear {deployment.name}` before marking it "
            "production",
            field="is_development",
        )
    if marking:
        deployment.is_development = bool(update.is_development)
    if spec == current and sealed == deployment.secret_environment:
        if marking:
            _record_marking(session, user, deployment)
        return deployment
    secrets_changed = sorted(set(new_secrets) | set(update.remove_secrets))
    if marking:
        _record_marking(session, user, deployment, commit=False)
    deployment.spec = spec
    deployment.secret_environment = sealed
    deployment.generation += 1
    deployment.next_reconcile_at = utcnow()
    timeline.record(
        session,
        deployment.id,
        DeploymentEventKind.UPDATED,
        f"changed by {user.email}: {_describe_changes(current, spec, secrets_changed)}; "
        f"{restart_text(deployment, current, spec, secrets_changed)}",
    )
    audit.record(
        session,
        action="deployment.update",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
        detail={"secrets_changed": secrets_changed},
    )
    session.commit()
    return deployment


def _record_marking(
    session: Session, user: User, deployment: Deployment, *, commit: bool = True
) -> None:
    """Marking development or production changes no spec: a line and an audit, no restart."""
    kind = "development" if deployment.is_development else "production"
    timeline.record(
        session, deployment.id, DeploymentEventKind.UPDATED, f"marked {kind} by {user.email}"
    )
    audit.record(
        session,
        action="deployment.mark",
        actor=user,
        organization_id=deployment.organization_id,
        target=deployment.id,
        detail={"is_development": deployment.is_development},
    )
    if commit:
        session.commit()


def restart_text(
    deployment: Deployment,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    secrets_changed: list[str],
) -> str:
    """Which components applying a change restarts, by the runtimes' one rule
    (:func:`flightdeck.runtime.base.components_to_restart`)."""
    from flightdeck.devenv.supervisor import components_for

    names = components_for(airflow_major(str(after["airflow_version"])))
    others = [k for k in after if k != "environment" and before.get(k) != after.get(k)]
    old_env, new_env = before.get("environment") or {}, after.get("environment") or {}
    changed = [k for k in set(old_env) | set(new_env) if old_env.get(k) != new_env.get(k)]
    restarted = names if others else components_to_restart(changed + secrets_changed, names)
    if deployment.runtime != "local" or len(restarted) == len(names):
        return "restarts every component"
    return f"restarts {', '.join(restarted)} only"


def _describe_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], secrets_changed: list[str]
) -> str:
    """Which settings changed, by name (environment values are never written out)."""
    changed: list[str] = []
    for key, value in after.items():
        old = before.get(key)
        if key == "environment" or old == value:
            continue
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            changed += [
                f"{key}.{k}" for k in sorted(set(old) | set(value)) if old.get(k) != value.get(k)
            ]
        else:
            changed.append(key)
    old_env, new_env = before.get("environment") or {}, after.get("environment") or {}
    changed += [f"environment {key}" for key in sorted(set(old_env) ^ set(new_env))]
    changed += [
        f"environment {key}"
        for key in sorted(set(old_env) & set(new_env))
        if old_env[key] != new_env[key]
    ]
    changed += [f"secret {key}" for key in secrets_changed]
    return ", ".join(changed) or "settings"


def request_deletion(session: Session, user: User, organization_id: str, ref: str) -> Deployment:
    deployment = get_manageable(session, user, organization_id, ref)
    if deployment.desired_state != "absent":
        deployment.desired_state = "absent"
        deployment.phase = "Deleting"
        deployment.generation += 1
        deployment.next_reconcile_at = utcnow()
        timeline.record(
            session, deployment.id, DeploymentEventKind.DELETING, f"deletion asked by {user.email}"
        )
        audit.record(
            session,
            action="deployment.delete",
            actor=user,
            organization_id=organization_id,
            target=deployment.id,
        )
        session.commit()
    return deployment


def reconcile_now(session: Session, runtime: str) -> int:
    """Make every live Deployment of ``runtime`` due at once (a control plane that just
    started brings its local Deployments back without waiting for their next poll)."""
    result = session.execute(
        update(Deployment)
        .where(Deployment.runtime == runtime, Deployment.phase != DeploymentPhase.DELETED)
        .values(next_reconcile_at=utcnow())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


# -- hibernation -----------------------------------------------------------------------------
def hibernate_deployment(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    *,
    until: datetime | None = None,
    duration: str | None = None,
) -> Deployment:
    """Ask the worker to stop its Airflow (data and code kept) until ``until``, for
    ``duration``, or until woken; asking again changes when it wakes."""
    deployment = get_manageable(session, user, organization_id, ref)
    if deployment.desired_state != "present":
        raise Conflict("deployment is being deleted; it cannot hibernate")
    wake_at = sleep.wake_time(until, duration)
    deployment.hibernated = True
    deployment.wake_at = wake_at
    deployment.next_reconcile_at = utcnow()
    timeline.record(
        session,
        deployment.id,
        DeploymentEventKind.ASLEEP,
        f"hibernation asked by {user.email}, {sleep.until_text(deployment)}",
    )
    audit.record(
        session,
        action="deployment.hibernate",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
        detail={"wake_at": wake_at.isoformat() if wake_at else None},
    )
    session.commit()
    return deployment


def wake_up_deployment(session: Session, user: User, organization_id: str, ref: str) -> Deployment:
    """Ask the worker to start its Airflow again; a no-op when it is not hibernating."""
    deployment = get_manageable(session, user, organization_id, ref)
    if not deployment.hibernated:
        return deployment
    deployment.hibernated = False
    deployment.wake_at = None
    deployment.next_reconcile_at = utcnow()
    timeline.record(
        session, deployment.id, DeploymentEventKind.AWAKE, f"wake-up asked by {user.email}"
    )
    audit.record(
        session,
        action="deployment.wake_up",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
    )
    session.commit()
    return deployment


def set_schedule(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    *,
    hibernate_at: str,
    wake_at: str,
    timezone: str,
) -> Deployment:
    """Put a development Deployment on a hibernation schedule; it takes effect from the
    schedule's next change (a sleep due already is not applied retroactively)."""
    deployment = get_manageable(session, user, organization_id, ref)
    if deployment.desired_state != "present":
        raise Conflict("deployment is being deleted; it cannot get a schedule")
    schedule.require_development(deployment)
    plan = schedule.check_schedule(hibernate_at, wake_at, timezone)
    deployment.hibernate_cron = plan.hibernate_at
    deployment.wake_cron = plan.wake_at
    deployment.schedule_timezone = plan.timezone
    deployment.schedule_applied_at = utcnow()
    timeline.record(
        session,
        deployment.id,
        DeploymentEventKind.UPDATED,
        f"hibernation schedule set by {user.email}: asleep {plan.hibernate_at}, awake "
        f"{plan.wake_at} ({plan.timezone})",
    )
    audit.record(
        session,
        action="deployment.schedule",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
        detail={"hibernate_at": plan.hibernate_at, "wake_at": plan.wake_at, "tz": plan.timezone},
    )
    session.commit()
    return deployment


def clear_schedule(session: Session, user: User, organization_id: str, ref: str) -> Deployment:
    """Drop the schedule; a sleep it began stays until its wake time or a wake-up."""
    deployment = get_manageable(session, user, organization_id, ref)
    if schedule.schedule_of(deployment) is None:
        return deployment
    deployment.hibernate_cron = deployment.wake_cron = deployment.schedule_timezone = None
    deployment.schedule_applied_at = None
    timeline.record(
        session,
        deployment.id,
        DeploymentEventKind.UPDATED,
        f"hibernation schedule cleared by {user.email}",
    )
    audit.record(
        session,
        action="deployment.schedule_clear",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
    )
    session.commit()
    return deployment


# -- deploys ---------------------------------------------------------------------------------
def submit_deploy(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    bundle: bytes,
    *,
    kind: str,
    description: str,
    settings: Settings,
) -> Deploy:
    """Record an uploaded bundle; the worker checks it and switches the runtime to it."""
    deployment = get_manageable(session, user, organization_id, ref)
    if deployment.desired_state != "present":
        raise Conflict("deployment is being deleted; nothing can be deployed to it")
    if deployment.hibernated:
        raise sleep.asleep_conflict(deployment, "a deploy")
    kind = check_choice(kind, DEPLOY_KINDS, "kind")
    if not bundle:
        raise InvalidInput("bundle: the upload is empty; send a .tar.gz bundle", field="bundle")
    if len(bundle) > settings.max_bundle_bytes:
        raise InvalidInput(
            f"bundle: {len(bundle)} bytes is over the {settings.max_bundle_bytes}-byte limit; "
            "keep data files out of dags/ or raise FLIGHTDECK_MAX_BUNDLE_BYTES",
            field="bundle",
        )
    if bundle[:2] != b"\x1f\x8b":
        raise InvalidInput(
            "bundle: not a gzip archive; build it with `flightdeck deploy`", field="bundle"
        )
    deploy = Deploy(
        deployment_id=deployment.id,
        kind=kind,
        status="pending",
        sha256=hashlib.sha256(bundle).hexdigest(),
        size_bytes=len(bundle),
        description=description[:500],
        bundle=bundle,
        created_by=user.id,
    )
    session.add(deploy)
    session.flush()
    deployment.next_reconcile_at = utcnow()
    audit.record(
        session,
        action="deployment.deploy",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
        detail={"deploy": deploy.id, "kind": kind, "sha256": deploy.sha256},
    )
    session.commit()
    return deploy


def rollback(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    deploy_id: str | None,
    *,
    description: str,
    settings: Settings,
) -> Deploy:
    """A new deploy of an earlier deploy's kept bundle (``deploy_id``, else the newest
    succeeded one that is not serving now), checked and switched to like any upload."""
    deployment = get_manageable(session, user, organization_id, ref)
    query = select(Deploy).where(Deploy.deployment_id == deployment.id, Deploy.bundle.is_not(None))
    if deploy_id is not None:
        source = session.get(Deploy, deploy_id)
        if source is None or source.deployment_id != deployment.id:
            raise NotFound(
                f"deploy: {deploy_id!r} is not a deploy of {deployment.name}; see "
                f"`flightdeck deployment deploys {deployment.name}`"
            )
        if session.scalar(query.where(Deploy.id == deploy_id).with_only_columns(Deploy.id)) is None:
            raise Conflict(
                f"deploy: the bundle of {deploy_id} is no longer kept (a rejected upload's "
                f"never is; others for {settings.deploy_retention.days} days, the newest "
                f"{settings.deploy_retention.deploys}); "
                "deploy that code again with `flightdeck deploy`",
                field="deploy",
            )
    else:
        source = session.scalar(
            query.where(
                Deploy.status == "succeeded", Deploy.id != deployment.current_deploy_id
            ).order_by(Deploy.created_at.desc())
        )
        if source is None:
            raise Conflict(
                f"deploy: {deployment.name} has no earlier succeeded deploy whose bundle is "
                f"kept; see `flightdeck deployment deploys {deployment.name}`",
                field="deploy",
            )
    note = f"rollback to {source.id}" + (f": {description}" if description else "")
    kind = source.kind
    bundle = source.bundle
    assert bundle is not None
    return submit_deploy(
        session,
        user,
        organization_id,
        deployment.id,
        bundle,
        kind=kind,
        description=note,
        settings=settings,
    )


def list_deploys(
    session: Session, user: User, organization_id: str, ref: str, limit: int = 100
) -> list[Deploy]:
    deployment = get_deployment(session, user, organization_id, ref)
    return list(
        session.scalars(
            select(Deploy)
            .where(Deploy.deployment_id == deployment.id)
            .order_by(Deploy.created_at.desc())
            .limit(limit)
        )
    )


def get_deploy(
    session: Session, user: User, organization_id: str, ref: str, deploy_id: str
) -> Deploy:
    deployment = get_deployment(session, user, organization_id, ref)
    deploy = session.get(Deploy, deploy_id)
    if deploy is None or deploy.deployment_id != deployment.id:
        raise NotFound("deploy not found")
    return deploy


# -- towards the runtime ---------------------------------------------------------------------
def stored_queue(queue: Mapping[str, Any]) -> WorkerQueue:
    """A queue as the spec stores it (one written before instance types has none)."""
    return WorkerQueue(
        name=queue["name"],
        min_workers=queue["min_workers"],
        max_workers=queue["max_workers"],
        tasks_per_worker=queue["tasks_per_worker"],
        instance_type=queue.get("instance_type"),
    )


def runtime_spec(deployment: Deployment, secret_key: str) -> DeploymentSpec:
    spec = deployment.spec
    queue = spec["worker_queue"]
    return DeploymentSpec(
        id=deployment.id,
        name=deployment.name,
        organization_id=deployment.organization_id,
        airflow_version=spec["airflow_version"],
        executor=spec["executor"],
        scheduler_size=spec["scheduler_size"],
        scheduler_count=spec["scheduler_count"],
        worker_queue=stored_queue(queue),
        extra_queues=tuple(stored_queue(q) for q in spec.get("extra_queues") or ()),
        environment=dict(spec["environment"]),
        secret_environment={
            k: unseal(v, secret_key) for k, v in deployment.secret_environment.items()
        },
        hibernated=deployment.hibernated,
    )


def cluster_outputs(cluster: Cluster, settings: Settings) -> ClusterOutputs:
    """What provisioning recorded about ``cluster``, in the shape runtimes read."""
    status = ClusterStatus.from_json(cluster.status)
    eks_arn = status.resource(EksClusterStep.name, EKS_CLUSTER)
    endpoint = status.resource(DatabaseStep.name, DB_ENDPOINT)
    host, _, port = (endpoint or "").rpartition(":")
    return ClusterOutputs(
        cluster_id=cluster.id,
        name=cluster.name,
        region=cluster.region,
        account_id=str(cluster.spec.get("account_id", "")),
        eks_cluster_name=eks_arn.rsplit("/", 1)[-1] if eks_arn else None,
        eks_cluster_arn=eks_arn,
        db_instance_arn=status.resource(DatabaseStep.name, DB_INSTANCE),
        db_endpoint=host or None,
        db_port=int(port) if port.isdigit() else None,
        log_bucket=status.resource(LogBucketStep.name, LOG_BUCKET),
        # Node group ARNs end in nodegroup/<cluster>/<name>/<uuid>.
        node_groups=tuple(
            arn.split("/")[2] if arn.count("/") == 3 else arn
            for arn in status.condition(NodeGroupsStep.name).resources.values()
        ),
        aws_endpoint_url=settings.aws_endpoint_url,
    )


def manifests(
    session: Session, user: User, organization_id: str, ref: str, settings: Settings
) -> dict[str, Any]:
    """What the kubernetes runtime applies for this Deployment: the Helm values and the
    Kubernetes objects, secret values redacted. Read-only; touches no cluster."""
    from flightdeck.runtime import kubernetes
    from flightdeck.runtime.base import RuntimeError_

    deployment = get_deployment(session, user, organization_id, ref)
    cluster = session.get(Cluster, deployment.cluster_id)
    assert cluster is not None
    spec = runtime_spec(deployment, settings.secret_key)
    outputs = cluster_outputs(cluster, settings)
    try:
        return {
            "helm_values": kubernetes.render_values(
                spec, outputs, deploy_id=deployment.current_deploy_id
            ),
            "objects": kubernetes.render(spec, outputs),
        }
    except RuntimeError_ as exc:
        raise InvalidInput(f"manifests: {exc}", field="cluster") from None

"""Deployments (Airflow on an Active cluster) and their code deploys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.api.deps import AwsDep, CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.routes.clusters import cost_out
from flightdeck.api.schemas import (
    AirflowLoginOut,
    DeploymentCreateIn,
    DeploymentEventOut,
    DeploymentLogsOut,
    DeploymentOut,
    DeploymentUpdateIn,
    DeployOut,
    HibernateIn,
    HibernationScheduleIn,
    HibernationScheduleOut,
    LogLineOut,
    RollbackIn,
    WorkerQueueOut,
)
from flightdeck.db.models import Cluster, Deploy, Deployment
from flightdeck.db.types import utcnow
from flightdeck.runtime.base import DEFAULT_LOG_LINES, LOG_COMPONENTS, MAX_LOG_LINES
from flightdeck.services import costs
from flightdeck.services.deployments import operate, schedule, timeline
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.deployments.status import status_from_json
from flightdeck.services.errors import InvalidInput

router = APIRouter(
    prefix="/organizations/{organization_id}/deployments",
    tags=["deployments"],
    responses=error_responses(401, 403, 404, 422),
)


def deployment_out(d: Deployment, cluster: Cluster | None = None) -> DeploymentOut:
    """The API's view; ``cluster`` (for the cost note) is read when not given."""
    spec, state = d.spec, status_from_json(d.status)
    return DeploymentOut(
        id=d.id,
        organization_id=d.organization_id,
        workspace_id=d.workspace_id,
        cluster_id=d.cluster_id,
        name=d.name,
        runtime=d.runtime,
        airflow_version=spec["airflow_version"],
        executor=spec["executor"],
        running_executor=running_executor(d.runtime, spec),
        scheduler_size=spec["scheduler_size"],
        scheduler_count=spec["scheduler_count"],
        worker_queue=WorkerQueueOut(**spec["worker_queue"]),
        worker_queues=[
            WorkerQueueOut(**queue)
            for queue in (spec["worker_queue"], *(spec.get("extra_queues") or ()))
        ],
        environment=dict(spec["environment"]),
        secret_environment_keys=sorted(d.secret_environment),
        phase=d.phase,
        desired_state=d.desired_state,
        health_message=state.message,
        airflow_url=state.url,
        components=dict(state.components),
        current_deploy_id=d.current_deploy_id,
        hibernated=d.hibernated,
        wake_at=d.wake_at,
        is_development=d.is_development,
        hibernation_schedule=schedule_out(d),
        cost=cost_out(costs.deployment_cost_of(d, cluster)),
        last_error=d.last_error,
        generation=d.generation,
        observed_generation=d.observed_generation,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def schedule_out(d: Deployment) -> HibernationScheduleOut | None:
    plan = schedule.schedule_of(d)
    if plan is None:
        return None
    upcoming = plan.next_change(utcnow())
    return HibernationScheduleOut(
        hibernate_at=plan.hibernate_at,
        wake_at=plan.wake_at,
        timezone=plan.timezone,
        next_change_at=upcoming.at,
        next_change="hibernate" if upcoming.asleep else "wake",
    )


def _queues(given: list[dict[str, Any]]) -> tuple[deployments.QueueRequest, ...]:
    return tuple(deployments.QueueRequest(**queue) for queue in given)


def running_executor(runtime: str, spec: dict[str, Any]) -> str:
    if runtime == "local":
        from flightdeck.runtime.local import local_executor

        return local_executor(str(spec["airflow_version"]))
    return str(spec["executor"])


def deploy_out(deploy: Deploy) -> DeployOut:
    return DeployOut.model_validate(deploy)


@router.get("", response_model=list[DeploymentOut])
def list_deployments(
    organization_id: str,
    user: CurrentUser,
    session: SessionDep,
    workspace: Annotated[str | None, Query(max_length=100)] = None,
    include_deleted: Annotated[
        bool, Query(alias="all", description="Include Deleted Deployments.")
    ] = False,
) -> list[DeploymentOut]:
    """Live Deployments (with ``all=true``, Deleted ones too)."""
    rows = deployments.list_deployments(
        session, user, organization_id, workspace, include_deleted=include_deleted
    )
    clusters = costs.clusters_of(session, rows)  # one query, not one per cost note
    return [deployment_out(d, clusters.get(d.cluster_id)) for d in rows]


@router.post(
    "",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=DeploymentOut,
)
def create_deployment(
    organization_id: str,
    body: DeploymentCreateIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> DeploymentOut:
    values = body.model_dump()
    if values["airflow_version"] is None:
        values["airflow_version"] = DEFAULT_AIRFLOW_VERSION
    values["worker_queues"] = _queues(values["worker_queues"])
    request = deployments.DeploymentRequest(**values)
    return deployment_out(
        deployments.create_deployment(session, user, organization_id, request, settings)
    )


@router.get("/{deployment}", response_model=DeploymentOut)
def show_deployment(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> DeploymentOut:
    return deployment_out(deployments.get_deployment(session, user, organization_id, deployment))


@router.patch("/{deployment}", responses=error_responses(409), response_model=DeploymentOut)
def update_deployment(
    organization_id: str,
    deployment: str,
    body: DeploymentUpdateIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> DeploymentOut:
    values = body.model_dump()
    values["remove_secrets"] = tuple(values["remove_secrets"])
    if values["worker_queues"] is not None:
        values["worker_queues"] = _queues(values["worker_queues"])
    update = deployments.DeploymentUpdate(**values)
    return deployment_out(
        deployments.update_deployment(session, user, organization_id, deployment, update, settings)
    )


@router.delete("/{deployment}", response_model=DeploymentOut, status_code=status.HTTP_202_ACCEPTED)
def delete_deployment(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> DeploymentOut:
    return deployment_out(deployments.request_deletion(session, user, organization_id, deployment))


@router.post(
    "/{deployment}/hibernate",
    responses=error_responses(409),
    response_model=DeploymentOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def hibernate_deployment(
    organization_id: str,
    deployment: str,
    body: HibernateIn,
    user: CurrentUser,
    session: SessionDep,
) -> DeploymentOut:
    """Stop its Airflow (metadata database and code kept) until ``until``, for ``duration``,
    or until woken up; the phase turns Hibernating once the worker has stopped it."""
    row = deployments.hibernate_deployment(
        session, user, organization_id, deployment, until=body.until, duration=body.duration
    )
    return deployment_out(row)


@router.post(
    "/{deployment}/wake-up", response_model=DeploymentOut, status_code=status.HTTP_202_ACCEPTED
)
def wake_up_deployment(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> DeploymentOut:
    """Start its Airflow again now; it returns to Healthy with its runs and code."""
    return deployment_out(
        deployments.wake_up_deployment(session, user, organization_id, deployment)
    )


@router.put(
    "/{deployment}/hibernation-schedule",
    responses=error_responses(409),
    response_model=DeploymentOut,
)
def set_hibernation_schedule(
    organization_id: str,
    deployment: str,
    body: HibernationScheduleIn,
    user: CurrentUser,
    session: SessionDep,
) -> DeploymentOut:
    """Sleep and wake a development Deployment on a schedule (cron expressions in a time
    zone); it takes effect from its next change. A production Deployment answers 409."""
    row = deployments.set_schedule(
        session,
        user,
        organization_id,
        deployment,
        hibernate_at=body.hibernate_at,
        wake_at=body.wake_at,
        timezone=body.timezone,
    )
    return deployment_out(row)


@router.delete("/{deployment}/hibernation-schedule", response_model=DeploymentOut)
def clear_hibernation_schedule(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> DeploymentOut:
    """Stop sleeping on a schedule; a sleep under way lasts until its wake time."""
    return deployment_out(deployments.clear_schedule(session, user, organization_id, deployment))


@router.get("/{deployment}/events", response_model=list[DeploymentEventOut])
def deployment_events(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> list[DeploymentEventOut]:
    """The Deployment's timeline, newest first: created, changed, phases, Airflow started
    again (control plane restart or crash), deploy outcomes, deletion."""
    row = deployments.get_deployment(session, user, organization_id, deployment)
    return [DeploymentEventOut.model_validate(e) for e in timeline.list_events(session, row)]


@router.get("/{deployment}/manifests")
def deployment_manifests(
    organization_id: str,
    deployment: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """The Helm values and Kubernetes objects the kubernetes runtime applies for this
    Deployment (secret values redacted); computed, never read from a cluster."""
    return deployments.manifests(session, user, organization_id, deployment, settings)


@router.post(
    "/{deployment}/airflow-login", responses=error_responses(409), response_model=AirflowLoginOut
)
def airflow_login(
    organization_id: str,
    deployment: str,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AirflowLoginOut:
    """The Deployment's Airflow URL and the way in (the local runtime's generated login),
    for its workspace's Admins and Organization Owners; audited, never cached."""
    response.headers["Cache-Control"] = "no-store"
    login = operate.airflow_login(session, user, organization_id, deployment, settings)
    return AirflowLoginOut(
        url=login.url, username=login.username, password=login.password, kind=login.kind
    )


@router.get("/{deployment}/logs", responses=error_responses(409), response_model=DeploymentLogsOut)
def deployment_logs(
    organization_id: str,
    deployment: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    sessions: AwsDep,
    component: Annotated[
        str | None, Query(max_length=40, description=f"One of {', '.join(LOG_COMPONENTS)}.")
    ] = None,
    since: Annotated[
        str | None, Query(max_length=10, description="Only lines this recent: 30s, 10m, 2h, 1d.")
    ] = None,
    tail: Annotated[int, Query(description=f"At most this many lines (1-{MAX_LOG_LINES}).")] = (
        DEFAULT_LOG_LINES
    ),
    after: Annotated[
        str | None, Query(max_length=400, description="A previous read's cursor.")
    ] = None,
) -> DeploymentLogsOut:
    """The Deployment's component logs, oldest first, its secret values masked."""
    read = operate.read_logs(
        session,
        user,
        organization_id,
        deployment,
        settings,
        component=component,
        since=since,
        tail=tail,
        after=after,
        sessions=sessions,
    )
    return DeploymentLogsOut(
        lines=[
            LogLineOut(component=item.component, timestamp=item.timestamp, line=item.line)
            for item in read.lines
        ],
        cursor=operate.format_cursor(read.offsets),
        truncated=read.truncated,
    )


@router.get("/{deployment}/deploys", response_model=list[DeployOut])
def list_deploys(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> list[DeployOut]:
    rows = deployments.list_deploys(session, user, organization_id, deployment)
    return [deploy_out(d) for d in rows]


@router.post(
    "/{deployment}/deploys",
    responses=error_responses(409),
    response_model=DeployOut,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def create_deploy(
    organization_id: str,
    deployment: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    kind: Annotated[str, Query(max_length=10)] = "dags",
    description: Annotated[str, Query(max_length=500)] = "",
    content_length: Annotated[int | None, Header()] = None,
) -> DeployOut:
    """Upload a code bundle (the body: a .tar.gz of dags/, or a full project with
    ``kind=full``). It is checked and switched to by the worker; poll the deploy."""
    limit = settings.max_bundle_bytes
    if content_length is not None and content_length > limit:
        raise InvalidInput(
            f"bundle: {content_length} bytes is over the {limit}-byte limit; keep data files "
            "out of dags/ or raise FLIGHTDECK_MAX_BUNDLE_BYTES",
            field="bundle",
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise InvalidInput(
                f"bundle: over the {limit}-byte limit; keep data files out of dags/",
                field="bundle",
            )
    deploy = await run_in_threadpool(
        deployments.submit_deploy,
        session,
        user,
        organization_id,
        deployment,
        bytes(body),
        kind=kind,
        description=description,
        settings=settings,
    )
    return deploy_out(deploy)


@router.post(
    "/{deployment}/rollback",
    responses=error_responses(409),
    response_model=DeployOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def rollback(
    organization_id: str,
    deployment: str,
    body: RollbackIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> DeployOut:
    """A new deploy of an earlier deploy's kept bundle, checked and switched to like an
    upload; poll it as any deploy."""
    return deploy_out(
        deployments.rollback(
            session,
            user,
            organization_id,
            deployment,
            body.deploy,
            description=body.description,
            settings=settings,
        )
    )


@router.get("/{deployment}/deploys/{deploy}", response_model=DeployOut)
def show_deploy(
    organization_id: str, deployment: str, deploy: str, user: CurrentUser, session: SessionDep
) -> DeployOut:
    return deploy_out(deployments.get_deploy(session, user, organization_id, deployment, deploy))

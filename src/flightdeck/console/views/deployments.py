"""Deployments: create on one of the organization's Active clusters, status live,
environment variables (secret ones only as "set"), deploy history, Open Airflow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData

from flightdeck.console import data, security
from flightdeck.console.pages import (
    DbDep,
    FormDep,
    UserDep,
    field,
    org_context,
    redirect,
    render,
)

router = APIRouter(prefix="/o/{organization_id}/deployments")

SETTLED_PHASES = ("Healthy", "Unhealthy", "Deleted", "Failed")
NUMBER_FIELDS = ("scheduler_count", "min_workers", "max_workers", "tasks_per_worker")


def _defaults() -> dict[str, str]:
    request = data.deployments.DeploymentRequest(name="", workspace="", cluster="")
    return {
        "name": "",
        "workspace": "",
        "cluster": "",
        "airflow_version": data.DEFAULT_AIRFLOW_VERSION,
        "executor": request.executor,
        "scheduler_size": request.scheduler_size,
        **{name: str(getattr(request, name)) for name in NUMBER_FIELDS},
        "environment": "",
        "secret_environment": "",
    }


def _values(form: FormData) -> dict[str, str]:
    return {key: field(form, key, default) for key, default in _defaults().items()}


def parse_env(text: str, field_name: str) -> dict[str, str]:
    """``KEY=value`` lines (blank lines and ``#`` comments ignored)."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise data.InvalidInput(
                f"{field_name}: line {number} is not KEY=value; write one variable per line",
                field=field_name,
            )
        env[key.strip()] = value.strip()
    return env


def _number(values: dict[str, str], name: str) -> int:
    try:
        return int(values[name])
    except ValueError:
        raise data.InvalidInput(f"{name}: must be a whole number", field=name) from None


def _new_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    values: dict[str, str],
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = org_context(session, user, organization_id)
    active = [
        c
        for c in data.clusters.list_clusters(session, user, organization_id)
        if c.phase == "Active" and c.desired_state == "present"
    ]
    return render(
        request,
        "deployment_new.html",
        status=status,
        user=user,
        ctx=ctx,
        section="deployments",
        title="Create a Deployment",
        clusters=active,
        workspaces=data.workspaces.list_workspaces(session, user, organization_id),
        executors=data.EXECUTORS,
        scheduler_sizes=data.SCHEDULER_SIZES,
        values=values,
        **extra,
    )


@router.get("")
def deployment_list(
    organization_id: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    rows = data.deployments.list_deployments(session, user, organization_id)
    # Only the names: every member may list the organization's clusters (org_context
    # checked membership), and their status documents are not needed here.
    names = dict(
        session.execute(
            select(data.Cluster.id, data.Cluster.name).where(
                data.Cluster.organization_id == organization_id
            )
        ).tuples().all()
    )
    return render(
        request,
        "deployments.html",
        user=user,
        ctx=ctx,
        section="deployments",
        title="Deployments",
        deployments=rows,
        cluster_names=names,
    )


@router.get("/new")
def new_deployment(
    organization_id: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    return _new_page(request, user, session, organization_id, _defaults())


@router.post("")
def create_deployment(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    values = _values(form)
    try:
        deployment = data.deployments.create_deployment(
            session,
            user,
            organization_id,
            data.deployments.DeploymentRequest(
                name=values["name"],
                workspace=values["workspace"],
                cluster=values["cluster"],
                airflow_version=values["airflow_version"],
                executor=values["executor"],
                scheduler_size=values["scheduler_size"],
                **{name: _number(values, name) for name in NUMBER_FIELDS},
                environment=parse_env(values["environment"], "environment"),
                secret_environment=parse_env(values["secret_environment"], "secret_environment"),
            ),
            security.settings_of(request),
        )
    except (data.InvalidInput, data.Conflict, data.NotFound) as exc:
        values["secret_environment"] = ""  # a secret is never sent back to the browser
        return _new_page(
            request,
            user,
            session,
            organization_id,
            values,
            status=422,
            error=exc.message,
            error_field=exc.field,
        )
    return redirect(request, f"/o/{organization_id}/deployments/{deployment.id}")


def _deployment_view(
    request: Request, session: DbDep, user: data.User, organization_id: str, ref: str
) -> dict[str, Any]:
    deployment = data.deployments.get_deployment(session, user, organization_id, ref)
    cluster = session.get(data.Cluster, deployment.cluster_id)
    settings = security.settings_of(request)
    return {
        "deployment": deployment,
        "cluster_name": cluster.name if cluster else deployment.cluster_id,
        "environment": dict(deployment.spec.get("environment", {})),
        "secret_keys": sorted(deployment.secret_environment),
        "airflow_url": deployment.status.get("url"),
        "components": dict(deployment.status.get("components") or {}),
        "deployment_dir": settings.deployments_dir / deployment.id,
        "live": deployment.phase not in SETTLED_PHASES,
    }


@router.get("/{deployment}")
def deployment_page(
    organization_id: str, deployment: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    view = _deployment_view(request, session, user, organization_id, deployment)
    deploys = data.deployments.list_deploys(session, user, organization_id, deployment)
    return render(
        request,
        "deployment.html",
        user=user,
        ctx=ctx,
        section="deployments",
        title=f"Deployment {view['deployment'].name}",
        deploys=deploys,
        **view,
    )


@router.get("/{deployment}/_live")
def deployment_live(
    organization_id: str, deployment: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    view = _deployment_view(request, session, user, organization_id, deployment)
    return render(request, "deployment_live.html", user=user, ctx=ctx, **view)


@router.get("/{deployment}/delete")
def confirm_delete(
    organization_id: str, deployment: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    record = data.deployments.get_deployment(session, user, organization_id, deployment)
    return render(
        request,
        "deployment_delete.html",
        user=user,
        ctx=ctx,
        section="deployments",
        title=f"Delete {record.name}",
        deployment=record,
    )


@router.post("/{deployment}/delete")
def delete_deployment(
    organization_id: str,
    deployment: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    ctx = org_context(session, user, organization_id)
    record = data.deployments.get_deployment(session, user, organization_id, deployment)
    if field(form, "confirm_name") != record.name:
        return render(
            request,
            "deployment_delete.html",
            status=422,
            user=user,
            ctx=ctx,
            section="deployments",
            title=f"Delete {record.name}",
            deployment=record,
            error=f"confirm_name: type the Deployment's name, {record.name}, to delete it",
        )
    data.deployments.request_deletion(session, user, organization_id, record.id)
    return redirect(request, f"/o/{organization_id}/deployments/{record.id}")

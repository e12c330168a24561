"""Clusters: a create form built from the reference table, preflight, the plan, live
progress and timeline, and deletion with confirmation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
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

router = APIRouter(prefix="/o/{organization_id}/clusters")

SETTLED_PHASES = ("Active", "Failed", "Deleted")  # live parts stop polling here


def _form_values(form: FormData | None) -> dict[str, str]:
    ref = data.reference
    defaults = {
        "account": "",
        "name": "",
        "region": ref.DEFAULT_REGION,
        "node_instance_type": ref.DEFAULT_NODE_INSTANCE_TYPE,
        "max_nodes": str(ref.DEFAULT_MAX_NODES),
        "db_instance_type": ref.DEFAULT_DB_INSTANCE_TYPE,
        "vpc_cidr": ref.DEFAULT_VPC_CIDR,
        "force": "",
    }
    if form is None:
        return defaults
    return {key: field(form, key, default) or default for key, default in defaults.items()}


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
    accounts = data.onboarding.list_accounts(session, user, organization_id)
    ref = data.reference
    return render(
        request,
        "cluster_new.html",
        status=status,
        user=user,
        ctx=ctx,
        section="clusters",
        title="Create a cluster",
        accounts=[a for a in accounts if a.status == "verified"],
        regions=ref.REGIONS,
        node_instance_types=ref.NODE_INSTANCE_TYPES,
        db_instance_types=ref.DB_INSTANCE_TYPES,
        max_nodes_limit=ref.MAX_NODES_LIMIT,
        values=values,
        **extra,
    )


def _max_nodes(values: dict[str, str]) -> int:
    try:
        return int(values["max_nodes"])
    except ValueError:
        raise data.InvalidInput(
            f"max_nodes: must be a whole number between 1 and {data.reference.MAX_NODES_LIMIT}",
            field="max_nodes",
        ) from None


@router.get("")
def cluster_list(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    ctx = org_context(session, user, organization_id)
    rows = data.clusters.list_clusters(session, user, organization_id)
    return render(
        request,
        "clusters.html",
        user=user,
        ctx=ctx,
        section="clusters",
        title="Clusters",
        clusters=rows,
        live=any(c.phase not in SETTLED_PHASES for c in rows),
    )


@router.get("/_rows")
def cluster_rows(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    """The list's rows alone, for the page's live update."""
    ctx = org_context(session, user, organization_id)
    rows = data.clusters.list_clusters(session, user, organization_id)
    return render(
        request,
        "cluster_rows.html",
        user=user,
        ctx=ctx,
        clusters=rows,
        live=any(c.phase not in SETTLED_PHASES for c in rows),
    )


@router.get("/new")
def new_cluster(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    data.access.require_owner(session, user, organization_id)
    return _new_page(request, user, session, organization_id, _form_values(None))


@router.post("/preflight")
def preflight(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    values = _form_values(form)
    try:
        results = data.onboarding.run_preflight(
            session,
            user,
            organization_id,
            values["account"],
            region=values["region"],
            sessions=security.sessions_of(request),
            vpc_cidr=values["vpc_cidr"],
        )
    except (data.InvalidInput, data.NotFound) as exc:
        return _new_page(
            request, user, session, organization_id, values, status=422, error=exc.message
        )
    return _new_page(
        request,
        user,
        session,
        organization_id,
        values,
        preflight=results,
        preflight_verdict=data.overall(results),
    )


@router.post("")
def create_cluster(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    values = _form_values(form)
    try:
        cluster = data.clusters.request_cluster(
            session,
            user,
            organization_id,
            data.clusters.ClusterRequest(
                account=values["account"],
                name=values["name"],
                region=values["region"],
                node_instance_type=values["node_instance_type"],
                max_nodes=_max_nodes(values),
                db_instance_type=values["db_instance_type"],
                vpc_cidr=values["vpc_cidr"],
                force=values["force"] == "yes",
            ),
            security.sessions_of(request),
        )
    except data.clusters.PreflightFailed as exc:
        checks = [data.CheckResult(**c) for c in (exc.details or {}).get("checks", [])]
        return _new_page(
            request,
            user,
            session,
            organization_id,
            values,
            status=422,
            error=exc.message,
            preflight=checks,
            preflight_verdict=data.overall(checks),
        )
    except (data.InvalidInput, data.Conflict, data.NotFound) as exc:
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
    return redirect(request, f"/o/{organization_id}/clusters/{cluster.id}")


def _cluster_view(
    session: DbDep, user: data.User, organization_id: str, ref: str
) -> dict[str, Any]:
    cluster = data.clusters.get_cluster(session, user, organization_id, ref)
    events = data.clusters.cluster_events(session, user, organization_id, cluster.id)
    conditions = dict(cluster.status.get("conditions", {}))
    return {
        "cluster": cluster,
        "conditions": conditions,
        "events": list(reversed(events)),
        "live": cluster.phase not in SETTLED_PHASES,
    }


@router.get("/{cluster}")
def cluster_page(
    organization_id: str, cluster: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    view = _cluster_view(session, user, organization_id, cluster)
    return render(
        request,
        "cluster.html",
        user=user,
        ctx=ctx,
        section="clusters",
        title=f"Cluster {view['cluster'].name}",
        **view,
    )


@router.get("/{cluster}/_live")
def cluster_live(
    organization_id: str, cluster: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    """The cluster's status, resources and timeline alone, for the page's live update."""
    ctx = org_context(session, user, organization_id)
    view = _cluster_view(session, user, organization_id, cluster)
    return render(request, "cluster_live.html", user=user, ctx=ctx, **view)


@router.get("/{cluster}/plan")
def cluster_plan(
    organization_id: str, cluster: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    record = data.clusters.get_cluster(session, user, organization_id, cluster)
    changes = data.provisioning.plan(
        session, user, organization_id, record.id, security.sessions_of(request)
    )
    return render(
        request,
        "cluster_plan.html",
        user=user,
        ctx=ctx,
        section="clusters",
        title=f"Plan for {record.name}",
        cluster=record,
        changes=changes,
    )


@router.get("/{cluster}/delete")
def confirm_delete(
    organization_id: str, cluster: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    data.access.require_owner(session, user, organization_id)
    record = data.clusters.get_cluster(session, user, organization_id, cluster)
    return render(
        request,
        "cluster_delete.html",
        user=user,
        ctx=ctx,
        section="clusters",
        title=f"Delete {record.name}",
        cluster=record,
    )


@router.post("/{cluster}/delete")
def delete_cluster(
    organization_id: str,
    cluster: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    ctx = org_context(session, user, organization_id)
    record = data.clusters.get_cluster(session, user, organization_id, cluster)
    if field(form, "confirm_name") != record.name:
        data.access.require_owner(session, user, organization_id)
        return render(
            request,
            "cluster_delete.html",
            status=422,
            user=user,
            ctx=ctx,
            section="clusters",
            title=f"Delete {record.name}",
            cluster=record,
            error=f"confirm_name: type the cluster's name, {record.name}, to delete it",
        )
    data.clusters.request_deletion(session, user, organization_id, record.id)
    return redirect(request, f"/o/{organization_id}/clusters/{record.id}")

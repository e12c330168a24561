"""Clusters: a create form built from the reference table, preflight, the plan, live
progress and timeline, and deletion with confirmation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from flightdeck.console import data, security
from flightdeck.console.pages import Confirmation, FormDep, OrgDep, OrgPage, field, refusal
from flightdeck.services.costs import cluster_cost_of

router = APIRouter(prefix="/o/{organization_id}/clusters")

SECTION = "clusters"
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


def _new_page(page: OrgPage, values: dict[str, str], **extra: Any) -> Response:
    accounts = data.onboarding.list_accounts(page.session, page.user, page.org_id)
    ref = data.reference
    return page.render(
        "cluster_new.html",
        section=SECTION,
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


def _rows(page: OrgPage) -> dict[str, Any]:
    rows = data.clusters.list_clusters(page.session, page.user, page.org_id)
    return {"clusters": rows, "live": any(c.phase not in SETTLED_PHASES for c in rows)}


@router.get("")
def cluster_list(page: OrgDep) -> Response:
    return page.render("clusters.html", section=SECTION, title="Clusters", **_rows(page))


@router.get("/_rows")
def cluster_rows(page: OrgDep) -> Response:
    """The list's rows alone, for the page's live update."""
    return page.render("cluster_rows.html", **_rows(page))


@router.get("/new")
def new_cluster(page: OrgDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    return _new_page(page, _form_values(None))


@router.post("/preflight")
def preflight(page: OrgDep, form: FormDep) -> Response:
    values = _form_values(form)
    try:
        results = data.onboarding.run_preflight(
            page.session,
            page.user,
            page.org_id,
            values["account"],
            region=values["region"],
            sessions=security.sessions_of(page.request),
            vpc_cidr=values["vpc_cidr"],
        )
    except (data.InvalidInput, data.NotFound) as exc:
        return _new_page(page, values, **refusal(exc))
    return _new_page(page, values, preflight=results, preflight_verdict=data.overall(results))


@router.post("")
def create_cluster(page: OrgDep, form: FormDep) -> Response:
    values = _form_values(form)

    def create() -> str:
        cluster = data.clusters.request_cluster(
            page.session,
            page.user,
            page.org_id,
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
            security.sessions_of(page.request),
        )
        return f"/clusters/{cluster.id}"

    def redisplay(*, details: dict[str, Any] | None = None, **refused: Any) -> Response:
        # A failed preflight names its checks: the form shows them with their remedies.
        checks = [data.CheckResult(**c) for c in (details or {}).get("checks", [])]
        if checks:
            refused.update(preflight=checks, preflight_verdict=data.overall(checks))
        return _new_page(page, values, **refused)

    return page.submit(create, redisplay, refused=(data.InvalidInput, data.Conflict, data.NotFound))


def _cluster_view(page: OrgPage, ref: str) -> dict[str, Any]:
    cluster = data.clusters.get_cluster(page.session, page.user, page.org_id, ref)
    events = data.clusters.cluster_events(page.session, page.user, page.org_id, cluster.id)
    return {
        "cluster": cluster,
        "conditions": dict(cluster.status.get("conditions", {})),
        "events": list(reversed(events)),
        "live": cluster.phase not in SETTLED_PHASES,
        "cost": cluster_cost_of(cluster),
    }


@router.get("/{cluster}")
def cluster_page(cluster: str, page: OrgDep) -> Response:
    view = _cluster_view(page, cluster)
    peerings = data.peerings.list_peerings(page.session, page.user, page.org_id, cluster)
    return page.render(
        "cluster.html",
        section=SECTION,
        title=f"Cluster {view['cluster'].name}",
        peerings=peerings,
        **view,
    )


@router.get("/{cluster}/_live")
def cluster_live(cluster: str, page: OrgDep) -> Response:
    """The cluster's status, resources and timeline alone, for the page's live update."""
    return page.render("cluster_live.html", **_cluster_view(page, cluster))


@router.get("/{cluster}/plan")
def cluster_plan(cluster: str, page: OrgDep) -> Response:
    record = data.clusters.get_cluster(page.session, page.user, page.org_id, cluster)
    changes = data.provisioning.plan(
        page.session, page.user, page.org_id, record.id, security.sessions_of(page.request)
    )
    return page.render(
        "cluster_plan.html",
        section=SECTION,
        title=f"Plan for {record.name}",
        cluster=record,
        changes=changes,
    )


def _confirmation(page: OrgPage, ref: str) -> tuple[data.Cluster, Confirmation]:
    record = data.clusters.get_cluster(page.session, page.user, page.org_id, ref)
    return record, Confirmation(
        kind="cluster",
        name=record.name,
        path=f"/clusters/{record.id}",
        consequence="Every AWS resource flightdeck created for this cluster is removed. "
        "Deployments on it stop working. This cannot be undone.",
    )


@router.get("/{cluster}/delete")
def confirm_delete(cluster: str, page: OrgDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    return page.confirm(_confirmation(page, cluster)[1], section=SECTION)


@router.post("/{cluster}/delete")
def delete_cluster(cluster: str, page: OrgDep, form: FormDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    record, confirmation = _confirmation(page, cluster)
    return page.delete_confirmed(
        form,
        confirmation,
        lambda: data.clusters.request_deletion(page.session, page.user, page.org_id, record.id),
        section=SECTION,
    )

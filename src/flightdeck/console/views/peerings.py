"""A cluster's VPC peerings: the request form (validated by the same use case as the API),
each peering's status with the commands its peer account runs, and deletion with the
shared confirmation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from flightdeck.console import data
from flightdeck.console.pages import Confirmation, FormDep, OrgDep, OrgPage, field

router = APIRouter(prefix="/o/{organization_id}/clusters/{cluster}/peerings")

SECTION = "clusters"
_FIELDS = ("name", "peer_account_id", "peer_region", "peer_vpc_id", "peer_cidrs", "dns", "ingress")


def _values(form: FormData | None) -> dict[str, str]:
    values = dict.fromkeys(_FIELDS, "")
    values["peer_region"] = data.reference.DEFAULT_REGION
    if form is not None:
        values.update({key: field(form, key, "") for key in _FIELDS})
    return values


def _split(text: str) -> list[str]:
    """Entries separated by commas, spaces or lines (DNS entries: one a line)."""
    return [part for part in text.replace(",", " ").split() if part]


def _request_arguments(values: dict[str, str]) -> dict[str, Any]:
    try:
        lines = [line for line in values["dns"].splitlines() if line.strip()]
        dns = [data.peering_request.parse_dns(line) for line in lines]
        ingress = [data.peering_request.parse_ingress(e) for e in _split(values["ingress"])]
    except data.peering_request.InvalidPeering as exc:
        raise data.InvalidInput(str(exc), field=exc.field) from None
    return {
        "name": values["name"],
        "peer_account_id": values["peer_account_id"],
        "peer_region": values["peer_region"],
        "peer_vpc_id": values["peer_vpc_id"],
        "peer_cidrs": _split(values["peer_cidrs"]),
        "dns": dns,
        "ingress": ingress,
    }


def _form(page: OrgPage, cluster: data.Cluster, values: dict[str, str], **extra: Any) -> Response:
    return page.render(
        "peering_new.html",
        section=SECTION,
        title=f"Request a peering for {cluster.name}",
        cluster=cluster,
        regions=data.reference.REGIONS,
        targets=[t.value for t in data.peering_request.IngressTarget],
        values=values,
        **extra,
    )


@router.get("/new")
def new_peering(cluster: str, page: OrgDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    record = data.clusters.get_cluster(page.session, page.user, page.org_id, cluster)
    return _form(page, record, _values(None))


@router.post("")
def create_peering(cluster: str, page: OrgDep, form: FormDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    record = data.clusters.get_cluster(page.session, page.user, page.org_id, cluster)
    values = _values(form)

    def create() -> str:
        peering = data.peerings.request_peering(
            page.session, page.user, page.org_id, record.id, **_request_arguments(values)
        )
        return f"/clusters/{record.id}/peerings/{peering.id}"

    def redisplay(**refused: Any) -> Response:
        return _form(page, record, values, **refused)

    return page.submit(create, redisplay, refused=(data.InvalidInput, data.Conflict))


@router.get("/{peering}")
def peering_page(cluster: str, peering: str, page: OrgDep) -> Response:
    record = data.clusters.get_cluster(page.session, page.user, page.org_id, cluster)
    row = data.peerings.get_peering(page.session, page.user, page.org_id, record.id, peering)
    commands = None
    if row.aws_peering_id:
        request = data.peering_pass.request_of(row)
        commands = data.peering_request.customer_commands(row.aws_peering_id, request)
    return page.render(
        "peering.html",
        section=SECTION,
        title=f"Peering {row.name}",
        cluster=record,
        peering=row,
        commands=commands,
    )


def _confirmation(page: OrgPage, cluster: str, peering: str) -> tuple[str, Confirmation]:
    record = data.clusters.get_cluster(page.session, page.user, page.org_id, cluster)
    row = data.peerings.get_peering(page.session, page.user, page.org_id, record.id, peering)
    return record.id, Confirmation(
        kind="peering",
        name=row.name,
        path=f"/clusters/{record.id}/peerings/{row.id}",
        consequence="The peering connection, the cluster's routes and security-group rules for "
        "it, and its DNS forwarding are removed. Your side keeps its own routes until you "
        "remove them.",
    )


@router.get("/{peering}/delete")
def confirm_delete(cluster: str, peering: str, page: OrgDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    return page.confirm(_confirmation(page, cluster, peering)[1], section=SECTION)


@router.post("/{peering}/delete")
def delete_peering(cluster: str, peering: str, page: OrgDep, form: FormDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    cluster_id, confirmation = _confirmation(page, cluster, peering)
    return page.delete_confirmed(
        form,
        confirmation,
        lambda: data.peerings.request_peering_deletion(
            page.session, page.user, page.org_id, cluster_id, peering
        ),
        section=SECTION,
    )

"""Clusters: request (after preflight), watch, plan, delete; and their timelines."""

from __future__ import annotations

from fastapi import APIRouter, status

from flightdeck.api.deps import AwsDep, CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    ClusterCreateIn,
    ClusterEventOut,
    ClusterOut,
    CostOut,
    PeeringCreateIn,
    PeeringOut,
    PlannedChangeOut,
)
from flightdeck.aws.provision.status import ClusterStatus
from flightdeck.db.models import Cluster
from flightdeck.services import costs
from flightdeck.services.clusters import engine as provisioning
from flightdeck.services.clusters import peerings
from flightdeck.services.clusters import requests as clusters

router = APIRouter(
    prefix="/organizations/{organization_id}/clusters",
    tags=["clusters"],
    responses=error_responses(401, 403, 404, 422, 502, 503),
)


def cluster_out(cluster: Cluster) -> ClusterOut:
    return ClusterOut(
        id=cluster.id,
        organization_id=cluster.organization_id,
        name=cluster.name,
        region=cluster.region,
        account_id=str(cluster.spec.get("account_id", "")),
        spec=cluster.spec,
        phase=cluster.phase,
        desired_state=cluster.desired_state,
        conditions=dict(ClusterStatus.from_json(cluster.status).conditions_json()),
        last_error=cluster.last_error,
        generation=cluster.generation,
        observed_generation=cluster.observed_generation,
        created_at=cluster.created_at,
        updated_at=cluster.updated_at,
        cost=cost_out(costs.cluster_cost_of(cluster)),
    )


def cost_out(note: costs.CostNote | None) -> CostOut | None:
    return None if note is None else CostOut.model_validate(note.as_json())


@router.get("", response_model=list[ClusterOut])
def list_clusters(organization_id: str, user: CurrentUser, session: SessionDep) -> list[ClusterOut]:
    return [cluster_out(c) for c in clusters.list_clusters(session, user, organization_id)]


@router.post(
    "",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=ClusterOut,
)
def create_cluster(
    organization_id: str,
    body: ClusterCreateIn,
    user: CurrentUser,
    session: SessionDep,
    sessions: AwsDep,
    settings: SettingsDep,
) -> ClusterOut:
    request = clusters.ClusterRequest(
        **body.model_dump(), db_final_snapshot=settings.rds_final_snapshot
    )
    return cluster_out(clusters.request_cluster(session, user, organization_id, request, sessions))


@router.get("/{cluster}", response_model=ClusterOut)
def show_cluster(
    organization_id: str, cluster: str, user: CurrentUser, session: SessionDep
) -> ClusterOut:
    return cluster_out(clusters.get_cluster(session, user, organization_id, cluster))


@router.get("/{cluster}/events", response_model=list[ClusterEventOut])
def cluster_events(
    organization_id: str, cluster: str, user: CurrentUser, session: SessionDep
) -> list[ClusterEventOut]:
    return [
        ClusterEventOut.model_validate(e)
        for e in clusters.cluster_events(session, user, organization_id, cluster)
    ]


@router.get("/{cluster}/plan", response_model=list[PlannedChangeOut])
def plan_cluster(
    organization_id: str, cluster: str, user: CurrentUser, session: SessionDep, sessions: AwsDep
) -> list[PlannedChangeOut]:
    """What a reconcile (or, for a cluster being deleted, a deletion) would change.
    Read-only: only describe calls are made."""
    changes = provisioning.plan(session, user, organization_id, cluster, sessions)
    return [PlannedChangeOut.model_validate(c) for c in changes]


@router.delete("/{cluster}", response_model=ClusterOut, status_code=status.HTTP_202_ACCEPTED)
def delete_cluster(
    organization_id: str,
    cluster: str,
    user: CurrentUser,
    session: SessionDep,
    delete_deployments: bool = False,
) -> ClusterOut:
    """Refused (409, naming them) while Deployments live on the cluster, unless
    ``delete_deployments`` asks to delete them first."""
    return cluster_out(
        clusters.request_deletion(
            session, user, organization_id, cluster, delete_deployments=delete_deployments
        )
    )


@router.get("/{cluster}/peerings", response_model=list[PeeringOut])
def list_peerings(
    organization_id: str, cluster: str, user: CurrentUser, session: SessionDep
) -> list[PeeringOut]:
    return [
        PeeringOut.model_validate(p)
        for p in peerings.list_peerings(session, user, organization_id, cluster)
    ]


@router.post(
    "/{cluster}/peerings",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=PeeringOut,
)
def create_peering(
    organization_id: str,
    cluster: str,
    body: PeeringCreateIn,
    user: CurrentUser,
    session: SessionDep,
) -> PeeringOut:
    """Validated in full (RFC 1918, no overlap with the cluster or its other peerings)
    before it is recorded; the peering pass then creates it through the role."""
    data = body.model_dump()
    peering = peerings.request_peering(session, user, organization_id, cluster, **data)
    return PeeringOut.model_validate(peering)


@router.get("/{cluster}/peerings/{peering}", response_model=PeeringOut)
def show_peering(
    organization_id: str, cluster: str, peering: str, user: CurrentUser, session: SessionDep
) -> PeeringOut:
    return PeeringOut.model_validate(
        peerings.get_peering(session, user, organization_id, cluster, peering)
    )


@router.delete(
    "/{cluster}/peerings/{peering}",
    response_model=PeeringOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def delete_peering(
    organization_id: str, cluster: str, peering: str, user: CurrentUser, session: SessionDep
) -> PeeringOut:
    return PeeringOut.model_validate(
        peerings.request_peering_deletion(session, user, organization_id, cluster, peering)
    )

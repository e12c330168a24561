"""VPC peerings of a cluster: requested and deleted here, created on AWS by the peering pass.

A request is validated in full (see :mod:`flightdeck.aws.peering_request`) before it is
recorded, so an overlapping or malformed peering never reaches AWS. Owners request and
delete; every member of the organization may read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws import peering_request
from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, ClusterPeering, User
from flightdeck.db.types import utcnow
from flightdeck.phases import LIVE_PEERING_PHASES, ClusterPhase, PeeringPhase
from flightdeck.services import audit
from flightdeck.services.access import require_owner
from flightdeck.services.clusters.peering_gate import peering_refusal
from flightdeck.services.clusters.requests import get_cluster
from flightdeck.services.errors import Conflict, InvalidInput, NotFound
from flightdeck.services.validation import check_name

LIVE_PHASES = LIVE_PEERING_PHASES


def live_peerings(session: Session, cluster_id: str) -> list[ClusterPeering]:
    return list(
        session.scalars(
            select(ClusterPeering)
            .where(ClusterPeering.cluster_id == cluster_id, ClusterPeering.phase.in_(LIVE_PHASES))
            .order_by(ClusterPeering.created_at)
        )
    )


def request_peering(
    session: Session,
    user: User,
    organization_id: str,
    cluster_ref: str,
    *,
    name: str,
    peer_account_id: str,
    peer_region: str,
    peer_vpc_id: str,
    peer_cidrs: Sequence[str],
    dns: Iterable[Mapping[str, Any]] = (),
    ingress: Iterable[Mapping[str, Any]] = (),
    now: datetime | None = None,
) -> ClusterPeering:
    """Validate, check the role may make peerings yet (``now``: the clock, for tests), record."""
    require_owner(session, user, organization_id)
    cluster = get_cluster(session, user, organization_id, cluster_ref)
    if cluster.desired_state == "absent" or cluster.phase in (
        ClusterPhase.DELETING,
        ClusterPhase.DELETED,
    ):
        raise Conflict(
            f"cluster {cluster.name!r} is {cluster.phase}; peerings can be requested only on "
            "a cluster that is not being deleted"
        )
    name = check_name(name, "name")
    others = live_peerings(session, cluster.id)
    if any(p.name == name for p in others):
        raise Conflict(
            f"name: cluster {cluster.name!r} already has a peering named {name!r}; choose another",
            field="name",
        )
    try:
        request = peering_request.validate(
            peer_account_id=peer_account_id,
            peer_region=peer_region,
            peer_vpc_id=peer_vpc_id,
            peer_cidrs=peer_cidrs,
            dns=dns,
            ingress=ingress,
            cluster_cidr=str(cluster.spec.get("vpc_cidr", "")),
            other_peerings={p.name: p.spec.get("peer_cidrs", []) for p in others},
        )
    except peering_request.InvalidPeering as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    account = session.get(AwsAccount, cluster.aws_account_ref)
    assert account is not None
    refusal = peering_refusal(session, account, now or utcnow())
    if refusal is not None:
        raise Conflict(refusal)
    peering = ClusterPeering(
        cluster_id=cluster.id,
        name=name,
        spec=request.as_dict(),
        phase=PeeringPhase.REQUESTED,
        created_by=user.id,
    )
    session.add(peering)
    session.flush()
    cluster.next_reconcile_at = utcnow()  # the peering pass follows the cluster's next pass
    session.add(
        ClusterEvent(
            cluster_id=cluster.id,
            step="peering",
            action="peering-requested",
            resource=name,
            message=f"peering {name} to {request.peer_vpc_id} ({request.peer_account_id}, "
            f"{request.peer_region}) requested by {user.email}",
        )
    )
    audit.record(
        session,
        action="cluster.peering.create",
        actor=user,
        organization_id=organization_id,
        target=peering.id,
        detail={"cluster": cluster.id, "peer_vpc_id": request.peer_vpc_id},
    )
    session.commit()
    return peering


def list_peerings(
    session: Session, user: User, organization_id: str, cluster_ref: str
) -> list[ClusterPeering]:
    cluster = get_cluster(session, user, organization_id, cluster_ref)
    return list(
        session.scalars(
            select(ClusterPeering)
            .where(ClusterPeering.cluster_id == cluster.id)
            .order_by(ClusterPeering.created_at)
        )
    )


def get_peering(
    session: Session, user: User, organization_id: str, cluster_ref: str, ref: str
) -> ClusterPeering:
    """A peering of the cluster by id, or by name (the live one of that name, else the newest)."""
    cluster = get_cluster(session, user, organization_id, cluster_ref)
    return _find(session, cluster, ref)


def _find(session: Session, cluster: Cluster, ref: str) -> ClusterPeering:
    row = session.get(ClusterPeering, ref)
    if row is not None and row.cluster_id == cluster.id:
        return row
    rows = session.scalars(
        select(ClusterPeering)
        .where(ClusterPeering.cluster_id == cluster.id, ClusterPeering.name == ref)
        .order_by(ClusterPeering.created_at.desc())
    ).all()
    live = [r for r in rows if r.phase in LIVE_PHASES]
    if live or rows:
        return (live or list(rows))[0]
    raise NotFound(
        f"no peering {ref!r} on cluster {cluster.name!r}; see "
        f"`flightdeck cluster peering list {cluster.name}`"
    )


def request_peering_deletion(
    session: Session, user: User, organization_id: str, cluster_ref: str, ref: str
) -> ClusterPeering:
    """Mark the peering for deletion; the peering pass removes its routes and connection.
    One never created on AWS is deleted at once."""
    require_owner(session, user, organization_id)
    cluster = get_cluster(session, user, organization_id, cluster_ref)
    peering = _find(session, cluster, ref)
    if peering.desired_state == "absent":
        return peering
    peering.desired_state = "absent"
    peering.phase = PeeringPhase.DELETING if peering.aws_peering_id else PeeringPhase.DELETED
    session.add(
        ClusterEvent(
            cluster_id=cluster.id,
            step="peering",
            action="peering-delete",
            resource=peering.name,
            aws_id=peering.aws_peering_id,
            message=f"deletion of peering {peering.name} requested by {user.email}",
        )
    )
    audit.record(
        session,
        action="cluster.peering.delete",
        actor=user,
        organization_id=organization_id,
        target=peering.id,
    )
    peering.updated_at = utcnow()
    cluster.next_reconcile_at = utcnow()
    session.commit()
    return peering

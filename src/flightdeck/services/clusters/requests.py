"""Clusters: requested here, provisioned by the reconcile worker (services/clusters/worker.py).

A request only records the spec and makes the cluster due; nothing here waits on AWS
except the preflight checks that must pass before a request is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws import reference
from flightdeck.aws.checks import CheckResult, overall
from flightdeck.aws.session import SessionFactory
from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, Deployment, User
from flightdeck.db.types import utcnow
from flightdeck.services import audit, lookup, onboarding
from flightdeck.services.access import require_member, require_owner
from flightdeck.services.errors import Conflict, InvalidInput
from flightdeck.services.locks import lock_organization
from flightdeck.services.validation import check_name

TERMINAL_PHASES = ("Deleted",)


class PreflightFailed(InvalidInput):
    code = "preflight_failed"


@dataclass(frozen=True)
class ClusterRequest:
    account: str
    name: str
    region: str = reference.DEFAULT_REGION
    node_instance_type: str = reference.DEFAULT_NODE_INSTANCE_TYPE
    max_nodes: int = reference.DEFAULT_MAX_NODES
    db_instance_type: str = reference.DEFAULT_DB_INSTANCE_TYPE
    vpc_cidr: str = reference.DEFAULT_VPC_CIDR
    force: bool = False
    # From FLIGHTDECK_RDS_FINAL_SNAPSHOT, fixed for the cluster's life at its request.
    db_final_snapshot: bool = True


def _validated_spec(request: ClusterRequest, account: AwsAccount) -> dict[str, Any]:
    try:
        reference.check_region(request.region)
        reference.check_node_instance_type(request.node_instance_type)
        reference.check_db_instance_type(request.db_instance_type)
    except reference.UnsupportedValue as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    if not 1 <= request.max_nodes <= reference.MAX_NODES_LIMIT:
        raise InvalidInput(
            f"max_nodes: must be between 1 and {reference.MAX_NODES_LIMIT}", field="max_nodes"
        )
    return {
        "name": check_name(request.name, "name"),
        "account_id": account.account_id,
        "region": request.region,
        "node_instance_type": request.node_instance_type,
        "max_nodes": request.max_nodes,
        "db_instance_type": request.db_instance_type,
        "vpc_cidr": request.vpc_cidr,
        "db_final_snapshot": request.db_final_snapshot,
    }


def _gate_on_preflight(results: list[CheckResult], force: bool) -> None:
    verdict = overall(results)
    if verdict == "pass" or (verdict == "warn" and force):
        return
    failing = [r for r in results if r.status == ("fail" if verdict == "fail" else "warn")]
    summary = "; ".join(f"{r.name}: {r.message}" for r in failing)
    hint = "" if verdict == "fail" else " (warnings only: add --force to proceed anyway)"
    raise PreflightFailed(
        f"preflight {'failed' if verdict == 'fail' else 'has warnings'}: {summary}{hint}",
        field="preflight",
        details={"checks": [r.to_dict() for r in results]},
    )


def request_cluster(
    session: Session,
    user: User,
    organization_id: str,
    request: ClusterRequest,
    sessions: SessionFactory,
) -> Cluster:
    require_owner(session, user, organization_id)
    account = onboarding.get_account(session, user, organization_id, request.account)
    spec = _validated_spec(request, account)
    taken = session.scalar(
        select(Cluster.id).where(
            Cluster.organization_id == organization_id,
            Cluster.name == spec["name"],
            Cluster.phase.not_in(TERMINAL_PHASES),
        )
    )
    if taken is not None:
        raise Conflict(
            f"name: a cluster named {spec['name']!r} already exists; choose another name",
            field="name",
        )
    results = onboarding.run_preflight(
        session,
        user,
        organization_id,
        account.id,
        region=request.region,
        sessions=sessions,
        vpc_cidr=request.vpc_cidr,
    )
    _gate_on_preflight(results, request.force)
    cluster = Cluster(
        organization_id=organization_id,
        aws_account_ref=account.id,
        name=spec["name"],
        region=spec["region"],
        spec=spec,
        phase="Pending",
        created_by=user.id,
    )
    session.add(cluster)
    session.flush()
    session.add(
        ClusterEvent(
            cluster_id=cluster.id, action="requested", message=f"cluster requested by {user.email}"
        )
    )
    audit.record(
        session,
        action="cluster.create",
        actor=user,
        organization_id=organization_id,
        target=cluster.id,
        detail={"name": cluster.name, "region": cluster.region},
    )
    session.commit()
    return cluster


def list_clusters(session: Session, user: User, organization_id: str) -> list[Cluster]:
    require_member(session, user, organization_id)
    return list(
        session.scalars(
            select(Cluster)
            .where(Cluster.organization_id == organization_id)
            .order_by(Cluster.created_at)
        )
    )


def get_cluster(session: Session, user: User, organization_id: str, ref: str) -> Cluster:
    """A cluster by id, or by name (the live one of that name)."""
    require_member(session, user, organization_id)
    return lookup.by_id_or_name(
        session,
        Cluster,
        organization_id,
        ref,
        kind="cluster",
        list_command="flightdeck cluster list",
    )


def cluster_events(
    session: Session, user: User, organization_id: str, ref: str, limit: int = 500
) -> list[ClusterEvent]:
    cluster = get_cluster(session, user, organization_id, ref)
    return list(
        session.scalars(
            select(ClusterEvent)
            .where(ClusterEvent.cluster_id == cluster.id)
            .order_by(ClusterEvent.created_at)
            .limit(limit)
        )
    )


def request_deletion(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    *,
    delete_deployments: bool = False,
) -> Cluster:
    """Mark the cluster for deletion. Refused while Deployments live on it, unless asked to
    delete them first: they are marked for deletion, and the worker deletes the cluster's
    resources only once they are gone."""
    require_owner(session, user, organization_id)
    lock_organization(session, organization_id)  # no Deployment is created meanwhile
    cluster = get_cluster(session, user, organization_id, ref)
    if cluster.phase == "Deleted":
        return cluster
    live = live_deployments(session, cluster.id)
    if live and not delete_deployments:
        names = ", ".join(d.name for d in live)
        raise Conflict(
            f"cluster {cluster.name!r} still runs Deployments ({names}); delete them first, "
            "or delete them with the cluster (--delete-deployments)",
            details={"deployments": [d.name for d in live]},
        )
    for deployment in live:
        if deployment.desired_state != "absent":
            deployment.desired_state = "absent"
            deployment.phase = "Deleting"
            deployment.generation += 1
            deployment.next_reconcile_at = utcnow()
            audit.record(
                session,
                action="deployment.delete",
                actor=user,
                organization_id=organization_id,
                target=deployment.id,
                detail={"with_cluster": cluster.id},
            )
    if cluster.desired_state != "absent":
        cluster.desired_state = "absent"
        cluster.phase = "Deleting"
        cluster.generation += 1
        cluster.attempts = 0
        cluster.last_error = None
        cluster.next_reconcile_at = utcnow()
        session.add(
            ClusterEvent(
                cluster_id=cluster.id,
                action="delete-requested",
                message=f"deletion requested by {user.email}",
            )
        )
        audit.record(
            session,
            action="cluster.delete",
            actor=user,
            organization_id=organization_id,
            target=cluster.id,
        )
    session.commit()
    return cluster


def live_deployments(session: Session, cluster_id: str) -> list[Deployment]:
    """Deployments on the cluster that are not deleted yet."""
    return list(
        session.scalars(
            select(Deployment)
            .where(Deployment.cluster_id == cluster_id, Deployment.phase != "Deleted")
            .order_by(Deployment.name)
        )
    )

"""Deploy retention: which of a Deployment's deploys (record and bundle) are past the
``deploy_retention`` setting (see ``config.DeployRetention`` for the rule).

Pruning runs in the deployment worker after each finished deploy. The runtime's own copies
go first (no session is open meanwhile), then the records: a runtime that fails to remove a
copy leaves the records in place, so the next deploy tries again and nothing is orphaned.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from flightdeck.config import DeployRetention
from flightdeck.db.models import Deploy, Deployment
from flightdeck.db.types import utcnow
from flightdeck.phases import OPEN_DEPLOY_STATUSES, DeployStatus


def protected(session: Session, deployment: Deployment) -> set[str]:
    """The deploy serving now and the one `deploy rollback` (no id) would go back to."""
    keep = {deployment.current_deploy_id} if deployment.current_deploy_id else set()
    target = session.scalar(
        select(Deploy.id)
        .where(
            Deploy.deployment_id == deployment.id,
            Deploy.status == DeployStatus.SUCCEEDED,
            Deploy.bundle.is_not(None),
            Deploy.id != (deployment.current_deploy_id or ""),
        )
        .order_by(Deploy.created_at.desc())
        .limit(1)
    )
    if target is not None:
        keep.add(target)
    return keep


def prunable(session: Session, deployment_id: str, retention: DeployRetention) -> list[str]:
    """Ids of the finished deploys past ``retention``, oldest last; none if the Deployment
    is gone."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        return []
    keep = protected(session, deployment)
    oldest = utcnow() - timedelta(days=retention.days)
    rows = session.execute(
        select(Deploy.id, Deploy.status, Deploy.created_at)
        .where(Deploy.deployment_id == deployment_id)
        .order_by(Deploy.created_at.desc(), Deploy.id.desc())
    ).all()
    return [
        deploy_id
        for index, (deploy_id, status, created_at) in enumerate(rows)
        if deploy_id not in keep
        and status not in OPEN_DEPLOY_STATUSES
        and (index >= retention.deploys or created_at < oldest)
    ]


def remove(session: Session, deployment_id: str, deploy_ids: list[str]) -> int:
    """Delete the records (their bundles with them); returns how many went."""
    if not deploy_ids:
        return 0
    result = session.execute(
        delete(Deploy).where(Deploy.deployment_id == deployment_id, Deploy.id.in_(deploy_ids))
    )
    return int(getattr(result, "rowcount", 0) or 0)

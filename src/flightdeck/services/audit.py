"""The audit log: who did what, when. Never given secret values, only the fact of an action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import AuditEvent, User


def record(
    session: Session,
    *,
    action: str,
    actor: User | None,
    organization_id: str | None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_user_id=actor.id if actor else None,
        organization_id=organization_id,
        target=target,
        detail=detail or {},
    )
    session.add(event)
    return event


def list_events(session: Session, organization_id: str, limit: int = 100) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))

"""Governance of the cross-account role, the notification outbox and the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data
from flightdeck.console.pages import DbDep, UserDep, org_context, render

router = APIRouter(prefix="/o/{organization_id}")


@router.get("/governance")
def governance(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    ctx = org_context(session, user, organization_id)
    view = data.governance.list_changes(session, user, organization_id)
    pending = [(c, a) for c, a in view.changes if c.status in data.ACTIVE_POLICY_CHANGE_STATUSES]
    past = [(c, a) for c, a in view.changes if c.status not in data.ACTIVE_POLICY_CHANGE_STATUSES]
    return render(
        request,
        "governance.html",
        user=user,
        ctx=ctx,
        section="governance",
        title="Governance",
        view=view,
        pending=pending,
        past=past,
    )


@router.get("/notifications")
def notifications(
    organization_id: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    ctx = org_context(session, user, organization_id)
    rows = data.notifications.list_notifications(session, user, organization_id)
    return render(
        request,
        "notifications.html",
        user=user,
        ctx=ctx,
        section="notifications",
        title="Notifications",
        notifications=rows,
    )


@router.get("/audit")
def audit_log(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    ctx = org_context(session, user, organization_id)
    data.access.require_owner(session, user, organization_id)
    events = data.audit.list_events(session, organization_id)
    members = data.orgs.list_members(session, user, organization_id)
    emails = {m.user_id: m.user.email for m in members}
    return render(
        request,
        "audit.html",
        user=user,
        ctx=ctx,
        section="audit",
        title="Audit log",
        events=events,
        emails=emails,
    )

"""Who may see the organization's policy changes and role timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import Organization, User, Workspace, WorkspaceMembership
from flightdeck.services.access import org_membership, require_member
from flightdeck.services.errors import Forbidden


def require_owner_or_admin(session: Session, user: User, organization_id: str) -> Organization:
    """Organization Owners, and Workspace Admins of any of the organization's workspaces."""
    org = require_member(session, user, organization_id)
    if org_membership(session, user, organization_id).role == "owner":
        return org
    admin = session.scalar(
        select(WorkspaceMembership.id)
        .join(Workspace, Workspace.id == WorkspaceMembership.workspace_id)
        .where(
            Workspace.organization_id == organization_id,
            WorkspaceMembership.user_id == user.id,
            WorkspaceMembership.role == "admin",
        )
        .limit(1)
    )
    if admin is None:
        raise Forbidden("only Organization Owners and Workspace Admins can see policy changes")
    return org

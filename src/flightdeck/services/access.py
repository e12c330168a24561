"""Who may see and do what. Non-members get NotFound, members lacking a role get Forbidden."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import (
    Organization,
    OrganizationMembership,
    User,
    Workspace,
    WorkspaceMembership,
)
from flightdeck.services.errors import Forbidden, NotFound

ORG_ROLES = ("owner", "member")
WORKSPACE_ROLES = ("admin", "member")


def find_org_membership(
    session: Session, organization_id: str, user_id: str
) -> OrganizationMembership | None:
    return session.scalar(
        select(OrganizationMembership).where(
            OrganizationMembership.organization_id == organization_id,
            OrganizationMembership.user_id == user_id,
        )
    )


def find_workspace_membership(
    session: Session, workspace_id: str, user_id: str
) -> WorkspaceMembership | None:
    return session.scalar(
        select(WorkspaceMembership).where(
            WorkspaceMembership.workspace_id == workspace_id,
            WorkspaceMembership.user_id == user_id,
        )
    )


def org_membership(session: Session, user: User, organization_id: str) -> OrganizationMembership:
    membership = find_org_membership(session, organization_id, user.id)
    if membership is None:
        raise NotFound("organization not found")
    return membership


def require_member(session: Session, user: User, organization_id: str) -> Organization:
    org_membership(session, user, organization_id)
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("organization not found")
    return org


def require_owner(session: Session, user: User, organization_id: str) -> Organization:
    org = require_member(session, user, organization_id)
    if org_membership(session, user, organization_id).role != "owner":
        raise Forbidden("only Organization Owners can do this")
    return org


def workspace_role(session: Session, user: User, workspace_id: str) -> str | None:
    membership = find_workspace_membership(session, workspace_id, user.id)
    return membership.role if membership else None


def require_workspace(
    session: Session, user: User, organization_id: str, workspace_id: str, *, admin: bool = False
) -> Workspace:
    """A workspace the user may see (owners see all); with ``admin``, one they may manage."""
    membership = org_membership(session, user, organization_id)
    workspace = session.get(Workspace, workspace_id)
    if workspace is None or workspace.organization_id != organization_id:
        raise NotFound("workspace not found")
    if membership.role == "owner":
        return workspace
    role = workspace_role(session, user, workspace_id)
    if role is None:
        raise NotFound("workspace not found")
    if admin and role != "admin":
        raise Forbidden("only Workspace Admins and Organization Owners can do this")
    return workspace

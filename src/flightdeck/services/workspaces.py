"""Workspaces inside an organization and their members."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flightdeck.db.models import Deployment, User, Workspace, WorkspaceMembership
from flightdeck.services import audit
from flightdeck.services.access import (
    WORKSPACE_ROLES,
    find_org_membership,
    find_workspace_membership,
    org_membership,
    require_owner,
    require_workspace,
)
from flightdeck.services.errors import Conflict, InvalidInput, NotFound
from flightdeck.services.locks import lock_organization
from flightdeck.services.validation import check_choice, check_name


def list_workspaces(session: Session, user: User, organization_id: str) -> list[Workspace]:
    """Owners see every workspace; other members see the ones they belong to."""
    membership = org_membership(session, user, organization_id)
    query = select(Workspace).where(Workspace.organization_id == organization_id)
    if membership.role != "owner":
        query = query.join(WorkspaceMembership, WorkspaceMembership.workspace_id == Workspace.id)
        query = query.where(WorkspaceMembership.user_id == user.id)
    return list(session.scalars(query.order_by(Workspace.name)))


def create_workspace(session: Session, user: User, organization_id: str, name: str) -> Workspace:
    require_owner(session, user, organization_id)
    name = check_name(name, "name")
    # Under the organization's lock, so two requests cannot both find the name free; the
    # database's unique index on lower(name) backs this up.
    lock_organization(session, organization_id)
    existing = session.scalar(
        select(Workspace.name).where(
            Workspace.organization_id == organization_id,
            func.lower(Workspace.name) == name.lower(),
        )
    )
    if existing is not None:
        raise Conflict(
            f"name: a workspace named {existing!r} already exists (names are compared "
            "ignoring case and surrounding spaces); choose another name",
            field="name",
        )
    workspace = Workspace(organization_id=organization_id, name=name)
    session.add(workspace)
    session.flush()
    audit.record(
        session,
        action="workspace.create",
        actor=user,
        organization_id=organization_id,
        target=workspace.id,
    )
    session.commit()
    return workspace


def get_workspace(
    session: Session, user: User, organization_id: str, workspace_id: str
) -> Workspace:
    return require_workspace(session, user, organization_id, workspace_id)


def delete_workspace(session: Session, user: User, organization_id: str, workspace_id: str) -> None:
    workspace = require_workspace(session, user, organization_id, workspace_id, admin=True)
    deployments = session.scalars(
        select(Deployment).where(Deployment.workspace_id == workspace.id)
    ).all()
    live = sorted(d.name for d in deployments if d.phase != "Deleted")
    if live:
        raise Conflict(
            f"workspace {workspace.name!r} still has Deployments ({', '.join(live)}); "
            "delete them first with `flightdeck deployment delete`"
        )
    for deployment in deployments:  # deleted ones: their records go with the workspace
        session.delete(deployment)
    session.flush()
    session.delete(workspace)
    audit.record(
        session,
        action="workspace.delete",
        actor=user,
        organization_id=organization_id,
        target=workspace_id,
    )
    session.commit()


def list_workspace_members(
    session: Session, user: User, organization_id: str, workspace_id: str
) -> list[WorkspaceMembership]:
    require_workspace(session, user, organization_id, workspace_id)
    return list(
        session.scalars(
            select(WorkspaceMembership)
            .where(WorkspaceMembership.workspace_id == workspace_id)
            .order_by(WorkspaceMembership.created_at)
        )
    )


def set_workspace_member(
    session: Session,
    actor: User,
    organization_id: str,
    workspace_id: str,
    user_id: str,
    role: str,
) -> WorkspaceMembership:
    """Add an organization member to a workspace, or change their workspace role."""
    require_workspace(session, actor, organization_id, workspace_id, admin=True)
    check_choice(role, WORKSPACE_ROLES, "role")
    lock_organization(session, organization_id)
    require_workspace(session, actor, organization_id, workspace_id, admin=True)
    if find_org_membership(session, organization_id, user_id) is None:
        raise InvalidInput(
            "user_id: this user is not a member of the organization; invite them first",
            field="user_id",
        )
    membership = find_workspace_membership(session, workspace_id, user_id)
    if membership is None:
        membership = WorkspaceMembership(workspace_id=workspace_id, user_id=user_id, role=role)
        session.add(membership)
    else:
        if membership.role == "admin" and role != "admin":
            _ensure_another_admin_remains(session, workspace_id)
        membership.role = role
    audit.record(
        session,
        action="workspace.member.set",
        actor=actor,
        organization_id=organization_id,
        target=user_id,
        detail={"workspace_id": workspace_id, "role": role},
    )
    session.commit()
    return membership


def remove_workspace_member(
    session: Session, actor: User, organization_id: str, workspace_id: str, user_id: str
) -> None:
    require_workspace(session, actor, organization_id, workspace_id, admin=True)
    lock_organization(session, organization_id)
    require_workspace(session, actor, organization_id, workspace_id, admin=True)
    membership = find_workspace_membership(session, workspace_id, user_id)
    if membership is None:
        raise NotFound("member not found")
    if membership.role == "admin":
        _ensure_another_admin_remains(session, workspace_id)
    session.delete(membership)
    audit.record(
        session,
        action="workspace.member.remove",
        actor=actor,
        organization_id=organization_id,
        target=user_id,
        detail={"workspace_id": workspace_id},
    )
    session.commit()


def _ensure_another_admin_remains(session: Session, workspace_id: str) -> None:
    """A workspace that has an Admin keeps one; called with the organization locked."""
    admins = session.scalar(
        select(func.count()).where(
            WorkspaceMembership.workspace_id == workspace_id, WorkspaceMembership.role == "admin"
        )
    )
    if (admins or 0) <= 1:
        raise Conflict(
            "a workspace must keep at least one Workspace Admin; make another member an Admin first"
        )

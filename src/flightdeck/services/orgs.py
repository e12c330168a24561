"""Organizations, their members and invitations, and the organization's AWS external ID."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from flightdeck.db.models import (
    Invitation,
    Organization,
    OrganizationExternalId,
    OrganizationMembership,
    User,
    Workspace,
    WorkspaceMembership,
)
from flightdeck.db.types import utcnow
from flightdeck.services import audit
from flightdeck.services.access import (
    ORG_ROLES,
    WORKSPACE_ROLES,
    find_org_membership,
    require_member,
    require_owner,
    require_workspace,
)
from flightdeck.services.errors import Conflict, NotFound
from flightdeck.services.secrets import hash_token, new_external_id, new_token
from flightdeck.services.validation import check_choice, check_name, normalise_email

INVITATION_PREFIX = "fdi_"
INVITATION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class InviteResult:
    """Either the user was added at once, or an invitation token (shown once) was issued."""

    membership: OrganizationMembership | None
    invitation: Invitation | None
    invitation_token: str | None


def create_organization(
    session: Session, founder: User, name: str, *, hosted_mode: bool = False, commit: bool = True
) -> Organization:
    name = check_name(name, "name")
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    session.add(
        OrganizationExternalId(organization_id=organization.id, external_id=new_external_id())
    )
    session.add(
        OrganizationMembership(organization_id=organization.id, user_id=founder.id, role="owner")
    )
    if hosted_mode:
        workspace = Workspace(organization_id=organization.id, name=name)
        session.add(workspace)
        session.flush()
        session.add(
            WorkspaceMembership(workspace_id=workspace.id, user_id=founder.id, role="admin")
        )
    audit.record(
        session,
        action="organization.create",
        actor=founder,
        organization_id=organization.id,
        target=organization.id,
    )
    if commit:
        session.commit()
    return organization


def list_organizations(session: Session, user: User) -> list[tuple[Organization, str]]:
    """The user's organizations with the user's role in each."""
    rows = session.execute(
        select(Organization, OrganizationMembership.role)
        .join(OrganizationMembership, OrganizationMembership.organization_id == Organization.id)
        .where(OrganizationMembership.user_id == user.id)
        .order_by(Organization.created_at)
    )
    return [(org, role) for org, role in rows]


def reveal_external_id(session: Session, user: User, organization_id: str) -> str:
    """The external ID, for Owners only; every reveal is audited (the value is not)."""
    require_owner(session, user, organization_id)
    record = session.get(OrganizationExternalId, organization_id)
    if record is None:
        raise NotFound("organization not found")
    audit.record(
        session,
        action="organization.external_id.reveal",
        actor=user,
        organization_id=organization_id,
        target=organization_id,
    )
    session.commit()
    return record.external_id


def external_id_for(session: Session, organization_id: str) -> str:
    """For the platform's own use (assuming roles); never returned to a user by this path."""
    record = session.get(OrganizationExternalId, organization_id)
    if record is None:
        raise NotFound("organization not found")
    return record.external_id


def list_members(
    session: Session, user: User, organization_id: str
) -> list[OrganizationMembership]:
    require_member(session, user, organization_id)
    return list(
        session.scalars(
            select(OrganizationMembership)
            .where(OrganizationMembership.organization_id == organization_id)
            .order_by(OrganizationMembership.created_at)
        )
    )


def invite(
    session: Session,
    actor: User,
    organization_id: str,
    *,
    email: str,
    role: str = "member",
    workspace_id: str | None = None,
    workspace_role: str | None = None,
) -> InviteResult:
    require_owner(session, actor, organization_id)
    email = normalise_email(email)
    check_choice(role, ORG_ROLES, "role")
    if workspace_id is not None:
        require_workspace(session, actor, organization_id, workspace_id, admin=True)
        workspace_role = check_choice(workspace_role or "member", WORKSPACE_ROLES, "workspace_role")
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        if find_org_membership(session, organization_id, existing.id) is not None:
            raise Conflict(
                "email: this user is already a member of the organization", field="email"
            )
        membership = OrganizationMembership(
            organization_id=organization_id, user_id=existing.id, role=role
        )
        session.add(membership)
        if workspace_id is not None and workspace_role is not None:
            session.add(
                WorkspaceMembership(
                    workspace_id=workspace_id, user_id=existing.id, role=workspace_role
                )
            )
        audit.record(
            session,
            action="organization.member.add",
            actor=actor,
            organization_id=organization_id,
            target=existing.id,
            detail={"role": role},
        )
        session.commit()
        return InviteResult(membership=membership, invitation=None, invitation_token=None)
    token = new_token(INVITATION_PREFIX)
    invitation = Invitation(
        organization_id=organization_id,
        email=email,
        role=role,
        workspace_id=workspace_id,
        workspace_role=workspace_role,
        token_hash=hash_token(token),
        invited_by=actor.id,
        expires_at=utcnow() + INVITATION_TTL,
    )
    session.add(invitation)
    audit.record(
        session,
        action="organization.member.invite",
        actor=actor,
        organization_id=organization_id,
        target=email,
        detail={"role": role},
    )
    session.commit()
    return InviteResult(membership=None, invitation=invitation, invitation_token=token)


def accept_invitation(session: Session, invitation: Invitation, user: User) -> None:
    session.add(
        OrganizationMembership(
            organization_id=invitation.organization_id, user_id=user.id, role=invitation.role
        )
    )
    if invitation.workspace_id is not None and invitation.workspace_role is not None:
        session.add(
            WorkspaceMembership(
                workspace_id=invitation.workspace_id,
                user_id=user.id,
                role=invitation.workspace_role,
            )
        )
    invitation.accepted_at = utcnow()


def _target_membership(
    session: Session, organization_id: str, user_id: str
) -> OrganizationMembership:
    membership = find_org_membership(session, organization_id, user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


def _ensure_another_owner_remains(session: Session, organization_id: str) -> None:
    owners = session.scalar(
        select(func.count()).select_from(
            select(OrganizationMembership.id)
            .where(
                OrganizationMembership.organization_id == organization_id,
                OrganizationMembership.role == "owner",
            )
            .with_for_update()
            .subquery()
        )
    )
    if (owners or 0) <= 1:
        raise Conflict(
            "an organization must keep at least one Owner; make another member an Owner first"
        )


def set_member_role(
    session: Session, actor: User, organization_id: str, user_id: str, role: str
) -> OrganizationMembership:
    require_owner(session, actor, organization_id)
    check_choice(role, ORG_ROLES, "role")
    membership = _target_membership(session, organization_id, user_id)
    if membership.role == "owner" and role != "owner":
        _ensure_another_owner_remains(session, organization_id)
    membership.role = role
    audit.record(
        session,
        action="organization.member.role",
        actor=actor,
        organization_id=organization_id,
        target=user_id,
        detail={"role": role},
    )
    session.commit()
    return membership


def remove_member(session: Session, actor: User, organization_id: str, user_id: str) -> None:
    require_owner(session, actor, organization_id)
    membership = _target_membership(session, organization_id, user_id)
    if membership.role == "owner":
        _ensure_another_owner_remains(session, organization_id)
    workspace_ids = select(Workspace.id).where(Workspace.organization_id == organization_id)
    session.execute(
        delete(WorkspaceMembership).where(
            WorkspaceMembership.user_id == user_id,
            WorkspaceMembership.workspace_id.in_(workspace_ids),
        )
    )
    session.delete(membership)
    audit.record(
        session,
        action="organization.member.remove",
        actor=actor,
        organization_id=organization_id,
        target=user_id,
    )
    session.commit()

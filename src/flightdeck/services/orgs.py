"""Organizations, their members and invitations, and the organization's AWS external ID."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
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
from flightdeck.services import audit, notifications
from flightdeck.services.access import (
    ORG_ROLES,
    WORKSPACE_ROLES,
    find_org_membership,
    require_member,
    require_owner,
    require_workspace,
)
from flightdeck.services.errors import Conflict, NotFound
from flightdeck.services.locks import lock_organization
from flightdeck.services.secrets import hash_token, new_external_id, new_token
from flightdeck.services.slugs import free_slug
from flightdeck.services.validation import check_choice, check_name, normalise_email

INVITATION_PREFIX = "fdi_"
INVITATION_TTL = timedelta(days=7)
_SLUG_ATTEMPTS = 5


@dataclass(frozen=True)
class InviteResult:
    """An invitation and its token (shown once). ``membership`` stays None: nobody is added
    before they accept, and the answer is the same whether or not the address has an
    account (the invitation mail says which way to accept)."""

    membership: OrganizationMembership | None
    invitation: Invitation | None
    invitation_token: str | None


def create_organization(
    session: Session, founder: User, name: str, *, hosted_mode: bool = False, commit: bool = True
) -> Organization:
    name = check_name(name, "name")
    organization = _insert_with_free_slug(session, name)
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


def _insert_with_free_slug(session: Session, name: str) -> Organization:
    """Insert the organization under the first free slug; a concurrent sign-up that took
    the same one makes the insert fail, and the next free one is tried."""
    for _attempt in range(_SLUG_ATTEMPTS):
        organization = Organization(name=name, slug=free_slug(session, name))
        try:
            with session.begin_nested():
                session.add(organization)
        except IntegrityError:
            continue
        return organization
    raise Conflict("name: could not give the organization a unique slug; try again")


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
    if existing is not None and find_org_membership(session, organization_id, existing.id):
        raise Conflict("email: this user is already a member of the organization", field="email")
    organization = session.get(Organization, organization_id)
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
    session.flush()
    org_name = organization.name if organization else organization_id
    if existing is not None:
        how = (
            "You already have an account: sign in and accept it with\n"
            f"  flightdeck user accept {invitation.id}\n"
            "(`flightdeck user invitations` lists every invitation waiting for you)."
        )
    else:
        how = (
            "Create your account and join with\n"
            f"  flightdeck signup --email {email} --invitation-token {token}\n"
            "then verify your address with the link mailed to you."
        )
    notifications.notify_address(
        session,
        email,
        kind="organization.invitation",
        subject=f"You are invited to {org_name} on flightdeck",
        body=(
            f"{actor.email} invited you to the organization {org_name} as {role}.\n\n{how}\n\n"
            f"The invitation expires at {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
    )
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


def _is_open(invitation: Invitation) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > utcnow()
    )


def list_invitations(session: Session, actor: User, organization_id: str) -> list[Invitation]:
    """The organization's open invitations, for its Owners."""
    require_owner(session, actor, organization_id)
    rows = session.scalars(
        select(Invitation)
        .where(Invitation.organization_id == organization_id)
        .order_by(Invitation.created_at)
    )
    return [invitation for invitation in rows if _is_open(invitation)]


def revoke_invitation(
    session: Session, actor: User, organization_id: str, invitation_id: str
) -> Invitation:
    require_owner(session, actor, organization_id)
    invitation = session.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.organization_id != organization_id
        or not _is_open(invitation)
    ):
        raise NotFound("invitation not found (or already accepted, revoked or expired)")
    invitation.revoked_at = utcnow()
    audit.record(
        session,
        action="organization.member.invite_revoke",
        actor=actor,
        organization_id=organization_id,
        target=invitation.email,
    )
    session.commit()
    return invitation


def list_my_invitations(session: Session, user: User) -> list[tuple[Invitation, Organization]]:
    """Open invitations addressed to the user's (verified) email, with their organization."""
    rows = session.execute(
        select(Invitation, Organization)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(Invitation.email == user.email)
        .order_by(Invitation.created_at)
    )
    return [(invitation, org) for invitation, org in rows if _is_open(invitation)]


def accept_my_invitation(
    session: Session, user: User, invitation_id: str
) -> OrganizationMembership:
    """The signed-in user accepts an invitation addressed to their email."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.email != user.email or not _is_open(invitation):
        raise NotFound("invitation not found (or already accepted, revoked or expired)")
    if find_org_membership(session, invitation.organization_id, user.id) is not None:
        raise Conflict("you are already a member of this organization")
    membership = accept_invitation(session, invitation, user)
    audit.record(
        session,
        action="organization.member.add",
        actor=user,
        organization_id=invitation.organization_id,
        target=user.id,
        detail={"role": invitation.role, "invitation": invitation.id},
    )
    session.commit()
    return membership


def accept_invitation(
    session: Session, invitation: Invitation, user: User
) -> OrganizationMembership:
    membership = OrganizationMembership(
        organization_id=invitation.organization_id, user_id=user.id, role=invitation.role
    )
    session.add(membership)
    workspace = session.get(Workspace, invitation.workspace_id) if invitation.workspace_id else None
    if workspace is not None and invitation.workspace_role is not None:
        session.add(
            WorkspaceMembership(
                workspace_id=workspace.id,
                user_id=user.id,
                role=invitation.workspace_role,
            )
        )
    invitation.accepted_at = utcnow()
    return membership


def _target_membership(
    session: Session, organization_id: str, user_id: str
) -> OrganizationMembership:
    membership = find_org_membership(session, organization_id, user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


def _ensure_another_owner_remains(session: Session, organization_id: str) -> None:
    """Called with the organization locked (:func:`lock_organization`)."""
    owners = session.scalar(
        select(func.count()).where(
            OrganizationMembership.organization_id == organization_id,
            OrganizationMembership.role == "owner",
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
    _target_membership(session, organization_id, user_id)
    lock_organization(session, organization_id)
    # Checked again under the lock: a concurrent request may have changed either role.
    require_owner(session, actor, organization_id)
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
    _target_membership(session, organization_id, user_id)
    lock_organization(session, organization_id)
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

"""Organizations, their members, their audit log and their AWS external ID."""

from __future__ import annotations

from fastapi import APIRouter, status

from flightdeck.api.deps import CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    AuditEventOut,
    ExternalIdOut,
    InvitationOut,
    InviteIn,
    InviteOut,
    MemberOut,
    MyOrganizationOut,
    OrganizationCreateIn,
    RoleIn,
)
from flightdeck.services import access, audit, orgs

router = APIRouter(
    prefix="/organizations",
    tags=["organizations"],
    responses=error_responses(401),
)


@router.get("", response_model=list[MyOrganizationOut])
def list_organizations(user: CurrentUser, session: SessionDep) -> list[MyOrganizationOut]:
    return [
        MyOrganizationOut(
            id=org.id, name=org.name, slug=org.slug, created_at=org.created_at, role=role
        )
        for org, role in orgs.list_organizations(session, user)
    ]


@router.post(
    "",
    responses=error_responses(422),
    status_code=status.HTTP_201_CREATED,
    response_model=MyOrganizationOut,
)
def create_organization(
    body: OrganizationCreateIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> MyOrganizationOut:
    """Its creator becomes its Owner exactly as at sign-up (and, in hosted mode, Workspace
    Admin of the workspace named after it): a user who came in by SSO has no sign-up."""
    org = orgs.create_organization(session, user, body.name, hosted_mode=settings.hosted_mode)
    return MyOrganizationOut(
        id=org.id, name=org.name, slug=org.slug, created_at=org.created_at, role="owner"
    )


@router.get(
    "/{organization_id}", responses=error_responses(403, 404, 422), response_model=MyOrganizationOut
)
def show_organization(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> MyOrganizationOut:
    org = access.require_member(session, user, organization_id)
    role = access.org_membership(session, user, organization_id).role
    return MyOrganizationOut(
        id=org.id, name=org.name, slug=org.slug, created_at=org.created_at, role=role
    )


@router.get(
    "/{organization_id}/aws-external-id",
    responses=error_responses(403, 404, 422),
    response_model=ExternalIdOut,
)
def reveal_external_id(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> ExternalIdOut:
    value = orgs.reveal_external_id(session, user, organization_id)
    return ExternalIdOut(organization_id=organization_id, external_id=value)


@router.get(
    "/{organization_id}/members",
    responses=error_responses(403, 404, 422),
    response_model=list[MemberOut],
)
def list_members(organization_id: str, user: CurrentUser, session: SessionDep) -> list[MemberOut]:
    return [MemberOut.from_membership(m) for m in orgs.list_members(session, user, organization_id)]


@router.post(
    "/{organization_id}/members",
    responses=error_responses(403, 404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    response_model=InviteOut,
)
def invite_member(
    organization_id: str, body: InviteIn, user: CurrentUser, session: SessionDep
) -> InviteOut:
    result = orgs.invite(
        session,
        user,
        organization_id,
        email=body.email,
        role=body.role,
        workspace_id=body.workspace_id,
        workspace_role=body.workspace_role,
    )
    return InviteOut(
        status="invited",
        invitation=InvitationOut.model_validate(result.invitation),
        invitation_token=result.invitation_token,
    )


@router.get(
    "/{organization_id}/invitations",
    responses=error_responses(403, 404, 422),
    response_model=list[InvitationOut],
)
def list_invitations(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[InvitationOut]:
    """Open invitations (Owners only)."""
    return [
        InvitationOut.model_validate(i)
        for i in orgs.list_invitations(session, user, organization_id)
    ]


@router.delete(
    "/{organization_id}/invitations/{invitation_id}",
    responses=error_responses(403, 404, 409, 422),
    response_model=InvitationOut,
)
def revoke_invitation(
    organization_id: str, invitation_id: str, user: CurrentUser, session: SessionDep
) -> InvitationOut:
    return InvitationOut.model_validate(
        orgs.revoke_invitation(session, user, organization_id, invitation_id)
    )


@router.patch(
    "/{organization_id}/members/{user_id}",
    responses=error_responses(403, 404, 409, 422),
    response_model=MemberOut,
)
def change_member_role(
    organization_id: str, user_id: str, body: RoleIn, user: CurrentUser, session: SessionDep
) -> MemberOut:
    return MemberOut.from_membership(
        orgs.set_member_role(session, user, organization_id, user_id, body.role)
    )


@router.delete(
    "/{organization_id}/members/{user_id}",
    responses=error_responses(403, 404, 409, 422),
    status_code=status.HTTP_204_NO_CONTENT,
)
def remove_member(
    organization_id: str, user_id: str, user: CurrentUser, session: SessionDep
) -> None:
    orgs.remove_member(session, user, organization_id, user_id)


@router.get(
    "/{organization_id}/audit-events",
    responses=error_responses(403, 404, 422),
    response_model=list[AuditEventOut],
)
def list_audit_events(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[AuditEventOut]:
    access.require_owner(session, user, organization_id)
    return [AuditEventOut.model_validate(e) for e in audit.list_events(session, organization_id)]

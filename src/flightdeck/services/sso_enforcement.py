"""Enforced SSO: an organization's members then sign in through its identity provider only.

Password sign-in is refused for anyone who belongs to an organization that enforces SSO,
except that organization's Owners marked as break-glass accounts (the way back in when the
provider is down); each such sign-in is audited. Sessions and API tokens issued before
enforcement keep working until they expire or are revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import (
    IdentityProvider,
    IdentityProviderDomain,
    Organization,
    OrganizationMembership,
    User,
)
from flightdeck.services import access, audit
from flightdeck.services.errors import InvalidInput, NotFound, Unauthenticated


class SsoRequired(Unauthenticated):
    """The password was right, but an organization of the user's allows only SSO."""

    code = "sso_required"


@dataclass(frozen=True)
class Enforcement:
    enforced: bool
    break_glass: list[OrganizationMembership]


def status(session: Session, user: User, organization_id: str) -> Enforcement:
    organization = access.require_owner(session, user, organization_id)
    return Enforcement(
        enforced=organization.sso_enforced, break_glass=_break_glass(session, organization_id)
    )


def _break_glass(session: Session, organization_id: str) -> list[OrganizationMembership]:
    return list(
        session.scalars(
            select(OrganizationMembership)
            .where(
                OrganizationMembership.organization_id == organization_id,
                OrganizationMembership.break_glass.is_(True),
                OrganizationMembership.role == "owner",
            )
            .order_by(OrganizationMembership.created_at)
        )
    )


def set_enforced(session: Session, user: User, organization_id: str, enforced: bool) -> Enforcement:
    organization = access.require_owner(session, user, organization_id)
    if enforced and not organization.sso_enforced:
        verified = session.scalar(
            select(IdentityProviderDomain.domain)
            .join(IdentityProvider)
            .where(
                IdentityProvider.organization_id == organization_id,
                IdentityProviderDomain.verified_at.is_not(None),
            )
            .limit(1)
        )
        if verified is None:
            raise InvalidInput(
                "enforced: no verified domain signs this organization's users in with SSO yet; "
                "add an identity provider and verify a domain first",
                field="enforced",
            )
    if enforced != organization.sso_enforced:
        organization.sso_enforced = enforced
        audit.record(
            session,
            action="sso.enforce.on" if enforced else "sso.enforce.off",
            actor=user,
            organization_id=organization_id,
            target=organization_id,
        )
        session.commit()
    return Enforcement(enforced=enforced, break_glass=_break_glass(session, organization_id))


def set_break_glass(
    session: Session, user: User, organization_id: str, user_id: str, break_glass: bool
) -> OrganizationMembership:
    """Mark (or unmark) an Owner whose password keeps working while SSO is enforced."""
    access.require_owner(session, user, organization_id)
    membership = access.find_org_membership(session, organization_id, user_id)
    if membership is None:
        raise NotFound("user_id: no member of this organization has this id", field="user_id")
    if break_glass and membership.role != "owner":
        raise InvalidInput(
            "break_glass: only Owners can be break-glass accounts; make the member an Owner first",
            field="break_glass",
        )
    if membership.break_glass != break_glass:
        membership.break_glass = break_glass
        audit.record(
            session,
            action="sso.break_glass.mark" if break_glass else "sso.break_glass.unmark",
            actor=user,
            organization_id=organization_id,
            target=user_id,
        )
        session.commit()
    return membership


def check_password_sign_in(session: Session, user: User, method: str = "password") -> None:
    """Raise SsoRequired when an organization of the user's enforces SSO and the user is not
    one of its break-glass Owners; audit a break-glass sign-in in each organization it opens."""
    rows = session.execute(
        select(Organization, OrganizationMembership)
        .join(OrganizationMembership, OrganizationMembership.organization_id == Organization.id)
        .where(OrganizationMembership.user_id == user.id, Organization.sso_enforced.is_(True))
        .order_by(Organization.name)
    ).all()
    refused = [org.name for org, m in rows if not (m.role == "owner" and m.break_glass)]
    if refused:
        raise SsoRequired(
            f"{method} sign-in is turned off for members of {', '.join(refused)}: "
            "use Continue with SSO (or `flightdeck login` without --email)"
        )
    for organization, _ in rows:
        audit.record(
            session,
            action="sso.break_glass.sign_in",
            actor=user,
            organization_id=organization.id,
            target=user.id,
            detail={"method": method},
        )

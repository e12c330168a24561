"""Sign-up, sign-in, browser sessions and API tokens.

Session cookies and API tokens are random 256-bit values; only their SHA-256 is stored,
so a copy of the database grants nobody access.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flightdeck.db.models import ApiToken, BrowserSession, Invitation, Organization, User
from flightdeck.db.types import utcnow
from flightdeck.services import audit, orgs
from flightdeck.services.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from flightdeck.services.secrets import hash_password, hash_token, new_token, verify_password
from flightdeck.services.validation import check_name, check_password, normalise_email

API_TOKEN_PREFIX = "fdk_"
SESSION_PREFIX = "fds_"


@dataclass(frozen=True)
class SignUpResult:
    user: User
    organization: Organization | None


@dataclass(frozen=True)
class IssuedToken:
    """A token as created: ``secret`` is shown once and never stored."""

    record: ApiToken
    secret: str


def sign_up(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    organization_name: str | None = None,
    invitation_token: str | None = None,
    hosted_mode: bool = False,
) -> SignUpResult:
    """Create a user; either found a new organization or join through an invitation."""
    email = normalise_email(email)
    check_password(password)
    if (organization_name is None) == (invitation_token is None):
        raise InvalidInput(
            "organization_name: give an organization name to create one, "
            "or an invitation_token to join one (exactly one of the two)",
            field="organization_name",
        )
    invitation = None
    if invitation_token is not None:
        invitation = _open_invitation(session, invitation_token, email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            "email: an account with this email already exists; sign in instead", field="email"
        )
    user = User(email=email, name=name.strip()[:200], password_hash=hash_password(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "email: an account with this email already exists; sign in instead", field="email"
        ) from None
    organization = None
    if organization_name is not None:
        organization = orgs.create_organization(
            session, user, organization_name, hosted_mode=hosted_mode, commit=False
        )
    elif invitation is not None:
        orgs.accept_invitation(session, invitation, user)
    audit.record(
        session,
        action="user.sign_up",
        actor=user,
        organization_id=organization.id if organization else None,
        target=user.id,
    )
    session.commit()
    return SignUpResult(user=user, organization=organization)


def _open_invitation(session: Session, token: str, email: str) -> Invitation:
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at < utcnow()
        or invitation.email != email
    ):
        raise NotFound(
            "invitation_token: no open invitation for this email with this token; "
            "ask an Organization Owner to invite you again"
        )
    return invitation


def authenticate_password(session: Session, email: str, password: str) -> User:
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    user = session.scalar(select(User).where(User.email == email)) if email else None
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthenticated("email or password is incorrect")
    return user


def start_browser_session(session: Session, user: User, max_age_seconds: int) -> str:
    secret = new_token(SESSION_PREFIX)
    session.add(
        BrowserSession(
            user_id=user.id,
            token_hash=hash_token(secret),
            expires_at=utcnow() + timedelta(seconds=max_age_seconds),
        )
    )
    session.commit()
    return secret


def end_browser_session(session: Session, secret: str) -> None:
    record = session.scalar(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(secret))
    )
    if record is not None:
        session.delete(record)
        session.commit()


def user_for_session(session: Session, secret: str) -> User | None:
    record = session.scalar(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(secret))
    )
    if record is None or record.expires_at <= utcnow():
        return None
    return session.get(User, record.user_id)


def user_for_api_token(session: Session, secret: str) -> User | None:
    if not secret.startswith(API_TOKEN_PREFIX):
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    now = utcnow()
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    # Record use at most once a minute so reads do not turn into a write each.
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        record.last_used_at = now
        session.commit()
    return session.get(User, record.user_id)


def create_api_token(
    session: Session, user: User, name: str, expires_in_days: int | None = None
) -> IssuedToken:
    name = check_name(name, "name")
    expires_at: datetime | None = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= 3650:
            raise InvalidInput(
                "expires_in_days: must be between 1 and 3650, or omitted for no expiry",
                field="expires_in_days",
            )
        expires_at = utcnow() + timedelta(days=expires_in_days)
    secret = new_token(API_TOKEN_PREFIX)
    record = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(API_TOKEN_PREFIX) + 4],
        expires_at=expires_at,
    )
    session.add(record)
    audit.record(
        session, action="api_token.create", actor=user, organization_id=None, target=record.name
    )
    session.commit()
    return IssuedToken(record=record, secret=secret)


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
    )


def revoke_api_token(session: Session, user: User, token_id: str) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        raise NotFound("token not found")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(
            session, action="api_token.revoke", actor=user, organization_id=None, target=record.id
        )
        session.commit()
    return record

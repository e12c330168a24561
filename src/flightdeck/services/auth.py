"""Sign-up (verified by mail), sign-in, browser sessions and API tokens.

Session cookies, API tokens and verification tokens are random 256-bit values; only their
SHA-256 is stored, so a copy of the database grants nobody access. A sign-up creates no
account until the link mailed to its address is used, and its answer is the same whether
or not the address is registered: the difference goes by mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flightdeck.db.models import (
    ApiToken,
    BrowserSession,
    Invitation,
    Organization,
    SignUpRequest,
    User,
)
from flightdeck.db.types import utcnow
from flightdeck.services import audit, notifications, orgs, signin_throttle, sso_enforcement
from flightdeck.services.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from flightdeck.services.secrets import hash_password, hash_token, new_token, verify_password
from flightdeck.services.validation import check_name, check_password, normalise_email

API_TOKEN_PREFIX = "fdk_"
SESSION_PREFIX = "fds_"
VERIFICATION_PREFIX = "fdv_"
VERIFICATION_MAIL_KIND = "account.verify_email"
# Last-seen times of sessions are written at most this often, so reads stay reads.
_TOUCH_INTERVAL = timedelta(minutes=1)


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
    """Create an account at once, for an address already proven (or by an operator, or in
    tests). Untrusted callers use :func:`request_sign_up` and :func:`verify_email`."""
    email = normalise_email(email)
    check_password(password)
    _check_one_of(organization_name, invitation_token)
    invitation = None
    if invitation_token is not None:
        invitation = _open_invitation(session, invitation_token, email)
    result = _create_account(
        session,
        email=email,
        password_hash=hash_password(password),
        name=name,
        organization_name=organization_name,
        invitation=invitation,
        hosted_mode=hosted_mode,
    )
    session.commit()
    return result


@dataclass(frozen=True)
class SignUpRequested:
    """What every sign-up answers, registered address or not."""

    email: str
    expires_at: datetime


def request_sign_up(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    organization_name: str | None = None,
    invitation_token: str | None = None,
    verify_url: str = "",
    lifetime_seconds: int = 24 * 3600,
) -> SignUpRequested:
    """Mail the address a verification link; the account exists once it is used.

    An address that already has an account gets a mail saying so instead, and the caller
    the very same answer, so a sign-up never tells whether an address is registered.
    """
    email = normalise_email(email)
    check_password(password)
    _check_one_of(organization_name, invitation_token)
    if organization_name is not None:
        organization_name = check_name(organization_name, "organization_name")
    invitation = None
    if invitation_token is not None:
        invitation = _open_invitation(session, invitation_token, email)
    expires_at = utcnow() + timedelta(seconds=lifetime_seconds)
    # Hashed either way, so the time taken does not tell a registered address either.
    password_hash = hash_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        notifications.notify_address(
            session,
            email,
            kind="account.sign_up_existing",
            subject="Someone tried to sign up with your address",
            body=(
                f"A sign-up was requested for {email}, which already has a flightdeck "
                "account, so no new account was created.\n\n"
                "If it was you, sign in instead: flightdeck login --email " + email + "\n"
                "If you were invited, accept the invitation while signed in: "
                "flightdeck user invitations\n"
                "If it was not you, nothing changed and you can ignore this mail."
            ),
        )
        session.commit()
        return SignUpRequested(email=email, expires_at=expires_at)
    expired = select(SignUpRequest).where(
        SignUpRequest.email == email, SignUpRequest.expires_at <= utcnow()
    )
    for stale in session.scalars(expired):
        session.delete(stale)
    token = new_token(VERIFICATION_PREFIX)
    session.add(
        SignUpRequest(
            email=email,
            name=name.strip()[:200],
            password_hash=password_hash,
            organization_name=organization_name,
            invitation_id=invitation.id if invitation else None,
            token_hash=hash_token(token),
            expires_at=expires_at,
        )
    )
    link = f"{verify_url}?token={token}" if verify_url else ""
    notifications.notify_address(
        session,
        email,
        kind=VERIFICATION_MAIL_KIND,
        subject="Verify your email address for flightdeck",
        body=(
            f"Someone (hopefully you) signed up for flightdeck as {email}.\n\n"
            "To verify the address and create the account, run (it asks for the password "
            "chosen at sign-up):\n"
            f"  flightdeck verify-email {token}\n"
            + (f"or open {link}\n" if link else "")
            + f"\nThe token expires at {expires_at:%Y-%m-%d %H:%M} UTC. If you did not sign "
            "up, ignore this mail: no account exists until the address is verified."
        ),
    )
    session.commit()
    return SignUpRequested(email=email, expires_at=expires_at)


def verify_email(
    session: Session, token: str, *, password: str, hosted_mode: bool = False
) -> SignUpResult:
    """Use a sign-up's verification token: create the account it asked for (founding its
    organization or joining through its invitation). Other pending sign-ups for the same
    address are dropped: whoever reads the mailbox decides.

    The password chosen at sign-up is asked again, so the owner of the mailbox who follows
    a link a stranger's sign-up sent them cannot create the stranger's account for them.
    """
    record = session.scalar(
        select(SignUpRequest).where(SignUpRequest.token_hash == hash_token(token.strip()))
    )
    if (
        record is None
        or record.expires_at <= utcnow()
        or not verify_password(record.password_hash, password)
    ):
        raise NotFound(
            "token: unknown or expired verification token, or not the password chosen at "
            "sign-up; sign up again to get a new one",
            field="token",
        )
    email = record.email
    invitation = session.get(Invitation, record.invitation_id) if record.invitation_id else None
    if invitation is not None and not _is_open(invitation, email):
        invitation = None  # revoked or expired meanwhile: the account is still created
    pending = select(SignUpRequest).where(SignUpRequest.email == email)
    for stale in session.scalars(pending):
        session.delete(stale)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        session.commit()
        raise Conflict("email: an account with this email already exists; sign in instead")
    result = _create_account(
        session,
        email=email,
        password_hash=record.password_hash,
        name=record.name,
        organization_name=record.organization_name,
        invitation=invitation,
        hosted_mode=hosted_mode,
    )
    session.commit()
    return result


def _check_one_of(organization_name: str | None, invitation_token: str | None) -> None:
    if (organization_name is None) == (invitation_token is None):
        raise InvalidInput(
            "organization_name: give an organization name to create one, "
            "or an invitation_token to join one (exactly one of the two)",
            field="organization_name",
        )


def _create_account(
    session: Session,
    *,
    email: str,
    password_hash: str,
    name: str,
    organization_name: str | None,
    invitation: Invitation | None,
    hosted_mode: bool,
) -> SignUpResult:
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            "email: an account with this email already exists; sign in instead", field="email"
        )
    user = User(email=email, name=name.strip()[:200], password_hash=password_hash)
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
        organization_id=organization.id
        if organization
        else (invitation.organization_id if invitation else None),
        target=user.id,
    )
    return SignUpResult(user=user, organization=organization)


def _open_invitation(session: Session, token: str, email: str) -> Invitation:
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    if invitation is None or not _is_open(invitation, email):
        raise NotFound(
            "invitation_token: no open invitation for this email with this token; "
            "ask an Organization Owner to invite you again",
            field="invitation_token",
        )
    return invitation


def _is_open(invitation: Invitation, email: str) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > utcnow()
        and invitation.email == email
    )


def authenticate_password(session: Session, email: str, password: str) -> User:
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    user = session.scalar(select(User).where(User.email == email)) if email else None
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthenticated("email or password is incorrect")
    return user


def sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    client_address: str,
    policy: signin_throttle.ThrottlePolicy,
) -> User:
    """:func:`authenticate_password` behind the per-account and per-address throttle:
    raises ``TooManyAttempts`` (with the seconds to wait) while either is locked."""
    try:
        account = normalise_email(email)
    except InvalidInput:
        account = email.strip().lower()[:320]
    signin_throttle.check(session, account, client_address, policy)
    try:
        user = authenticate_password(session, email, password)
    except Unauthenticated:
        signin_throttle.record_failure(session, account, client_address, policy)
        session.commit()
        raise
    signin_throttle.record_success(session, account)
    try:
        sso_enforcement.check_password_sign_in(session, user)
    except sso_enforcement.SsoRequired:
        session.commit()
        raise
    session.commit()
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


def user_for_session(session: Session, secret: str, idle_seconds: int | None = None) -> User | None:
    """The session's user, unless it passed its absolute lifetime or, with
    ``idle_seconds``, saw no request for that long."""
    record = session.scalar(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(secret))
    )
    now = utcnow()
    if record is None or record.expires_at <= now:
        return None
    last_seen = record.last_seen_at or record.created_at
    if idle_seconds is not None and now - last_seen > timedelta(seconds=idle_seconds):
        return None
    if now - last_seen > _TOUCH_INTERVAL:
        record.last_seen_at = now
        session.commit()
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
    if record.last_used_at is None or now - record.last_used_at > _TOUCH_INTERVAL:
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

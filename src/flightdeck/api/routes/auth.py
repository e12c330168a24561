"""Sign-up (verified by mail), sign-in (cookie, or an API token for the CLI; throttled),
sign-out, who am I, and the invitations waiting for me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from flightdeck.api.deps import CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    LoginIn,
    LoginOut,
    MemberOut,
    MeOut,
    MyInvitationOut,
    MyOrganizationOut,
    OrganizationOut,
    SignUpIn,
    SignUpRequestedOut,
    UserOut,
    VerifiedOut,
    VerifyEmailIn,
)
from flightdeck.config import Settings
from flightdeck.services import auth, orgs
from flightdeck.services.signin_throttle import ThrottlePolicy

router = APIRouter(tags=["auth"])


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    """The browser-session cookie, with one set of attributes for every way of signing in."""
    response.set_cookie(
        settings.session_cookie_name,
        secret,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(
        free_failures_per_account=settings.signin_free_failures_per_account,
        account_lock_max_seconds=settings.signin_account_lock_max_seconds,
        free_failures_per_address=settings.signin_free_failures_per_address,
        address_lock_max_seconds=settings.signin_address_lock_max_seconds,
        failure_window_seconds=settings.signin_failure_window_seconds,
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/signup",
    responses=error_responses(404, 422),
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SignUpRequestedOut,
)
def sign_up(body: SignUpIn, session: SessionDep, settings: SettingsDep) -> SignUpRequestedOut:
    """Mails a verification link; the account exists once it is used. The answer is the
    same whether or not the address already has an account."""
    requested = auth.request_sign_up(
        session,
        email=body.email,
        password=body.password,
        name=body.name,
        organization_name=body.organization_name,
        invitation_token=body.invitation_token,
        verify_url=f"{settings.resolved_public_url}/verify-email",
        lifetime_seconds=settings.email_verification_seconds,
    )
    return SignUpRequestedOut(
        email=requested.email,
        expires_at=requested.expires_at,
        message=f"check the mail sent to {requested.email}: it holds the verification link "
        "(`flightdeck verify-email TOKEN`)",
    )


@router.post(
    "/auth/verify-email", responses=error_responses(404, 409, 422), response_model=VerifiedOut
)
def verify_email(
    body: VerifyEmailIn, response: Response, session: SessionDep, settings: SettingsDep
) -> VerifiedOut:
    """Creates the account a sign-up asked for and signs it in (cookie, or an API token
    with ``token_name``)."""
    result = auth.verify_email(
        session, body.token, password=body.password, hosted_mode=settings.hosted_mode
    )
    token = None
    if body.token_name:
        token = auth.create_api_token(
            session, result.user, body.token_name, settings.cli_token_days
        ).secret
    else:
        secret = auth.start_browser_session(
            session, result.user, settings.session_max_age_seconds
        )
        set_session_cookie(response, settings, secret)
    return VerifiedOut(
        user=UserOut.model_validate(result.user),
        organization=OrganizationOut.model_validate(result.organization)
        if result.organization
        else None,
        token=token,
    )


@router.post("/auth/login", responses=error_responses(401, 422, 429), response_model=LoginOut)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> LoginOut:
    """Throttled per account and per client address: 429 with ``Retry-After``. A right
    password is still refused (401, ``sso_required``) for members of an organization that
    enforces SSO, unless they are among its break-glass Owners."""
    user = auth.sign_in(
        session,
        body.email,
        body.password,
        client_address=client_address(request),
        policy=throttle_policy(settings),
    )
    token = None
    if body.token_name:
        token = auth.create_api_token(
            session, user, body.token_name, settings.cli_token_days
        ).secret
    else:
        secret = auth.start_browser_session(session, user, settings.session_max_age_seconds)
        set_session_cookie(response, settings, secret)
    return LoginOut(user=UserOut.model_validate(user), token=token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> None:
    cookie = request.cookies.get(settings.session_cookie_name)
    if cookie:
        auth.end_browser_session(session, cookie)
    response.delete_cookie(settings.session_cookie_name, path="/")


@router.get("/me", responses=error_responses(401), response_model=MeOut)
def me(user: CurrentUser, session: SessionDep) -> MeOut:
    return MeOut(
        user=UserOut.model_validate(user),
        organizations=[
            MyOrganizationOut(
                id=org.id, name=org.name, slug=org.slug, created_at=org.created_at, role=role
            )
            for org, role in orgs.list_organizations(session, user)
        ],
    )


@router.get(
    "/me/invitations", responses=error_responses(401), response_model=list[MyInvitationOut]
)
def my_invitations(user: CurrentUser, session: SessionDep) -> list[MyInvitationOut]:
    """Open invitations addressed to my email."""
    return [
        MyInvitationOut(
            id=invitation.id,
            organization_id=org.id,
            organization_name=org.name,
            role=invitation.role,
            expires_at=invitation.expires_at,
        )
        for invitation, org in orgs.list_my_invitations(session, user)
    ]


@router.post(
    "/me/invitations/{invitation_id}/accept",
    responses=error_responses(401, 404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    response_model=MemberOut,
)
def accept_invitation(invitation_id: str, user: CurrentUser, session: SessionDep) -> MemberOut:
    return MemberOut.from_membership(orgs.accept_my_invitation(session, user, invitation_id))

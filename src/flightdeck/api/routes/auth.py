"""Sign-up, sign-in (cookie, or an API token for the CLI), sign-out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from flightdeck.api.deps import CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    LoginIn,
    LoginOut,
    MeOut,
    MyOrganizationOut,
    OrganizationOut,
    SignUpIn,
    SignUpOut,
    UserOut,
)
from flightdeck.config import Settings
from flightdeck.services import auth, orgs

router = APIRouter(tags=["auth"])


def _set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        settings.session_cookie_name,
        secret,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.post(
    "/auth/signup",
    responses=error_responses(409, 422),
    status_code=status.HTTP_201_CREATED,
    response_model=SignUpOut,
)
def sign_up(
    body: SignUpIn, response: Response, session: SessionDep, settings: SettingsDep
) -> SignUpOut:
    result = auth.sign_up(
        session,
        email=body.email,
        password=body.password,
        name=body.name,
        organization_name=body.organization_name,
        invitation_token=body.invitation_token,
        hosted_mode=settings.hosted_mode,
    )
    secret = auth.start_browser_session(session, result.user, settings.session_max_age_seconds)
    _set_session_cookie(response, settings, secret)
    return SignUpOut(
        user=UserOut.model_validate(result.user),
        organization=OrganizationOut.model_validate(result.organization)
        if result.organization
        else None,
    )


@router.post("/auth/login", responses=error_responses(401, 422, 429), response_model=LoginOut)
def login(
    body: LoginIn, response: Response, session: SessionDep, settings: SettingsDep
) -> LoginOut:
    user = auth.authenticate_password(session, body.email, body.password)
    token = None
    if body.token_name:
        token = auth.create_api_token(session, user, body.token_name).secret
    else:
        secret = auth.start_browser_session(session, user, settings.session_max_age_seconds)
        _set_session_cookie(response, settings, secret)
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
            MyOrganizationOut(id=org.id, name=org.name, created_at=org.created_at, role=role)
            for org, role in orgs.list_organizations(session, user)
        ],
    )

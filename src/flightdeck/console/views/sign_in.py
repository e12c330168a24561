"""Sign up (verified by the link mailed to the address), sign in (throttled), sign out,
and where a signed-in person lands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from flightdeck.api.routes.auth import client_address, throttle_policy
from flightdeck.console import data, security
from flightdeck.console.pages import (
    DbDep,
    FormDep,
    MaybeUserDep,
    UserDep,
    field,
    redirect,
    render,
)

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _start_session(request: Request, session: DbDep, user: data.User, target: str) -> Response:
    settings = security.settings_of(request)
    secret = data.auth.start_browser_session(session, user, settings.session_max_age_seconds)
    request.state.new_session_cookie = secret
    response = redirect(request, _safe_next(target))
    security.set_session_cookie(request, response, secret)
    return response


@router.get("/")
def home(request: Request, user: UserDep, session: DbDep) -> Response:
    organizations = data.orgs.list_organizations(session, user)
    if organizations:
        return redirect(request, f"/o/{organizations[0][0].id}")
    return render(
        request,
        "no_organization.html",
        user=user,
        title="Create an organization",
        invitations=data.orgs.list_my_invitations(session, user),
    )


@router.post("/organizations")
def create_organization(request: Request, user: UserDep, session: DbDep, form: FormDep) -> Response:
    name = field(form, "organization_name")
    try:
        org = data.orgs.create_organization(
            session, user, name, hosted_mode=security.settings_of(request).hosted_mode
        )
    except data.InvalidInput as exc:
        return render(
            request,
            "no_organization.html",
            status=422,
            user=user,
            title="Create an organization",
            error=exc.message,
            values={"organization_name": name},
        )
    return redirect(request, f"/o/{org.id}")


def _platforms(request: Request) -> list[tuple[str, str]]:
    """The sign-in options the operator configured, as (path segment, label)."""
    settings = security.settings_of(request)
    return [
        (p.value, data.platform_signin.LABELS[p]) for p in data.platform_signin.enabled(settings)
    ]


@router.get("/login")
def login_page(
    request: Request,
    user: MaybeUserDep,
    next_path: Annotated[str, Query(alias="next", max_length=2000)] = "/",
    expired: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    if user is not None:
        return redirect(request, _safe_next(next_path))
    notice = "Your session has ended. Sign in again to continue." if expired else None
    return render(
        request,
        "login.html",
        title="Sign in",
        next_path=_safe_next(next_path),
        platforms=_platforms(request),
        notice=notice,
        values={},
    )


@router.post("/login")
def login(request: Request, session: DbDep, form: FormDep) -> Response:
    email = field(form, "email")
    target = field(form, "next", "/")
    try:
        user = data.auth.sign_in(
            session,
            email,
            field(form, "password"),
            client_address=client_address(request),
            policy=throttle_policy(security.settings_of(request)),
        )
    except data.TooManyAttempts as exc:
        response = render(
            request,
            "login.html",
            status=429,
            title="Sign in",
            next_path=_safe_next(target),
            platforms=_platforms(request),
            error=exc.message,
            retry_after_seconds=exc.retry_after_seconds,
            values={"email": email},
        )
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except data.Unauthenticated as exc:
        return render(
            request,
            "login.html",
            status=401,
            title="Sign in",
            next_path=_safe_next(target),
            platforms=_platforms(request),
            error=exc.message,
            values={"email": email},
        )
    return _start_session(request, session, user, target)


@router.get("/signup")
def signup_page(
    request: Request,
    user: MaybeUserDep,
    invitation: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if user is not None:
        return redirect(request, "/")
    return render(
        request, "signup.html", title="Create your account", invitation=invitation, values={}
    )


@router.post("/signup")
def signup(request: Request, session: DbDep, form: FormDep) -> Response:
    values = {
        "email": field(form, "email"),
        "name": field(form, "name"),
        "organization_name": field(form, "organization_name"),
    }
    invitation = field(form, "invitation")
    settings = security.settings_of(request)
    try:
        requested = data.auth.request_sign_up(
            session,
            email=values["email"],
            password=field(form, "password"),
            name=values["name"],
            organization_name=None if invitation else values["organization_name"],
            invitation_token=invitation or None,
            verify_url=f"{settings.resolved_public_url}/verify-email",
            lifetime_seconds=settings.email_verification_seconds,
        )
    except (data.InvalidInput, data.NotFound) as exc:
        return render(
            request,
            "signup.html",
            status=422,
            title="Create your account",
            invitation=invitation,
            error=exc.message,
            error_field=exc.field,
            values=values,
        )
    # The same page whether or not the address already has an account.
    return render(
        request,
        "check_mail.html",
        title="Check your mail",
        email=requested.email,
        expires_at=requested.expires_at,
        outbox=settings.smtp_host is None,
    )


@router.get("/cli-signed-in")
def cli_signed_in(request: Request, user: MaybeUserDep) -> Response:
    """Where `flightdeck login`'s loopback listener sends the browser once it has the code."""
    return render(request, "cli_signed_in.html", user=user, title="The CLI is signed in")


@router.get("/verify-email")
def verify_email_page(
    request: Request,
    token: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Where the mailed link lands: ask again for the password chosen at sign-up."""
    return render(request, "verify_email.html", title="Verify your email", token=token)


@router.post("/verify-email")
def verify_email(request: Request, session: DbDep, form: FormDep) -> Response:
    token = field(form, "token")
    settings = security.settings_of(request)
    try:
        result = data.auth.verify_email(
            session, token, password=field(form, "password"), hosted_mode=settings.hosted_mode
        )
    except (data.NotFound, data.InvalidInput, data.Conflict) as exc:
        return render(
            request,
            "verify_email.html",
            status=409 if isinstance(exc, data.Conflict) else 422,
            title="Verify your email",
            token=token,
            error=exc.message,
        )
    target = f"/o/{result.organization.id}" if result.organization else "/"
    return _start_session(request, session, result.user, target)


@router.post("/logout")
def logout(request: Request, session: DbDep, form: FormDep) -> Response:
    del form  # checked: a cross-site page cannot sign anyone out
    cookie = request.cookies.get(security.settings_of(request).session_cookie_name)
    if cookie:
        data.auth.end_browser_session(session, cookie)
    response = redirect(request, "/login")
    security.clear_session_cookie(request, response)
    return response

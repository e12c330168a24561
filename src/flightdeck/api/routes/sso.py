"""Organization SSO: Owners manage identity providers; "Continue with SSO" and its callback."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from flightdeck.api.deps import CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.routes.auth import set_session_cookie
from flightdeck.db.models import IdentityProvider, IdentityProviderDomain
from flightdeck.services import auth, dns_txt, platform_signin, sso, sso_enforcement
from flightdeck.services.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from flightdeck.config import Settings

router = APIRouter(tags=["sso"])

STATE_COOKIE = "flightdeck_sso_state"
CALLBACK_PATH = "/api/v1/sso/callback"


class RoleRuleIn(BaseModel):
    """Members of ``group`` get an Organization role, or a role in one workspace."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field(max_length=200)
    organization_role: Literal["owner", "member"] | None = None
    workspace: str | None = Field(default=None, max_length=64, description="A workspace's name.")
    workspace_role: Literal["admin", "member"] | None = None


class RoleMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups_claim: str = Field(
        default="groups", max_length=100, description="The ID token claim listing groups."
    )
    role_mapping: list[RoleRuleIn] = Field(default_factory=list, max_length=100)


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(max_length=500, description="Issuer URL; discovery is read from it.")
    client_id: str = Field(max_length=500)
    client_secret: str = Field(max_length=2000, description="Sealed at rest, never returned.")
    domains: list[str] = Field(max_length=50, description="Email domains it signs in.")
    default_role: Literal["owner", "member"] = "member"
    groups_claim: str = Field(
        default="groups", max_length=100, description="The ID token claim listing groups."
    )
    role_mapping: list[RoleRuleIn] = Field(
        default_factory=list, max_length=100, description="Applied at every sign-in."
    )


class DomainOut(BaseModel):
    """A claimed domain and the TXT record that verifies it; it routes sign-ins once verified."""

    domain: str
    verified: bool
    verified_at: datetime | None
    txt_record_name: str = Field(description="Publish a TXT record at this name ...")
    txt_record_value: str = Field(description="... holding exactly this value.")

    @classmethod
    def of(cls, claim: IdentityProviderDomain) -> DomainOut:
        return cls(
            domain=claim.domain,
            verified=claim.verified_at is not None,
            verified_at=claim.verified_at,
            txt_record_name=sso.txt_record_name(claim.domain),
            txt_record_value=sso.txt_record_value(claim),
        )


class ProviderOut(BaseModel):
    """A provider as shown: never its client secret."""

    id: str
    organization_id: str
    issuer: str
    client_id: str
    domains: list[DomainOut]
    default_role: str
    groups_claim: str
    role_mapping: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, provider: IdentityProvider) -> ProviderOut:
        return cls(
            id=provider.id,
            organization_id=provider.organization_id,
            issuer=provider.issuer,
            client_id=provider.client_id,
            domains=[DomainOut.of(d) for d in provider.domains],
            default_role=provider.default_role,
            groups_claim=provider.groups_claim,
            role_mapping=provider.role_mapping,
            created_at=provider.created_at,
        )


PROVIDERS = "/organizations/{organization_id}/sso/providers"


@router.get(
    PROVIDERS, responses=error_responses(401, 403, 404, 422), response_model=list[ProviderOut]
)
def list_providers(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[ProviderOut]:
    return [ProviderOut.of(p) for p in sso.list_providers(session, user, organization_id)]


@router.post(
    PROVIDERS,
    responses=error_responses(401, 403, 404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderOut,
)
def add_provider(
    organization_id: str,
    body: ProviderIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ProviderOut:
    provider = sso.add_provider(
        session,
        user,
        organization_id,
        issuer=body.issuer,
        client_id=body.client_id,
        client_secret=body.client_secret,
        domains=body.domains,
        default_role=body.default_role,
        secret_key=settings.secret_key,
        groups_claim=body.groups_claim,
        role_mapping=[rule.model_dump() for rule in body.role_mapping],
    )
    return ProviderOut.of(provider)


@router.put(
    PROVIDERS + "/{provider_id}/role-mapping",
    responses=error_responses(401, 403, 404, 422),
    response_model=ProviderOut,
)
def set_role_mapping(
    organization_id: str,
    provider_id: str,
    body: RoleMappingIn,
    user: CurrentUser,
    session: SessionDep,
) -> ProviderOut:
    """Replace the claim-to-role mapping; it applies from each user's next sign-in (audited)."""
    provider = sso.set_role_mapping(
        session,
        user,
        organization_id,
        provider_id,
        groups_claim=body.groups_claim,
        role_mapping=[rule.model_dump() for rule in body.role_mapping],
    )
    return ProviderOut.of(provider)


@router.delete(
    PROVIDERS + "/{provider_id}",
    responses=error_responses(401, 403, 404, 422),
    status_code=status.HTTP_204_NO_CONTENT,
)
def remove_provider(
    organization_id: str, provider_id: str, user: CurrentUser, session: SessionDep
) -> None:
    sso.remove_provider(session, user, organization_id, provider_id)


@router.post(
    "/organizations/{organization_id}/sso/domains/{domain}/verify",
    responses=error_responses(401, 403, 404, 409, 422),
    response_model=DomainOut,
)
def verify_domain(
    organization_id: str,
    domain: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> DomainOut:
    """Check the domain's TXT record through the configured resolver; once it holds the
    value, the domain routes sign-ins to this organization (audited)."""
    resolver = dns_txt.Resolver(settings.dns_nameserver, settings.dns_port)
    return DomainOut.of(sso.verify_domain(session, user, organization_id, domain, resolver))


class EnforcementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enforced: bool = Field(
        description="Refuse password sign-in to members (break-glass Owners excepted)."
    )


class BreakGlassOwnerOut(BaseModel):
    user_id: str
    email: str


class EnforcementOut(BaseModel):
    enforced: bool
    break_glass_owners: list[BreakGlassOwnerOut]

    @classmethod
    def of(cls, state: sso_enforcement.Enforcement) -> EnforcementOut:
        return cls(
            enforced=state.enforced,
            break_glass_owners=[
                BreakGlassOwnerOut(user_id=m.user_id, email=m.user.email) for m in state.break_glass
            ],
        )


class BreakGlassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    break_glass: bool = Field(description="Keep this Owner's password working under enforced SSO.")


class BreakGlassOut(BaseModel):
    user_id: str
    email: str
    role: str
    break_glass: bool


ENFORCEMENT = "/organizations/{organization_id}/sso/enforcement"


@router.get(
    ENFORCEMENT, responses=error_responses(401, 403, 404, 422), response_model=EnforcementOut
)
def show_enforcement(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> EnforcementOut:
    return EnforcementOut.of(sso_enforcement.status(session, user, organization_id))


@router.put(
    ENFORCEMENT, responses=error_responses(401, 403, 404, 422), response_model=EnforcementOut
)
def set_enforcement(
    organization_id: str, body: EnforcementIn, user: CurrentUser, session: SessionDep
) -> EnforcementOut:
    """Turn enforced SSO on (needs a verified domain) or off (audited)."""
    return EnforcementOut.of(
        sso_enforcement.set_enforced(session, user, organization_id, body.enforced)
    )


@router.put(
    "/organizations/{organization_id}/sso/break-glass/{user_id}",
    responses=error_responses(401, 403, 404, 422),
    response_model=BreakGlassOut,
)
def set_break_glass(
    organization_id: str, user_id: str, body: BreakGlassIn, user: CurrentUser, session: SessionDep
) -> BreakGlassOut:
    """Mark an Owner as a break-glass account, or unmark it (audited)."""
    membership = sso_enforcement.set_break_glass(
        session, user, organization_id, user_id, body.break_glass
    )
    return BreakGlassOut(
        user_id=membership.user_id,
        email=membership.user.email,
        role=membership.role,
        break_glass=membership.break_glass,
    )


def refused_page(request: Request, message: str, status_code: int) -> HTMLResponse:
    """The browser lands here from the provider (or the sign-in form), so the answer is the
    console's page saying why, with the way back to sign-in, not JSON."""
    from flightdeck.console.pages import error_page

    return error_page(
        request, status_code, message, title="Sign-in refused", back=("/login", "Back to sign-in")
    )


# A browser follows these two: a refusal is a page, not JSON.
REFUSED_PAGES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Sign-in refused (a page saying why)", "content": {"text/html": {}}},
    502: {"description": "The identity provider failed (a page)", "content": {"text/html": {}}},
}


# From the console's form (``page=true``) these are pages too.
_START_REFUSALS = {
    status_code: {**entry, "content": {"text/html": {}}}
    for status_code, entry in error_responses(404, 422).items()
}


@router.get(
    "/sso/start",
    responses={**_START_REFUSALS, **REFUSED_PAGES},
    status_code=status.HTTP_303_SEE_OTHER,
)
def start(
    request: Request,
    email: Annotated[str, Query(max_length=320)],
    session: SessionDep,
    settings: SettingsDep,
    page: Annotated[
        bool, Query(description="Answer a page linking on (the console's form).")
    ] = False,
    next_path: Annotated[
        str, Query(alias="next", max_length=2000, description="A path to go on to once signed in.")
    ] = "/",
) -> Response:
    """Send the browser to the identity provider that signs in this email's domain."""
    redirect_uri = str(request.base_url).rstrip("/") + CALLBACK_PATH
    try:
        started = sso.start_login(
            session, email, redirect_uri, settings.secret_key, return_to=next_path
        )
    except sso.ProviderUnavailable as exc:
        return refused_page(request, exc.message, status.HTTP_502_BAD_GATEWAY)
    except (NotFound, InvalidInput) as exc:
        if not page:
            raise
        # The console's form: a person reads the answer (no provider for that domain, not an
        # address), so it is a page; API clients keep the JSON error.
        code = 404 if isinstance(exc, NotFound) else 422
        return refused_page(request, exc.message, code)
    response: Response
    if page:
        # The console's pages allow forms to post only to flightdeck (CSP form-action), and
        # browsers apply that to a redirect after a form too: go on by refresh and a link.
        target = html.escape(started.authorization_url, quote=True)
        response = HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f'<meta http-equiv="refresh" content="0;url={target}">'
            "<title>Continue with SSO · flightdeck</title></head><body><main>"
            f'<p><a href="{target}">Continue to your identity provider</a></p>'
            "</main></body></html>"
        )
    else:
        response = RedirectResponse(
            started.authorization_url, status_code=status.HTTP_303_SEE_OTHER
        )
    # Binds the sign-in to this browser: a callback carried to another browser is refused.
    response.set_cookie(
        STATE_COOKIE,
        started.state,
        max_age=int(sso.LOGIN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path=CALLBACK_PATH,
    )
    return response


@router.get(
    "/sso/callback",
    responses={**error_responses(422), **REFUSED_PAGES},
    status_code=status.HTTP_303_SEE_OTHER,
)
def callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Where the provider sends the browser back: sign the user in, or say why not."""
    return _finish_in_browser(
        request,
        settings,
        CALLBACK_PATH,
        "identity provider",
        state,
        code,
        error,
        lambda: sso.finish_login(session, state=state, code=code, secret_key=settings.secret_key),
        session,
    )


def _finish_in_browser(
    request: Request,
    settings: Settings,
    cookie_path: str,
    who: str,
    state: str,
    code: str,
    error: str,
    finish: Callable[[], sso.SignedIn | platform_signin.PlatformSignedIn],
    session: Session,
) -> Response:
    """A provider's redirect back, for every kind of provider: the state must match this
    browser's cookie, then ``finish`` trades the code; a refusal is a page saying why. The
    state cookie is spent either way."""
    cookie = request.cookies.get(STATE_COOKIE, "")
    page: Response
    if not state or not cookie or not secrets.compare_digest(state, cookie):
        page = refused_page(
            request, "this sign-in was not started in this browser; start again", 400
        )
    elif error:
        page = refused_page(request, f"the {who} refused the sign-in ({error})", 400)
    elif not code:
        page = refused_page(request, f"the {who} sent no authorization code", 400)
    else:
        try:
            signed_in = finish()
        except sso.ProviderUnavailable as exc:
            page = refused_page(request, exc.message, status.HTTP_502_BAD_GATEWAY)
        except (sso.SsoRefused, sso_enforcement.SsoRequired) as exc:
            page = refused_page(request, exc.message, status.HTTP_400_BAD_REQUEST)
        else:
            secret = auth.start_browser_session(
                session, signed_in.user, settings.session_max_age_seconds
            )
            page = RedirectResponse(signed_in.return_to, status_code=status.HTTP_303_SEE_OTHER)
            set_session_cookie(page, settings, secret)
    page.delete_cookie(STATE_COOKIE, path=cookie_path)
    return page


def _platform_callback_path(platform: platform_signin.Platform) -> str:
    return f"/api/v1/sso/{platform.value}/callback"


@router.get(
    "/sso/{platform}/start",
    responses={**error_responses(404, 422), **REFUSED_PAGES},
    status_code=status.HTTP_303_SEE_OTHER,
)
def platform_start(
    platform: platform_signin.Platform,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    next_path: Annotated[
        str, Query(alias="next", max_length=2000, description="A path to go on to once signed in.")
    ] = "/",
) -> Response:
    """ "Continue with GitHub" / "Continue with Google", when the operator configured them."""
    redirect_uri = str(request.base_url).rstrip("/") + _platform_callback_path(platform)
    try:
        started = platform_signin.start(session, settings, platform, redirect_uri, next_path)
    except sso.ProviderUnavailable as exc:
        return refused_page(request, exc.message, status.HTTP_502_BAD_GATEWAY)
    response = RedirectResponse(started.authorization_url, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        STATE_COOKIE,
        started.state,
        max_age=int(sso.LOGIN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path=_platform_callback_path(platform),
    )
    return response


@router.get(
    "/sso/{platform}/callback",
    responses={**error_responses(404, 422), **REFUSED_PAGES},
    status_code=status.HTTP_303_SEE_OTHER,
)
def platform_callback(
    platform: platform_signin.Platform,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Where GitHub or Google sends the browser back: link on a verified email only."""
    return _finish_in_browser(
        request,
        settings,
        _platform_callback_path(platform),
        "sign-in provider",
        state,
        code,
        error,
        lambda: platform_signin.finish(session, settings, platform, state=state, code=code),
        session,
    )

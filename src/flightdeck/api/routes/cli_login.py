"""`flightdeck login` through the browser: authorize (in the browser) and token (the CLI)."""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from flightdeck.api.deps import SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.routes.sso import REFUSED_PAGES, refused_page
from flightdeck.api.schemas import NAME_RULE, LoginOut, UserOut
from flightdeck.services import auth, cli_login
from flightdeck.services.errors import InvalidInput

router = APIRouter(tags=["auth"])

AUTHORIZE_PATH = "/api/v1/auth/cli/authorize"


@router.get(
    "/auth/cli/authorize",
    responses={**error_responses(422), **REFUSED_PAGES},
    response_class=HTMLResponse,
)
def authorize(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    redirect_uri: Annotated[str, Query(max_length=300)],
    state: Annotated[str, Query(min_length=16, max_length=200)],
    code_challenge: Annotated[str, Query(max_length=128)],
    code_challenge_method: Annotated[str, Query(max_length=10)] = "S256",
) -> Response:
    """Where `flightdeck login` sends the browser. Not signed in: the sign-in page (password
    or SSO), which comes back here. Signed in: back to the CLI's loopback address with a
    one-time code, by a page (a redirect after the sign-in form would break the console's
    ``form-action`` policy)."""
    try:
        cli_login.check_redirect_uri(redirect_uri)
        cli_login.check_challenge(code_challenge, code_challenge_method)
    except InvalidInput as exc:
        return refused_page(request, exc.message, 400)
    cookie = request.cookies.get(settings.session_cookie_name)
    user = auth.user_for_session(session, cookie, settings.session_idle_seconds) if cookie else None
    if user is None:
        here = f"{AUTHORIZE_PATH}?{request.url.query}"
        return RedirectResponse("/login?next=" + quote(here, safe="/"), status_code=303)
    code = cli_login.issue_code(session, user, redirect_uri, code_challenge)
    target = html.escape(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", quote=True)
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="0;url={target}">'
        "<title>Signed in · flightdeck</title></head><body><main>"
        f"<p>Signed in as {html.escape(user.email)}.</p>"
        f'<p><a href="{target}">Return to the flightdeck CLI</a></p></main></body></html>',
        headers={"Cache-Control": "no-store"},
    )


class CliTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=200)
    code_verifier: str = Field(min_length=43, max_length=128)
    redirect_uri: str = Field(max_length=300)
    token_name: str = Field(max_length=100, json_schema_extra=NAME_RULE)


@router.post("/auth/cli/token", responses=error_responses(401, 422), response_model=LoginOut)
def token(body: CliTokenIn, session: SessionDep, settings: SettingsDep) -> LoginOut:
    """Trade the code and its PKCE verifier for an API token, once."""
    user, issued = cli_login.redeem(
        session,
        code=body.code,
        code_verifier=body.code_verifier,
        redirect_uri=body.redirect_uri,
        token_name=body.token_name,
        token_days=settings.cli_token_days,
    )
    return LoginOut(user=UserOut.model_validate(user), token=issued.secret)

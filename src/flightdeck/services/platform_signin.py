"""Platform sign-in options the operator configures: GitHub (its OAuth web flow) and Google
(an OpenID Connect provider). A first sign-in creates a password-less account with no
organization (it then creates one, or accepts an invitation); an existing account is
linked only on an email the platform says is verified.
"""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from flightdeck.config import Settings
from flightdeck.db.models import SsoLogin, User
from flightdeck.db.types import utcnow
from flightdeck.services import audit, sso, sso_enforcement
from flightdeck.services.errors import InvalidInput, NotFound
from flightdeck.services.secrets import hash_token, seal, unseal
from flightdeck.services.validation import normalise_email

GITHUB_API_VERSION = "2022-11-28"


class Platform(StrEnum):
    github = "github"
    google = "google"


LABELS = {Platform.github: "GitHub", Platform.google: "Google"}


@dataclass(frozen=True)
class PlatformSignedIn:
    user: User
    created: bool
    return_to: str


def enabled(settings: Settings) -> list[Platform]:
    """The platforms the sign-in page offers: those with a client id and secret."""
    found = []
    if settings.github_client_id and settings.github_client_secret:
        found.append(Platform.github)
    if settings.google_client_id and settings.google_client_secret:
        found.append(Platform.google)
    return found


def _require(settings: Settings, platform: Platform) -> None:
    if platform not in enabled(settings):
        raise NotFound(
            f"{LABELS[platform]} sign-in is not configured on this server; sign in with your "
            "password or your organization's SSO"
        )


def start(
    session: Session, settings: Settings, platform: Platform, redirect_uri: str, return_to: str
) -> sso.StartedLogin:
    _require(settings, platform)
    state, nonce, verifier = (random.token_urlsafe(32) for _ in range(3))
    now = utcnow()
    session.execute(delete(SsoLogin).where(SsoLogin.expires_at < now))
    session.add(
        SsoLogin(
            platform=platform.value,
            state_hash=hash_token(state),
            nonce_hash=hash_token(nonce),
            code_verifier_sealed=seal(verifier, settings.secret_key),
            redirect_uri=redirect_uri,
            return_to=sso.safe_return_to(return_to),
            expires_at=now + sso.LOGIN_LIFETIME,
        )
    )
    session.commit()
    query: dict[str, str] = {
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": sso._s256(verifier),
        "code_challenge_method": "S256",
    }
    if platform is Platform.github:
        endpoint = f"{settings.github_url.rstrip('/')}/login/oauth/authorize"
        query |= {"client_id": str(settings.github_client_id), "scope": "read:user user:email"}
    else:
        endpoint = str(sso.discover(settings.google_issuer.rstrip("/"))["authorization_endpoint"])
        query |= {
            "client_id": str(settings.google_client_id),
            "response_type": "code",
            "scope": "openid email profile",
            "nonce": nonce,
        }
    return sso.StartedLogin(authorization_url=f"{endpoint}?{urlencode(query)}", state=state)


def finish(
    session: Session, settings: Settings, platform: Platform, *, state: str, code: str
) -> PlatformSignedIn:
    _require(settings, platform)
    login = session.scalar(select(SsoLogin).where(SsoLogin.state_hash == hash_token(state)))
    if login is None or login.expires_at <= utcnow() or login.platform != platform.value:
        raise sso.SsoRefused("this sign-in is unknown, expired or already used; start again")
    session.delete(login)
    session.commit()
    verifier = unseal(login.code_verifier_sealed, settings.secret_key)
    if platform is Platform.github:
        email, name = _github_identity(settings, code, login.redirect_uri, verifier)
    else:
        email, name = _google_identity(settings, code, login, verifier)
    user, created = _link(session, email, name, platform)
    return PlatformSignedIn(
        user=user, created=created, return_to=sso.safe_return_to(login.return_to)
    )


def _call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = httpx.request(method, url, timeout=sso.HTTP_TIMEOUT_SECONDS, **kwargs)
    except httpx.HTTPError:
        raise sso.ProviderUnavailable(
            "the sign-in provider could not be reached; try again"
        ) from None
    if response.status_code >= 500:
        raise sso.ProviderUnavailable("the sign-in provider answered an error; try again shortly")
    return response


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _github_identity(
    settings: Settings, code: str, redirect_uri: str, verifier: str
) -> tuple[str, str]:
    """GitHub's web flow: trade the code (JSON answer: ``access_token``, or ``error`` with a
    200 status), then ``GET /user`` and ``GET /user/emails`` for the verified primary email."""
    answer = _json(
        _call(
            "POST",
            f"{settings.github_url.rstrip('/')}/login/oauth/access_token",
            data={
                "client_id": settings.github_client_id,
                "client_secret": settings.github_client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            headers={"Accept": "application/json"},
        )
    )
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        error = answer.get("error", "no access token") if isinstance(answer, dict) else "no token"
        raise sso.SsoRefused(f"GitHub refused the sign-in ({error}); start again")
    headers = {
        "Authorization": f"Bearer {answer['access_token']}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": GITHUB_API_VERSION,
    }
    api = settings.github_api_url.rstrip("/")
    profile = _call("GET", f"{api}/user", headers=headers)
    emails = _call("GET", f"{api}/user/emails", headers=headers)
    user, addresses = _json(profile), _json(emails)
    if profile.status_code != 200 or emails.status_code != 200 or not isinstance(addresses, list):
        raise sso.SsoRefused(
            "GitHub did not share the account's email addresses (the user:email scope); start again"
        )
    primary = [
        a
        for a in addresses
        if isinstance(a, dict) and a.get("primary") is True and a.get("verified") is True
    ]
    if not primary or not isinstance(primary[0].get("email"), str):
        raise sso.SsoRefused(
            "GitHub has no verified primary email for this account; verify it at GitHub first"
        )
    name = user.get("name") or user.get("login") or "" if isinstance(user, dict) else ""
    return str(primary[0]["email"]), str(name)


def _google_identity(
    settings: Settings, code: str, login: SsoLogin, verifier: str
) -> tuple[str, str]:
    issuer = settings.google_issuer.rstrip("/")
    document = sso.discover(issuer)
    response = _call(
        "POST",
        str(document["token_endpoint"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": login.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(str(settings.google_client_id), str(settings.google_client_secret)),
    )
    answer = _json(response)
    if (
        response.status_code != 200
        or not isinstance(answer, dict)
        or not isinstance(answer.get("id_token"), str)
    ):
        error = answer.get("error", "no ID token") if isinstance(answer, dict) else "no ID token"
        raise sso.SsoRefused(f"Google refused the sign-in ({error}); start again")
    claims = sso.verify_id_token(
        answer["id_token"],
        issuer=issuer,
        client_id=str(settings.google_client_id),
        jwks_uri=str(document["jwks_uri"]),
        nonce_hash=login.nonce_hash,
    )
    if not isinstance(claims.get("email"), str) or claims.get("email_verified") is not True:
        raise sso.SsoRefused("Google gave no verified email for this account")
    return str(claims["email"]), str(claims.get("name", ""))


def _link(session: Session, raw_email: str, name: str, platform: Platform) -> tuple[User, bool]:
    try:
        email = normalise_email(raw_email)
    except InvalidInput:
        raise sso.SsoRefused(f"{LABELS[platform]} gave an email that is not valid") from None
    user = session.scalar(select(User).where(User.email == email))
    created = user is None
    if user is None:
        user = User(email=email, name=name[:200], password_hash=sso.NO_PASSWORD)
        session.add(user)
        session.flush()
        audit.record(
            session,
            action=f"auth.{platform}.user.create",
            actor=user,
            organization_id=None,
            target=user.id,
        )
    else:
        # The organization's SSO only, when one of the user's organizations enforces it.
        sso_enforcement.check_password_sign_in(session, user, method=LABELS[platform])
    audit.record(
        session,
        action=f"auth.{platform}.sign_in",
        actor=user,
        organization_id=None,
        target=user.id,
    )
    session.commit()
    return user, created

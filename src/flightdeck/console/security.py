"""The console's browser protections: CSRF tokens, session cookies and response headers.

CSRF is a signed double submit: a random cookie (``flightdeck_csrf``) and, in each form, an
HMAC of that cookie and the session cookie under the server's secret key. A cross-site page
can neither read the cookie nor compute the HMAC, and a token stops working when the
session it was issued for ends.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TypeVar

from fastapi import Request, Response

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings

R = TypeVar("R", bound=Response)

CSRF_COOKIE = "flightdeck_csrf"
CSRF_FIELD = "csrf_token"

# No inline script or style anywhere; nothing framed; forms post only here.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def sessions_of(request: Request) -> SessionFactory:
    """The process's one AWS session factory (the API's ``AwsDep``)."""
    sessions: SessionFactory = request.app.state.aws
    return sessions


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def secure_cookies(request: Request) -> bool:
    """Secure cookies when configured, and whenever the page itself came over https."""
    return settings_of(request).cookie_secure or is_https(request)


def csrf_cookie_value(request: Request) -> str:
    """The request's CSRF cookie, or a new one (set on the response by ``apply_headers``)."""
    existing = getattr(request.state, "csrf_cookie", None)
    if isinstance(existing, str):
        return existing
    value = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf_cookie = value
    return value


def csrf_token(request: Request) -> str:
    settings = settings_of(request)
    session_cookie = request.cookies.get(settings.session_cookie_name, "")
    session_cookie = getattr(request.state, "new_session_cookie", session_cookie)
    message = f"{csrf_cookie_value(request)}|{session_cookie}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_valid(request: Request, submitted: str | None) -> bool:
    if not submitted or CSRF_COOKIE not in request.cookies:
        return False
    return hmac.compare_digest(csrf_token(request), submitted)


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    settings = settings_of(request)
    response.set_cookie(
        settings.session_cookie_name,
        secret,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(settings_of(request).session_cookie_name, path="/")


def apply_headers(request: Request, response: R, *, no_store: bool) -> R:
    """Every console response: CSP, no framing, and ``no-store`` where a page holds anything
    personal (every signed-in page, and any page with a secret on it)."""
    for name, value in PAGE_HEADERS.items():
        response.headers[name] = value
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(
            CSRF_COOKIE,
            csrf_cookie_value(request),
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request),
            path="/",
        )
    return response

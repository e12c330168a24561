"""Security headers on every response, as one ASGI middleware the API and the console share.

``nosniff`` stops browsers guessing content types, ``Referrer-Policy`` keeps URLs (which may
carry a verification or invitation token) out of other sites' logs, ``frame-ancestors
'none'`` forbids framing (clickjacking), and in production HSTS keeps browsers on HTTPS.
A header the application already set is left alone, so a page may choose a stricter one.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS_SECONDS = 365 * 24 * 3600


def security_headers(*, production: bool) -> dict[str, str]:
    """The headers every response carries (HSTS only in production: plain-HTTP loopback
    servers must not pin browsers to HTTPS)."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
    }
    if production:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}; includeSubDomains"
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, production: bool = False) -> None:
        self.app = app
        self.headers = security_headers(production=production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

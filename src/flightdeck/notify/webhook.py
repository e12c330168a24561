"""Posting one alert over HTTP(S), and which targets may be posted to.

The outbox (services/alerts/delivery.py) decides when; this module only sends, and refuses
addresses a server-side request must not reach (loopback, private, link-local: the cloud
metadata service) unless the operator allows them. The address is checked again at every
send, after resolving the name, so a name that later points inside is refused then too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The receiver did not take the alert (down, refused, not 2xx); retried later."""


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: dict[str, str]


class HttpPoster(Protocol):
    def post(self, request: HttpRequest) -> None: ...


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL with a host, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url[:80]!r} is not a URL"
    if parts.scheme not in ("http", "https"):
        return f"{url[:80]!r} is not an http(s) URL; use https://host/path"
    if not parts.hostname:
        return f"{url[:80]!r} has no host; use https://host/path"
    if parts.username or parts.password:
        return "put no user or password in the URL; webhooks are signed instead"
    return None


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def address_problem(url: str, allow_private: bool) -> str | None:
    """Why the control plane must not post to ``url``'s host (resolved now), or None."""
    host = urlsplit(url).hostname or ""
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(host, urlsplit(url).port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"{host!r} does not resolve; check the host name"
    for info in infos:
        address = str(info[4][0])
        if _internal(address):
            return (
                f"{host!r} is a loopback or private address ({address}); use a public "
                "receiver, or set FLIGHTDECK_ALERT_PRIVATE_TARGETS=true to allow it"
            )
    return None


class HttpxPoster:
    """Posts with a short timeout, no redirects (a redirect could lead inside)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def post(self, request: HttpRequest) -> None:
        problem = url_problem(request.url) or address_problem(request.url, self.allow_private)
        if problem:
            raise DeliveryFailed(problem)
        try:
            response = httpx.post(
                request.url,
                content=request.body,
                headers=request.headers,
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: the receiver did not answer") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}")

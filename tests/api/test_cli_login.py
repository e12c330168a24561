"""The CLI's browser login over HTTP: codes are one-time, PKCE-bound and loopback-only."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from api.conftest import PASSWORD, sign_up

VERIFIER = "a-pkce-verifier-of-more-than-forty-three-characters"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(
    b"=").decode()
REDIRECT = "http://127.0.0.1:53682/callback"


def _code(client: TestClient) -> str:
    page = client.get("/api/v1/auth/cli/authorize", params={
        "redirect_uri": REDIRECT, "state": "state-of-this-login", "code_challenge": CHALLENGE},
        follow_redirects=False)
    assert page.status_code == 200, page.text
    link = re.search(r'<a href="([^"]+)">Return', page.text)
    assert link is not None
    target = urlsplit(html.unescape(link.group(1)))
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query["state"] == ["state-of-this-login"]
    return query["code"][0]


def _trade(client: TestClient, code: str, verifier: str = VERIFIER,
           redirect_uri: str = REDIRECT) -> int:
    return client.post("/api/v1/auth/cli/token", json={
        "code": code, "code_verifier": verifier, "redirect_uri": redirect_uri,
        "token_name": "cli on laptop"}).status_code


def test_a_code_is_traded_once_with_its_verifier_and_redirect(client: TestClient) -> None:
    sign_up(client, "cli@acme.example", org="Acme")
    anonymous = client.get("/api/v1/auth/cli/authorize", params={
        "redirect_uri": REDIRECT, "state": "state-of-this-login", "code_challenge": CHALLENGE},
        follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=/api/v1/auth/cli/authorize")
    signed_in = client.post("/api/v1/auth/login",
                            json={"email": "cli@acme.example", "password": PASSWORD})
    assert signed_in.status_code == 200
    code = _code(client)
    assert _trade(client, code, verifier="x" * 50) == 401
    assert _trade(client, code) == 401  # spent by the failed attempt
    code = _code(client)
    assert _trade(client, code, redirect_uri="http://127.0.0.1:1/callback") == 401
    code = _code(client)
    client.cookies.clear()
    traded = client.post("/api/v1/auth/cli/token", json={
        "code": code, "code_verifier": VERIFIER, "redirect_uri": REDIRECT,
        "token_name": "cli on laptop"})
    assert traded.status_code == 200, traded.text
    token = traded.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["user"]["email"] == "cli@acme.example"
    assert _trade(client, code) == 401  # replayed

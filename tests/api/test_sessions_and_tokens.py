"""Browser sessions and API tokens: cookie attributes, expiry, revocation, hashing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.conftest import PASSWORD, sign_up, verification_token
from flightdeck.api.app import create_app
from flightdeck.config import Settings
from flightdeck.db.models import ApiToken, BrowserSession
from flightdeck.db.types import utcnow


def test_session_cookie_is_httponly_lax_and_signs_in_until_logout(client: TestClient) -> None:
    response = client.post("/api/v1/auth/signup", json={
        "email": "a@acme.example", "password": PASSWORD, "organization_name": "Acme"})
    assert response.status_code == 202 and "set-cookie" not in response.headers
    verified = client.post("/api/v1/auth/verify-email",
                           json={"token": verification_token(client, "a@acme.example"),
                                 "password": PASSWORD})
    cookie = verified.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # the embedded default serves plain HTTP on loopback
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/me").status_code == 401


def test_browser_sessions_end_when_idle_and_at_their_absolute_lifetime(
    client: TestClient,
) -> None:
    sign_up(client, "a@acme.example", org="Acme")
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    idle = client.app.state.settings.session_idle_seconds  # type: ignore[attr-defined]

    def signed_in_cookie() -> str:
        login = client.post("/api/v1/auth/login",
                            json={"email": "a@acme.example", "password": PASSWORD})
        assert login.status_code == 200
        cookie = client.cookies.get("flightdeck_session")
        assert cookie and client.get("/api/v1/me").status_code == 200
        return cookie

    signed_in_cookie()
    with factory() as session:  # no request for longer than the idle lifetime
        session.execute(update(BrowserSession).values(
            last_seen_at=utcnow() - timedelta(seconds=idle + 5)))
        session.commit()
    assert client.get("/api/v1/me").status_code == 401

    client.cookies.clear()
    signed_in_cookie()
    with factory() as session:  # recently active, but past the absolute lifetime
        session.execute(update(BrowserSession).values(
            last_seen_at=utcnow(), expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_cli_tokens_from_login_expire_after_the_configured_days(client: TestClient) -> None:
    sign_up(client, "a@acme.example", org="Acme")
    days = client.app.state.settings.cli_token_days  # type: ignore[attr-defined]
    login = client.post("/api/v1/auth/login", json={
        "email": "a@acme.example", "password": PASSWORD, "token_name": "laptop"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    listed = {t["name"]: t for t in client.get("/api/v1/tokens", headers=headers).json()}
    for name in ("laptop", "tests"):  # `tests` came from verify-email, also the CLI's path
        expires = datetime.fromisoformat(listed[name]["expires_at"])
        left = expires - utcnow()
        assert timedelta(days=days) - timedelta(minutes=5) < left <= timedelta(days=days)


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/api/v1/me"),
                     client.get("/api/v1/no-such-route")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # not in embedded mode


def test_production_forces_secure_cookies_and_sends_hsts(database_url: str,
                                                          tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("production mode runs on PostgreSQL only")
    settings = Settings(mode="production", data_dir=tmp_path, database_url=database_url,
                        secret_key="x" * 40, embedded_emulator=False,
                        run_worker_in_server=False, cookie_secure=False)
    assert settings.cookie_secure is True
    with TestClient(create_app(settings, migrate=False)) as production:
        production.post("/api/v1/auth/signup", json={
            "email": "a@acme.example", "password": PASSWORD, "organization_name": "Acme"})
        verified = production.post("/api/v1/auth/verify-email", json={
            "token": verification_token(production, "a@acme.example"), "password": PASSWORD})
        assert verified.status_code == 200
        assert "secure" in verified.headers["set-cookie"].lower()
        hsts = verified.headers["strict-transport-security"]
        assert "max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) > 0


def test_wrong_password_and_unknown_email_get_the_same_answer(client: TestClient) -> None:
    sign_up(client, "a@acme.example", org="Acme")
    wrong = client.post("/api/v1/auth/login", json={"email": "a@acme.example",
                                                    "password": "not the password!"})
    unknown = client.post("/api/v1/auth/login", json={"email": "nobody@acme.example",
                                                      "password": "not the password!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_tokens_and_sessions_are_stored_hashed_and_expire(client: TestClient) -> None:
    headers = sign_up(client, "a@acme.example", org="Acme")
    created = client.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": 1},
                          headers=headers).json()
    secret = created["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert secret not in stored and all(len(h) == 64 for h in stored)
        assert all(secret not in s for s in session.scalars(select(BrowserSession.token_hash)))
        session.execute(update(ApiToken).where(ApiToken.id == created["id"])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    expired = client.get("/api/v1/me", headers=bearer)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert all("token" not in t and secret not in str(t) for t in listed)


def test_bad_input_names_the_field(client: TestClient) -> None:
    headers = sign_up(client, "a@acme.example", org="Acme")
    bad = client.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": 0},
                      headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "expires_in_days"
    extra = client.post("/api/v1/organizations", json={"name": "X", "admin": True},
                        headers=headers)
    assert extra.status_code == 422 and extra.json()["error"]["field"] == "admin"
    missing = client.post("/api/v1/organizations", json={}, headers=headers)
    assert missing.json()["error"]["message"] == "name: is required"

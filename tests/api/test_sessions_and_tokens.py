"""Browser sessions and API tokens: cookie attributes, expiry, revocation, hashing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.conftest import PASSWORD, sign_up
from flightdeck.db.models import ApiToken, BrowserSession
from flightdeck.db.types import utcnow


def test_session_cookie_is_httponly_lax_and_signs_in_until_logout(client: TestClient) -> None:
    response = client.post("/api/v1/auth/signup", json={
        "email": "a@acme.example", "password": PASSWORD, "organization_name": "Acme"})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/me").status_code == 401


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

"""API test client over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flightdeck.api.app import create_app
from flightdeck.config import Settings
from flightdeck.services.auth import VERIFICATION_PREFIX
from flightdeck.services.notifications import list_outbox

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at minimal cost: the suite signs hundreds of users up."""
    from argon2 import PasswordHasher

    from flightdeck.services import secrets

    monkeypatch.setattr(
        secrets, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, emulator_env: object) -> Settings:
    """Settings read after ``emulator_env``: AWS calls go to the emulator over HTTP."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        run_worker_in_server=False,
        embedded_emulator=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, migrate=False)) as test_client:
        yield test_client


def verification_token(client: TestClient, email: str) -> str:
    """The token of the newest verification mail to ``email``, read from the outbox as the
    embedded default's user would."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        mails = list_outbox(session, email)
    for mail in mails:
        found = re.search(re.escape(VERIFICATION_PREFIX) + r"[A-Za-z0-9_-]+", mail.body)
        if found:
            return found.group(0)
    raise AssertionError(f"no verification mail to {email} in the outbox")


def sign_up(
    client: TestClient, email: str, org: str | None = None, invitation_token: str | None = None
) -> dict[str, str]:
    """Sign a user up, verify the address from the outbox and return bearer headers for an
    API token of theirs."""
    body: dict[str, str] = {"email": email, "password": PASSWORD}
    if org is not None:
        body["organization_name"] = org
    if invitation_token is not None:
        body["invitation_token"] = invitation_token
    response = client.post("/api/v1/auth/signup", json=body)
    assert response.status_code == 202, response.text
    verified = client.post(
        "/api/v1/auth/verify-email",
        json={"token": verification_token(client, email), "password": PASSWORD,
              "token_name": "tests"},
    )
    assert verified.status_code == 200, verified.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {verified.json()['token']}"}

"""Sign-in is throttled per account and per client address: a guesser is stopped, and the
account's owner is delayed for a short, capped time only."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.conftest import PASSWORD, sign_up
from flightdeck.api.app import create_app
from flightdeck.config import Settings
from flightdeck.db.models import AuditEvent

VICTIM = "victim@acme.example"
ACCOUNT_LOCK_CAP = 2


@pytest.fixture
def throttled_settings(settings: Settings) -> Settings:
    """The defaults, except a per-account lock capped at 2 s so the test can outwait it."""
    return settings.model_copy(update={"signin_account_lock_max_seconds": ACCOUNT_LOCK_CAP})


@pytest.fixture
def stranger(throttled_settings: Settings) -> Iterator[TestClient]:
    app = create_app(throttled_settings, migrate=False)
    with TestClient(app, client=("203.0.113.7", 40000)) as client:
        yield client


def _client_from(stranger: TestClient, address: str) -> TestClient:
    """Another caller of the same server, from another address."""
    return TestClient(stranger.app, client=(address, 40001))


def _login(client: TestClient, email: str, password: str) -> tuple[int, dict[str, str], str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code, dict(response.headers), response.text


def test_fifty_wrong_passwords_are_throttled_and_the_owner_still_gets_in(
    stranger: TestClient, throttled_settings: Settings
) -> None:
    owner = _client_from(stranger, "198.51.100.20")
    sign_up(owner, VICTIM, org="Acme")

    answers = [_login(stranger, VICTIM, f"wrong password {n:02d}") for n in range(50)]
    statuses = [status for status, _, _ in answers]
    free = throttled_settings.signin_free_failures_per_account
    assert statuses[:free] == [401] * free
    assert statuses.count(429) >= 40, statuses
    throttled = next(a for a in answers if a[0] == 429)
    retry_after = int(throttled[1]["retry-after"])
    assert 1 <= retry_after <= ACCOUNT_LOCK_CAP
    assert "try again in" in throttled[2] and "Traceback" not in throttled[2]
    # While the account is locked even the right password waits (it is not even checked).
    assert _login(stranger, VICTIM, PASSWORD)[0] == 429

    # The lock is short: once it is over, the owner signs in from their own address.
    time.sleep(ACCOUNT_LOCK_CAP + 0.2)
    status, _, text = _login(owner, VICTIM, PASSWORD)
    assert status == 200, text

    factory = stranger.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        locks = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.sign_in.locked")).all()
    assert locks and all(e.target == VICTIM for e in locks)
    assert {e.detail["address"] for e in locks} == {"203.0.113.7"}
    assert all(PASSWORD not in str(e.detail) for e in locks)


def test_the_per_address_limit_stops_a_stranger_spraying_many_accounts(
    stranger: TestClient, throttled_settings: Settings
) -> None:
    owner = _client_from(stranger, "198.51.100.20")
    sign_up(owner, VICTIM, org="Acme")
    limit = throttled_settings.signin_free_failures_per_address
    # One wrong guess at each of many accounts: no account's own limit is reached...
    statuses = [_login(stranger, f"user{n}@acme.example", "wrong password!")[0]
                for n in range(limit + 3)]
    assert statuses[:limit] == [401] * limit and 429 in statuses[limit:]
    # ...but the address is locked, and each failure after a lock doubles it.
    waits = []
    for n in range(3):
        status, headers, _ = _login(stranger, f"more{n}@acme.example", "wrong password!")
        if status == 429:
            waits.append(int(headers["retry-after"]))
            time.sleep(waits[-1] + 0.1)
            status = _login(stranger, f"more{n}@acme.example", "wrong password!")[0]
        assert status == 401
    status, headers, _ = _login(stranger, VICTIM, PASSWORD)
    assert status == 429 and int(headers["retry-after"]) >= 3
    # The account itself was never locked: its owner signs in at once from elsewhere.
    assert _login(owner, VICTIM, PASSWORD)[0] == 200


def test_a_right_password_clears_the_account_count(stranger: TestClient,
                                                    throttled_settings: Settings) -> None:
    sign_up(stranger, VICTIM, org="Acme")
    free = throttled_settings.signin_free_failures_per_account
    for _ in range(free - 1):
        assert _login(stranger, VICTIM, "typo in password")[0] == 401
    assert _login(stranger, VICTIM, PASSWORD)[0] == 200
    for _ in range(free - 1):  # the count started again
        assert _login(stranger, VICTIM, "typo in password")[0] == 401
    assert _login(stranger, VICTIM, PASSWORD)[0] == 200

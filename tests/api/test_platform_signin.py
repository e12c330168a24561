"""GitHub and Google as platform sign-in options: GitHub against a loopback server that
answers as GitHub's documented endpoints do (tests/support/github_server.py says which),
Google as an OpenID Connect provider (discovery) played by the real OIDC provider mock."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.conftest import sign_up
from flightdeck.config import Settings
from flightdeck.db.models import User
from flightdeck.services import sso
from support.github_server import GitHub, GitHubAccount, running_github
from support.oidc_provider import Provider, running_provider


@pytest.fixture
def github() -> Iterator[GitHub]:
    with running_github() as running:
        yield running


@pytest.fixture
def google() -> Iterator[Provider]:
    with running_provider() as running:
        yield running
    sso._jwks_cache.clear()


@pytest.fixture
def settings(settings: Settings, github: GitHub, google: Provider) -> Settings:
    return settings.model_copy(update={
        "github_client_id": "gh-client", "github_client_secret": "github-secret",
        "github_url": github.url, "github_api_url": github.url,
        "google_client_id": "google-client", "google_client_secret": "google-secret",
        "google_issuer": google.issuer,
    })


def _users(client: TestClient) -> set[str]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return set(session.scalars(select(User.email)))


def _github(client: TestClient, account: GitHubAccount, github: GitHub) -> httpx.Response:
    github.account = account
    client.cookies.clear()
    started = client.get("/api/v1/sso/github/start", follow_redirects=False)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith(f"{github.url}/login/oauth/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["gh-client"] and query["code_challenge_method"] == ["S256"]
    at_github = httpx.get(location)
    callback = urlsplit(at_github.headers["location"])
    assert callback.path == "/api/v1/sso/github/callback"
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_github_creates_an_account_from_the_verified_primary_email(
    client: TestClient, github: GitHub
) -> None:
    account = GitHubAccount("octo", "Octo Cat", [
        {"email": "octo@users.noreply.example", "primary": False, "verified": True,
         "visibility": None},
        {"email": "Octo@Example.com", "primary": True, "verified": True, "visibility": "public"},
    ])
    answer = _github(client, account, github)
    assert answer.status_code == 303, answer.text
    me = client.get("/api/v1/me").json()
    assert me["user"]["email"] == "octo@example.com" and me["organizations"] == []
    # No organization yet: creating one makes the user its Owner, as at sign-up.
    created = client.post("/api/v1/organizations", json={"name": "Octo Org"})
    assert created.status_code == 201 and created.json()["role"] == "owner"


def test_github_links_an_existing_account_only_on_a_verified_email(
    client: TestClient, github: GitHub
) -> None:
    sign_up(client, "dana@example.com", org="Dana Co")
    before = _users(client)
    unverified = GitHubAccount("mallory", "", [
        {"email": "dana@example.com", "primary": True, "verified": False, "visibility": None}])
    refused = _github(client, unverified, github)
    assert refused.status_code == 400 and "no verified primary email" in refused.text
    assert client.get("/api/v1/me").status_code == 401 and _users(client) == before
    verified = GitHubAccount("dana", "Dana", [
        {"email": "dana@example.com", "primary": True, "verified": True, "visibility": None}])
    assert _github(client, verified, github).status_code == 303
    me = client.get("/api/v1/me").json()
    assert me["user"]["email"] == "dana@example.com"
    assert [o["name"] for o in me["organizations"]] == ["Dana Co"]
    assert _users(client) == before


def test_github_refusals_create_nothing(client: TestClient, github: GitHub) -> None:
    before = _users(client)
    github.account = GitHubAccount("x", "", [
        {"email": "x@example.com", "primary": True, "verified": True, "visibility": None}])
    started = client.get("/api/v1/sso/github/start", follow_redirects=False)
    callback = urlsplit(httpx.get(started.headers["location"]).headers["location"])
    state = parse_qs(callback.query)["state"][0]
    forged = client.get(f"{callback.path}?code=made-up&state={state}", follow_redirects=False)
    assert forged.status_code == 400 and "bad_verification_code" in forged.text
    replay = client.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert replay.status_code == 400  # the state was spent by the first callback
    assert _users(client) == before


def _google(client: TestClient, google: Provider, sub: str) -> httpx.Response:
    client.cookies.clear()
    started = client.get("/api/v1/sso/google/start", follow_redirects=False)
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(f"{google.issuer}/oauth2/authorize?")
    answer = httpx.post(started.headers["location"], data={"sub": sub})
    callback = urlsplit(answer.headers["location"])
    assert callback.path == "/api/v1/sso/google/callback"
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_google_signs_in_with_a_verified_email_and_never_links_an_unverified_one(
    client: TestClient, google: Provider
) -> None:
    sign_up(client, "erin@example.com", org="Erin Co")
    before = _users(client)
    google.set_user("imposter", email="erin@example.com", email_verified=False)
    refused = _google(client, google, "imposter")
    assert refused.status_code == 400 and "no verified email" in refused.text
    assert client.get("/api/v1/me").status_code == 401 and _users(client) == before
    google.set_user("erin", email="erin@example.com", email_verified=True, name="Erin")
    assert _google(client, google, "erin").status_code == 303
    assert client.get("/api/v1/me").json()["user"]["email"] == "erin@example.com"
    google.set_user("new", email="new@example.com", email_verified=True)
    assert _google(client, google, "new").status_code == 303
    assert _users(client) == before | {"new@example.com"}


def test_the_sign_in_page_offers_what_the_operator_configured(client: TestClient) -> None:
    page = client.get("/login")
    assert "Continue with GitHub" in page.text and "Continue with Google" in page.text
    assert 'href="/api/v1/sso/github/start?next=/"' in page.text


def test_an_unconfigured_platform_is_not_offered(client: TestClient, settings: Settings) -> None:
    settings.github_client_id = None
    assert "Continue with GitHub" not in client.get("/login").text
    answer = client.get("/api/v1/sso/github/start", follow_redirects=False)
    assert answer.status_code == 404 and "not configured" in answer.json()["error"]["message"]

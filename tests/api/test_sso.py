"""Organization SSO over HTTP against a real OpenID Connect provider on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from api.conftest import sign_up
from flightdeck.config import Settings
from flightdeck.services import sso
from support.dns_server import DnsServer, running_dns_server
from support.oidc_provider import Provider, running_provider

DOMAIN = "sso.example"
CLIENT_ID = "flightdeck-tests"
CLIENT_SECRET = "a-client-secret-only-the-provider-knows"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running
    sso._jwks_cache.clear()


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with running_dns_server() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, dns: DnsServer) -> Settings:
    """The API's settings, resolving TXT records through the test's DNS server."""
    return settings.model_copy(update={"dns_nameserver": dns.address, "dns_port": dns.port})


@dataclass
class Org:
    id: str
    owner: dict[str, str]


def _claim(client: TestClient, provider: Provider, owner: dict[str, str], org_id: str,
           domain: str, client_id: str = CLIENT_ID) -> dict[str, object]:
    added = client.post(
        f"/api/v1/organizations/{org_id}/sso/providers",
        json={"issuer": provider.issuer, "client_id": client_id, "client_secret": CLIENT_SECRET,
              "domains": [domain], "default_role": "member"},
        headers=owner,
    )
    assert added.status_code == 201, added.text
    claim: dict[str, object] = added.json()["domains"][0]
    return claim


def _verify(client: TestClient, owner: dict[str, str], org_id: str, domain: str) -> httpx.Response:
    return client.post(f"/api/v1/organizations/{org_id}/sso/domains/{domain}/verify",
                       headers=owner)


@pytest.fixture
def org(client: TestClient, provider: Provider, dns: DnsServer) -> Org:
    """Acme, whose provider signs in the verified domain DOMAIN."""
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org_id = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    claim = _claim(client, provider, owner, org_id, DOMAIN.upper())
    dns.publish(str(claim["txt_record_name"]), str(claim["txt_record_value"]))
    verified = _verify(client, owner, org_id, DOMAIN)
    assert verified.status_code == 200 and verified.json()["verified"], verified.text
    return Org(id=org_id, owner=owner)


def _users(client: TestClient) -> set[str]:
    from sqlalchemy import select

    from flightdeck.db.models import User

    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return set(session.scalars(select(User.email)))


def _authorize(client: TestClient, email: str, sub: str, **override: str) -> str:
    """Start at flightdeck, sign in at the provider's form; the callback URL it redirects to."""
    started = client.get("/api/v1/sso/start", params={"email": email}, follow_redirects=False)
    assert started.status_code == 303, started.text
    url = started.headers["location"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]
    if override:
        parts = urlsplit(url)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()} | override
        url = urlunsplit(parts._replace(query=urlencode(params)))
    answer = httpx.post(url, data={"sub": sub})
    assert answer.status_code in (302, 303), answer.text
    callback = urlsplit(answer.headers["location"])
    assert callback.path == "/api/v1/sso/callback"
    return f"{callback.path}?{callback.query}"


def test_sign_in_provisions_the_user_with_the_configured_role(
    client: TestClient, org: Org, provider: Provider
) -> None:
    provider.set_user("alice", email=f"alice@{DOMAIN}", email_verified=True, name="Alice")
    callback = _authorize(client, f"alice@{DOMAIN}", "alice")
    signed_in = client.get(callback, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == f"alice@{DOMAIN}"
    assert [(o["id"], o["role"]) for o in me.json()["organizations"]] == [(org.id, "member")]
    # No password was ever set, so none signs Alice in.
    client.cookies.clear()
    for password in ("", "!sso", "flightdeck-timing-equaliser"):
        login = client.post("/api/v1/auth/login", json={"email": f"alice@{DOMAIN}",
                                                         "password": password or "x" * 12})
        assert login.status_code in (401, 422)
    events = client.get(f"/api/v1/organizations/{org.id}/audit-events", headers=org.owner).json()
    actions = {e["action"] for e in events}
    assert {"sso.provider.add", "sso.user.provision", "sso.sign_in"} <= actions
    assert CLIENT_SECRET not in str(events)


def test_provider_is_listed_without_its_secret_and_sealed_at_rest(
    client: TestClient, org: Org
) -> None:
    from flightdeck.db.models import IdentityProvider

    listed = client.get(f"/api/v1/organizations/{org.id}/sso/providers", headers=org.owner)
    assert listed.status_code == 200
    assert [d["domain"] for d in listed.json()[0]["domains"]] == [DOMAIN]
    assert CLIENT_SECRET not in listed.text
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        record = session.get(IdentityProvider, listed.json()[0]["id"])
        assert record is not None and CLIENT_SECRET not in record.client_secret_sealed
    removed = client.delete(
        f"/api/v1/organizations/{org.id}/sso/providers/{listed.json()[0]['id']}", headers=org.owner
    )
    assert removed.status_code == 204
    started = client.get("/api/v1/sso/start", params={"email": f"a@{DOMAIN}"},
                         follow_redirects=False)
    assert started.status_code == 404 and "sign in with your password" in started.text


def test_an_unverified_domain_routes_nothing_until_its_txt_record_holds_the_value(
    client: TestClient, org: Org, provider: Provider, dns: DnsServer
) -> None:
    claim = _claim(client, provider, org.owner, org.id, "Later.Example", client_id="second")
    assert claim["verified"] is False
    assert claim["txt_record_name"] == "_flightdeck-challenge.later.example"
    assert str(claim["txt_record_value"]).startswith("flightdeck-domain-verification=")
    started = client.get("/api/v1/sso/start", params={"email": "ann@later.example"},
                         follow_redirects=False)
    assert started.status_code == 404
    missing = _verify(client, org.owner, org.id, "later.example")
    assert missing.status_code == 422, missing.text
    error = missing.json()["error"]
    assert error["field"] == "domain"
    assert "_flightdeck-challenge.later.example" in error["message"]
    assert f"127.0.0.1:{dns.port}" in error["message"]
    dns.publish("_flightdeck-challenge.later.example", "flightdeck-domain-verification=guess")
    wrong = _verify(client, org.owner, org.id, "later.example")
    assert wrong.status_code == 422 and "it has: flightdeck-domain-verification=guess" in (
        wrong.json()["error"]["message"])
    dns.publish(str(claim["txt_record_name"]), str(claim["txt_record_value"]))
    verified = _verify(client, org.owner, org.id, "later.example")
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True and verified.json()["verified_at"]
    started = client.get("/api/v1/sso/start", params={"email": "ann@later.example"},
                         follow_redirects=False)
    assert started.status_code == 303
    assert "client_id=second" in started.headers["location"]
    events = client.get(f"/api/v1/organizations/{org.id}/audit-events", headers=org.owner).json()
    assert [e["target"] for e in events if e["action"] == "sso.domain.verify"].count(
        "later.example") == 1
    unknown = _verify(client, org.owner, org.id, "never.example")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "domain"


def test_a_domain_verified_by_one_organization_is_refused_to_others(
    client: TestClient, org: Org, provider: Provider, dns: DnsServer
) -> None:
    other = sign_up(client, "someone@other.example", org="Other")
    other_org = client.get("/api/v1/organizations", headers=other).json()[0]["id"]
    added = client.post(
        f"/api/v1/organizations/{other_org}/sso/providers",
        json={"issuer": provider.issuer, "client_id": "x", "client_secret": "y",
              "domains": [DOMAIN]},
        headers=other,
    )
    assert added.status_code == 409, added.text
    assert added.json()["error"]["field"] == "domains"
    assert "verified by another organization" in added.json()["error"]["message"]
    # Two organizations claim a domain nobody verified yet: the first to verify it wins.
    ours = _claim(client, provider, org.owner, org.id, "shared.example", client_id="a")
    theirs = _claim(client, provider, other, other_org, "shared.example", client_id="b")
    assert ours["txt_record_value"] != theirs["txt_record_value"]
    for claim in (ours, theirs):
        dns.publish(str(claim["txt_record_name"]), str(claim["txt_record_value"]))
    assert _verify(client, other, other_org, "shared.example").status_code == 200
    lost = _verify(client, org.owner, org.id, "shared.example")
    assert lost.status_code == 409, lost.text
    assert lost.json()["error"]["field"] == "domain"
    assert "one organization at most" in lost.json()["error"]["message"]
    started = client.get("/api/v1/sso/start", params={"email": "x@shared.example"},
                         follow_redirects=False)
    assert "client_id=b" in started.headers["location"]


def test_a_resolver_that_does_not_answer_is_a_clear_refusal(
    client: TestClient, provider: Provider, settings: Settings
) -> None:
    owner = sign_up(client, "owner@quiet.example", org="Quiet")
    org_id = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    _claim(client, provider, owner, org_id, "quiet.example")
    # Nothing listens there (the port of a socket just closed).
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.dns_port = closed_port
    answer = _verify(client, owner, org_id, "quiet.example")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "dns_unavailable"
    assert "did not answer" in answer.json()["error"]["message"]


def test_key_rotation_refetches_the_jwks(client: TestClient, org: Org, provider: Provider) -> None:
    sso._jwks_cache[f"{provider.issuer}/jwks"] = KeySet([RSAKey.generate_key(2048)])
    provider.set_user("rot", email=f"rot@{DOMAIN}", email_verified=True)
    signed_in = client.get(_authorize(client, f"rot@{DOMAIN}", "rot"), follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text


def _refused(client: TestClient, path: str, before: set[str], *, status: int = 400) -> str:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == status, answer.text
    assert "Sign-in refused" in answer.text
    assert _users(client) == before
    assert client.get("/api/v1/me").status_code == 401
    return answer.text


def test_missing_or_wrong_state_is_refused(
    client: TestClient, org: Org, provider: Provider
) -> None:
    provider.set_user("eve", email=f"eve@{DOMAIN}", email_verified=True)
    before = _users(client)
    callback = _authorize(client, f"eve@{DOMAIN}", "eve")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    _refused(client, f"/api/v1/sso/callback?code={code}", before)
    callback = _authorize(client, f"eve@{DOMAIN}", "eve")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    text = _refused(client, f"/api/v1/sso/callback?code={code}&state=forged", before)
    assert "not started in this browser" in text


def test_a_replayed_code_is_refused(client: TestClient, org: Org, provider: Provider) -> None:
    provider.set_user("bob", email=f"bob@{DOMAIN}", email_verified=True)
    first = _authorize(client, f"bob@{DOMAIN}", "bob")
    assert client.get(first, follow_redirects=False).status_code == 303
    client.cookies.clear()
    before = _users(client)
    # The same callback again, and the old code under a fresh sign-in's state.
    _refused(client, first, before)
    second = _authorize(client, f"bob@{DOMAIN}", "bob")
    state = parse_qs(urlsplit(second).query)["state"][0]
    old_code = parse_qs(urlsplit(first).query)["code"][0]
    text = _refused(client, f"/api/v1/sso/callback?code={old_code}&state={state}", before)
    assert "refused the sign-in" in text


def test_a_wrong_nonce_is_refused(client: TestClient, org: Org, provider: Provider) -> None:
    provider.set_user("mallory", email=f"mallory@{DOMAIN}", email_verified=True)
    before = _users(client)
    callback = _authorize(client, f"mallory@{DOMAIN}", "mallory", nonce="another-nonce")
    assert "nonce" in _refused(client, callback, before)


def test_an_email_domain_the_provider_does_not_serve_is_refused(
    client: TestClient, org: Org, provider: Provider
) -> None:
    provider.set_user("carol", email="carol@elsewhere.example", email_verified=True)
    before = _users(client)
    callback = _authorize(client, f"carol@{DOMAIN}", "carol")
    refusal = _refused(client, callback, before).lower()
    assert "elsewhere.example is not a verified domain" in refusal
    unknown = client.get("/api/v1/sso/start", params={"email": "carol@elsewhere.example"},
                         follow_redirects=False)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("email: no organization signs in")
    # From the console's form a person reads the answer: the same refusal, as a page.
    for email, code in (("carol@elsewhere.example", 404), ("not-an-address", 422)):
        shown = client.get("/api/v1/sso/start", params={"email": email, "page": "1"},
                           follow_redirects=False)
        assert shown.status_code == code and "text/html" in shown.headers["content-type"]
        assert "Sign-in refused" in shown.text and 'href="/login">Back to sign-in' in shown.text


def test_the_provider_down_is_refused_clearly(
    client: TestClient, org: Org, provider: Provider
) -> None:
    before = _users(client)
    provider.stop()
    started = client.get("/api/v1/sso/start", params={"email": f"dan@{DOMAIN}"},
                         follow_redirects=False)
    assert started.status_code == 502 and "discovery document" in started.text
    assert _users(client) == before


def _provider_token(provider: Provider, client_id: str, nonce: str) -> str:
    """An ID token the provider really issued, to a client of the test's choosing."""
    provider.set_user("zed", email=f"zed@{DOMAIN}", email_verified=True)
    redirect_uri = "http://127.0.0.1/callback"
    authorize = httpx.post(
        f"{provider.issuer}/oauth2/authorize?"
        + urlencode({"response_type": "code", "client_id": client_id, "scope": "openid email",
                     "redirect_uri": redirect_uri, "nonce": nonce, "state": "s"}),
        data={"sub": "zed"},
    )
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    token = httpx.post(f"{provider.issuer}/oauth2/token", auth=(client_id, "secret"),
                       data={"grant_type": "authorization_code", "code": code,
                             "redirect_uri": redirect_uri})
    assert token.status_code == 200, token.text
    return str(token.json()["id_token"])


def test_a_token_for_another_audience_is_refused(provider: Provider) -> None:
    from flightdeck.services.secrets import hash_token

    id_token = _provider_token(provider, "another-client", "n")
    check = {"issuer": provider.issuer, "jwks_uri": f"{provider.issuer}/jwks",
             "nonce_hash": hash_token("n")}
    assert sso.verify_id_token(id_token, client_id="another-client", **check)["sub"] == "zed"
    with pytest.raises(sso.SsoRefused, match="aud"):
        sso.verify_id_token(id_token, client_id=CLIENT_ID, **check)


def test_a_token_signed_by_an_unknown_key_is_refused(provider: Provider) -> None:
    from flightdeck.services.secrets import hash_token

    now = int(time.time())
    intruder = RSAKey.generate_key(2048, parameters={"kid": "intruder"})
    forged = jwt.encode(
        {"alg": "RS256", "kid": "intruder"},
        {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "zed", "iat": now, "exp": now + 60,
         "nonce": "n", "email": f"zed@{DOMAIN}"},
        intruder,
    )
    with pytest.raises(sso.SsoRefused, match="does not publish"):
        sso.verify_id_token(forged, issuer=provider.issuer, client_id=CLIENT_ID,
                            jwks_uri=f"{provider.issuer}/jwks", nonce_hash=hash_token("n"))


def test_the_console_sign_in_page_continues_with_sso(
    client: TestClient, org: Org, provider: Provider
) -> None:
    import html
    import re

    page = client.get("/login")
    assert page.status_code == 200
    assert 'action="/api/v1/sso/start"' in page.text and "Continue with SSO" in page.text
    provider.set_user("pia", email=f"pia@{DOMAIN}", email_verified=True)
    onward = client.get("/api/v1/sso/start", params={"email": f"pia@{DOMAIN}", "page": "1"})
    assert onward.status_code == 200, onward.text
    link = re.search(r'<a href="([^"]+)">Continue to your identity provider', onward.text)
    assert link is not None
    url = html.unescape(link.group(1))
    assert url.startswith(f"{provider.issuer}/oauth2/authorize?")
    answer = httpx.post(url, data={"sub": "pia"})
    callback = urlsplit(answer.headers["location"])
    signed_in = client.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert client.get("/api/v1/me").json()["user"]["email"] == f"pia@{DOMAIN}"


def _console_sign_in(client: TestClient, email: str) -> None:
    from api.conftest import PASSWORD
    from console.test_console_http import csrf

    signed_in = client.post("/login", data={"csrf_token": csrf(client, "/login"), "email": email,
                                            "password": PASSWORD}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text


def test_the_console_settings_page_shows_the_txt_record_and_verifies_it(
    client: TestClient, org: Org, provider: Provider, dns: DnsServer
) -> None:
    import html

    from console.test_console_http import csrf

    claim = _claim(client, provider, org.owner, org.id, "console.example", client_id="c")
    _console_sign_in(client, "owner@acme.example")
    settings_path = f"/o/{org.id}/settings"
    page = client.get(settings_path)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Single sign-on" in text and str(claim["txt_record_value"]) in text
    assert "_flightdeck-challenge.console.example" in text
    action = f"/o/{org.id}/settings/sso/domains/console.example/verify"
    refused = client.post(action, data={"csrf_token": csrf(client, settings_path)})
    assert refused.status_code == 422
    assert "no TXT record _flightdeck-challenge.console.example" in html.unescape(refused.text)
    dns.publish(str(claim["txt_record_name"]), str(claim["txt_record_value"]))
    verified = client.post(action, data={"csrf_token": csrf(client, settings_path)})
    assert verified.status_code == 200
    assert "console.example is verified" in verified.text
    assert f'action="{action}"' not in verified.text


def _sign_in(client: TestClient, email: str, sub: str) -> dict[str, object]:
    client.cookies.clear()
    signed_in = client.get(_authorize(client, email, sub), follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    me: dict[str, object] = client.get("/api/v1/me").json()
    return me


def test_the_groups_claim_maps_roles_at_provisioning_and_at_every_sign_in(
    client: TestClient, org: Org, provider: Provider
) -> None:
    workspace = client.post(f"/api/v1/organizations/{org.id}/workspaces",
                            json={"name": "analytics"}, headers=org.owner).json()["id"]
    listed = client.get(f"/api/v1/organizations/{org.id}/sso/providers", headers=org.owner)
    provider_id = listed.json()[0]["id"]
    path = f"/api/v1/organizations/{org.id}/sso/providers/{provider_id}/role-mapping"
    bad = client.put(path, json={"role_mapping": [{"group": "x", "organization_role": "owner",
                                                   "workspace": "analytics"}]}, headers=org.owner)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "role_mapping"
    mapped = client.put(path, headers=org.owner, json={
        "groups_claim": "roles",
        "role_mapping": [
            {"group": "platform-admins", "organization_role": "owner"},
            {"group": "data-eng", "workspace": "analytics", "workspace_role": "admin"},
            {"group": "analysts", "workspace": "analytics", "workspace_role": "member"},
            {"group": "ghosts", "workspace": "not-created-yet", "workspace_role": "admin"},
        ]})
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["groups_claim"] == "roles" and len(mapped.json()["role_mapping"]) == 4

    def roles(email: str) -> tuple[str, str | None]:
        from flightdeck.services import access

        with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
            from sqlalchemy import select

            from flightdeck.db.models import User

            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            org_role = access.find_org_membership(session, org.id, user.id)
            ws_role = access.find_workspace_membership(session, workspace, user.id)
            assert org_role is not None
            return org_role.role, ws_role.role if ws_role else None

    email = f"grace@{DOMAIN}"
    provider.set_user("grace", email=email, email_verified=True,
                      roles=["platform-admins", "data-eng", "ghosts"])
    _sign_in(client, email, "grace")
    assert roles(email) == ("owner", "admin")
    # The IdP moves Grace: the next sign-in follows, for the organization and the workspace.
    provider.set_user("grace", email=email, email_verified=True, roles=["analysts"])
    _sign_in(client, email, "grace")
    assert roles(email) == ("member", "member")
    from sqlalchemy import select

    from flightdeck.db.models import AuditEvent

    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        recorded = session.scalars(select(AuditEvent).where(AuditEvent.action.like("sso.%map")))
        maps = [(e.action, e.detail["from"], e.detail["to"]) for e in recorded]
    events = client.get(f"/api/v1/organizations/{org.id}/audit-events", headers=org.owner).json()
    assert sorted(maps, key=str) == sorted([
        ("sso.workspace_role.map", None, "admin"),
        ("sso.role.map", "owner", "member"),
        ("sso.workspace_role.map", "admin", "member"),
    ], key=str)
    assert "sso.provider.role_mapping" in {e["action"] for e in events}


def test_a_user_who_came_by_sso_founds_an_organization_as_with_a_password(
    client: TestClient, org: Org, provider: Provider, settings: Settings
) -> None:
    settings.hosted_mode = True
    provider.set_user("finn", email=f"finn@{DOMAIN}", email_verified=True)
    _sign_in(client, f"finn@{DOMAIN}", "finn")
    created = client.post("/api/v1/organizations", json={"name": "Finn Co"})
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "owner"
    workspaces = client.get(f"/api/v1/organizations/{created.json()['id']}/workspaces").json()
    assert [w["name"] for w in workspaces] == ["Finn Co"]
    members = client.get(
        f"/api/v1/organizations/{created.json()['id']}/workspaces/{workspaces[0]['id']}/members"
    ).json()
    assert [(m["email"], m["role"]) for m in members] == [(f"finn@{DOMAIN}", "admin")]


def _password_login(client: TestClient, email: str) -> httpx.Response:
    from api.conftest import PASSWORD

    client.cookies.clear()
    return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


def test_enforced_sso_refuses_passwords_except_to_break_glass_owners(
    client: TestClient, org: Org
) -> None:
    invite = client.post(f"/api/v1/organizations/{org.id}/members",
                         json={"email": "pat@acme.example"}, headers=org.owner)
    sign_up(client, "pat@acme.example", invitation_token=invite.json()["invitation_token"])
    members = client.get(f"/api/v1/organizations/{org.id}/members", headers=org.owner).json()
    ids = {m["email"]: m["user_id"] for m in members}
    assert _password_login(client, "pat@acme.example").status_code == 200

    enforcement = f"/api/v1/organizations/{org.id}/sso/enforcement"
    turned_on = client.put(enforcement, json={"enforced": True}, headers=org.owner)
    assert turned_on.status_code == 200 and turned_on.json()["enforced"] is True
    for email in ("pat@acme.example", "owner@acme.example"):
        refused = _password_login(client, email)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "sso_required"
        assert "turned off for members of Acme" in refused.json()["error"]["message"]
        assert client.get("/api/v1/me").status_code == 401

    glass = f"/api/v1/organizations/{org.id}/sso/break-glass"
    not_owner = client.put(f"{glass}/{ids['pat@acme.example']}", json={"break_glass": True},
                           headers=org.owner)
    assert not_owner.status_code == 422 and not_owner.json()["error"]["field"] == "break_glass"
    marked = client.put(f"{glass}/{ids['owner@acme.example']}", json={"break_glass": True},
                        headers=org.owner)
    assert marked.status_code == 200 and marked.json()["break_glass"] is True
    assert _password_login(client, "owner@acme.example").status_code == 200
    assert _password_login(client, "pat@acme.example").status_code == 401
    shown = client.get(enforcement, headers=org.owner).json()
    assert shown["break_glass_owners"] == [{"user_id": ids["owner@acme.example"],
                                            "email": "owner@acme.example"}]

    assert client.put(enforcement, json={"enforced": False}, headers=org.owner).status_code == 200
    assert _password_login(client, "pat@acme.example").status_code == 200
    events = client.get(f"/api/v1/organizations/{org.id}/audit-events", headers=org.owner).json()
    actions = [e["action"] for e in events]
    for action in ("sso.enforce.on", "sso.enforce.off", "sso.break_glass.mark",
                   "sso.break_glass.sign_in"):
        assert action in actions, action


def test_sso_cannot_be_enforced_before_a_domain_is_verified(
    client: TestClient, provider: Provider
) -> None:
    owner = sign_up(client, "owner@early.example", org="Early")
    org_id = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    _claim(client, provider, owner, org_id, "early.example")
    refused = client.put(f"/api/v1/organizations/{org_id}/sso/enforcement",
                         json={"enforced": True}, headers=owner)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "enforced"
    assert _password_login(client, "owner@early.example").status_code == 200


def test_the_console_settings_toggle_enforces_sso_and_the_sign_in_page_says_so(
    client: TestClient, org: Org
) -> None:
    from console.test_console_http import csrf

    _console_sign_in(client, "owner@acme.example")
    settings_path = f"/o/{org.id}/settings"
    assert "Enforce SSO</button>" in client.get(settings_path).text
    on = client.post(f"/o/{org.id}/settings/sso/enforcement",
                     data={"csrf_token": csrf(client, settings_path), "enforced": "on"})
    assert on.status_code == 200 and "SSO is enforced" in on.text
    assert "Stop enforcing SSO</button>" in on.text
    client.cookies.clear()
    from api.conftest import PASSWORD

    page = client.post("/login", data={"csrf_token": csrf(client, "/login"),
                                       "email": "owner@acme.example", "password": PASSWORD})
    assert page.status_code == 401 and "Continue with SSO" in page.text
    assert "password sign-in is turned off for members of Acme" in page.text

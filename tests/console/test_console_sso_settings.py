"""The settings page's single sign-on forms over HTTP, on SQLite and PostgreSQL: an Owner adds
an identity provider (its discovery read from a real OIDC provider on loopback), edits its
group rules, marks a break-glass Owner and removes the provider; refusals re-show the form
with the reason and never the client secret; Members are refused every form."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from console.test_console_http import csrf, sign_up
from flightdeck.db.models import AuditEvent, IdentityProvider
from support.oidc_provider import Provider, running_provider

SECRET = "client-secret-never-shown"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


def _post(client: TestClient, org: str, path: str, **fields: str) -> tuple[int, str]:
    form = {"csrf_token": csrf(client, f"{org}/settings"), **fields}
    response = client.post(f"{org}/settings/sso{path}", data=form)
    return response.status_code, response.text


def _add(client: TestClient, org: str, issuer: str, **overrides: str) -> tuple[int, str]:
    fields = {"issuer": issuer, "client_id": "flightdeck", "client_secret": SECRET,
              "domains": "acme.example, Corp.Example", "default_role": "member",
              "groups_claim": "groups", "role_mapping": "platform-admins=owner\n\n"}
    return _post(client, org, "/providers", **{**fields, **overrides})


def _audited(client: TestClient) -> list[str]:
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.created_at)))


def _provider_id(client: TestClient) -> str:
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        return str(session.scalars(select(IdentityProvider.id)).one())


def test_an_owner_manages_identity_providers_on_the_settings_page(
    client: TestClient, provider: Provider
) -> None:
    org = sign_up(client, "o@acme.example")
    empty = client.get(f"{org}/settings").text
    assert "No identity provider yet" in empty and "/api/v1/sso/callback" in empty

    status, page = _add(client, org, provider.issuer, role_mapping="admins")
    assert status == 422
    assert "role_mapping: &#39;admins&#39; is not GROUP=owner" in page
    assert SECRET not in page and f'value="{provider.issuer}"' in page  # typed values kept
    status, page = _add(client, org, "http://127.0.0.1:9")
    assert status == 422 and "could not read the discovery document" in page
    status, page = _add(client, org, provider.issuer, domains=" , ")
    assert status == 422 and "domains: give at least one email domain" in page

    status, page = _add(client, org, provider.issuer)
    assert status == 200, page
    assert f"{provider.issuer} added for acme.example, corp.example" in page
    assert page.count("_flightdeck-challenge.") == 2 and SECRET not in page
    assert "<code>platform-admins=owner</code>" in page
    provider_id = _provider_id(client)

    status, page = _post(client, org, f"/providers/{provider_id}/role-mapping",
                         groups_claim="roles", role_mapping="data-eng=workspace:etl:admin\n")
    assert status == 200 and "1 group rule saved" in page
    assert "<code>roles</code>" in page and "<code>data-eng=workspace:etl:admin</code>" in page
    status, page = _post(client, org, f"/providers/{provider_id}/role-mapping",
                         groups_claim="roles", role_mapping="data-eng=workspace:etl:boss")
    assert status == 422 and "workspace_role must be one of" in page

    owner_id = re.search(r'name="user_id" value="([^"]+)"', page)
    assert owner_id
    status, page = _post(client, org, "/break-glass", user_id=owner_id.group(1),
                         break_glass="on")
    assert status == 200 and "o@acme.example is a break-glass Owner" in page
    assert "Unmark o@acme.example as break-glass" in page
    status, page = _post(client, org, "/break-glass", user_id="nobody", break_glass="on")
    assert status == 422 and "user_id: no member of this organization" in page

    removal = f"{org}/settings/sso/providers/{provider_id}/delete"
    assert provider.issuer in client.get(removal).text
    token = csrf(client, removal)
    wrong = client.post(removal, data={"csrf_token": token, "confirm_name": "nope"})
    assert wrong.status_code == 422 and "type the identity provider" in wrong.text
    done = client.post(removal, data={"csrf_token": token, "confirm_name": provider.issuer})
    assert done.status_code == 200 and "No identity provider yet" in done.text
    assert {"sso.provider.add", "sso.provider.role_mapping", "sso.break_glass.mark",
            "sso.provider.remove"} <= set(_audited(client))


def test_a_member_is_refused_every_sso_form(client: TestClient, provider: Provider) -> None:
    org = sign_up(client, "o@acme.example")
    assert _add(client, org, provider.issuer)[0] == 200
    provider_id = _provider_id(client)
    invited = client.post(f"{org}/people/invite", data={
        "csrf_token": csrf(client, f"{org}/people"), "email": "m@acme.example",
        "role": "member"})
    link = re.search(r'id="invitation-link" class="wrap">([^<]+)<', invited.text)
    assert link, invited.text
    client.cookies.clear()
    sign_up(client, "m@acme.example", invitation=link.group(1).split("invitation=")[1])
    settings = client.get(f"{org}/settings").text
    assert "Single sign-on" not in settings and provider.issuer not in settings
    for path, fields in (
        ("/providers", {"issuer": provider.issuer, "client_id": "x", "client_secret": "y",
                        "domains": "m.example"}),
        (f"/providers/{provider_id}/role-mapping", {"role_mapping": "a=owner"}),
        ("/break-glass", {"user_id": "x", "break_glass": "on"}),
        (f"/providers/{provider_id}/delete", {"confirm_name": provider.issuer}),
    ):
        assert _post(client, org, path, **fields)[0] == 403, path
    assert client.get(f"{org}/settings/sso/providers/{provider_id}/delete").status_code == 403

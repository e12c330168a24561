"""The external ID: Owners only, audited on every reveal, and nowhere else; hosted mode."""

from __future__ import annotations

import logging

import pytest
import yaml
from fastapi.testclient import TestClient

from api.conftest import sign_up
from flightdeck.api.app import create_app
from flightdeck.config import Settings
from flightdeck.policy.trust import check_trust_policy


def test_external_id_is_revealed_only_to_owners_audited_and_never_elsewhere(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    invite = client.post(f"/api/v1/organizations/{org}/members",
                         json={"email": "m@acme.example"}, headers=owner).json()
    member = sign_up(client, "m@acme.example", invitation_token=invite["invitation_token"])

    bodies: list[str] = []
    for path in ("/me", "/organizations", f"/organizations/{org}",
                 f"/organizations/{org}/members", f"/organizations/{org}/workspaces",
                 f"/organizations/{org}/aws/accounts", f"/organizations/{org}/aws/role-template",
                 f"/organizations/{org}/audit-events", "/reference/aws"):
        for headers in (owner, member):
            bodies.append(client.get("/api/v1" + path, headers=headers).text)
    denied = client.get(f"/api/v1/organizations/{org}/aws-external-id", headers=member)
    assert denied.status_code == 403
    bodies.append(denied.text)

    revealed = client.get(f"/api/v1/organizations/{org}/aws-external-id", headers=owner)
    assert revealed.status_code == 200
    external_id = revealed.json()["external_id"]
    assert len(external_id) >= 32  # 160 bits, hex
    again = client.get(f"/api/v1/organizations/{org}/aws-external-id", headers=owner).json()
    assert again["external_id"] == external_id

    assert all(external_id not in body for body in bodies)
    assert external_id not in caplog.text
    events = client.get(f"/api/v1/organizations/{org}/audit-events", headers=owner).json()
    reveals = [e for e in events if e["action"] == "organization.external_id.reveal"]
    owner_id = client.get("/api/v1/me", headers=owner).json()["user"]["id"]
    assert len(reveals) == 2 and all(e["actor_user_id"] == owner_id for e in reveals)
    assert external_id not in str(events)


def test_every_organization_gets_its_own_external_id(client: TestClient) -> None:
    seen = set()
    for index in range(5):
        headers = sign_up(client, f"owner{index}@example.com", org=f"Org {index}")
        org = client.get("/api/v1/organizations", headers=headers).json()[0]["id"]
        seen.add(client.get(f"/api/v1/organizations/{org}/aws-external-id",
                            headers=headers).json()["external_id"])
    assert len(seen) == 5


def test_role_template_trusts_only_the_platform_with_the_external_id(
    client: TestClient, settings: Settings
) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    response = client.get(f"/api/v1/organizations/{org}/aws/role-template", headers=owner)
    assert response.headers["content-type"].startswith("application/yaml")
    template = yaml.safe_load(response.text)
    external_id = client.get(f"/api/v1/organizations/{org}/aws-external-id",
                             headers=owner).json()["external_id"]
    trust = template["Resources"]["CrossAccountRole"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = external_id
    assert settings.platform_account_id
    assert check_trust_policy(trust, settings.platform_account_id, external_id).ok
    assert external_id not in response.text  # a parameter, filled in by the customer

    setup = client.get(f"/api/v1/organizations/{org}/aws/role-setup", headers=owner).json()
    assert setup["platform_account_id"] == settings.platform_account_id
    assert setup["quick_create_url"] is None and "https" in setup["note"]


def test_hosted_mode_makes_the_first_user_admin_of_a_workspace_named_after_the_org(
    settings: Settings,
) -> None:
    hosted = settings.model_copy(update={"hosted_mode": True})
    with TestClient(create_app(hosted, migrate=False)) as client:
        owner = sign_up(client, "founder@acme.example", org="Acme Data")
        org = client.get("/api/v1/organizations", headers=owner).json()[0]
        assert org["role"] == "owner"
        workspaces = client.get(f"/api/v1/organizations/{org['id']}/workspaces",
                                headers=owner).json()
        assert [w["name"] for w in workspaces] == ["Acme Data"]
        members = client.get(
            f"/api/v1/organizations/{org['id']}/workspaces/{workspaces[0]['id']}/members",
            headers=owner).json()
        assert [(m["email"], m["role"]) for m in members] == [("founder@acme.example", "admin")]


def test_without_hosted_mode_no_workspace_is_made(client: TestClient) -> None:
    owner = sign_up(client, "founder@acme.example", org="Acme Data")
    org = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    assert client.get(f"/api/v1/organizations/{org}/workspaces", headers=owner).json() == []

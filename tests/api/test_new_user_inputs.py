"""What a new user trips on, through the API: one organization per slug, workspace names
unique ignoring case, account IDs checked before anything is looked up, limits stated by
their rule (never a validator's wording), and "not found" that names what was asked for."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.conftest import sign_up
from flightdeck.aws.reference import ACCOUNT_ID_RULE
from flightdeck.services.errors import InvalidInput
from flightdeck.services.validation import NAME_RULE, check_name

API = "/api/v1"


def _org(client: TestClient, headers: dict[str, str]) -> str:
    return str(client.get(f"{API}/organizations", headers=headers).json()[0]["id"])


def _error(response: object) -> str:
    return str(response.json()["error"]["message"])  # type: ignore[attr-defined]


def test_organizations_get_unique_slugs(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    for name in ("acme", " Acme ", "Acme  Corp."):
        created = client.post(f"{API}/organizations", json={"name": name}, headers=owner)
        assert created.status_code == 201, created.text
    listed = client.get(f"{API}/organizations", headers=owner).json()
    assert [(o["name"], o["slug"]) for o in listed] == [
        ("Acme", "acme"),
        ("acme", "acme-2"),
        ("Acme", "acme-3"),
        ("Acme  Corp.", "acme-corp"),
    ]
    shown = client.get(f"{API}/organizations/{listed[1]['id']}", headers=owner).json()
    assert shown["slug"] == "acme-2"
    assert {o["slug"] for o in client.get(f"{API}/me", headers=owner).json()["organizations"]} == {
        "acme",
        "acme-2",
        "acme-3",
        "acme-corp",
    }


def test_workspace_names_are_unique_ignoring_case_and_spaces(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = _org(client, owner)
    path = f"{API}/organizations/{org}/workspaces"
    assert client.post(path, json={"name": "Analytics"}, headers=owner).status_code == 201
    for same in ("analytics", " ANALYTICS "):
        refused = client.post(path, json={"name": same}, headers=owner)
        assert refused.status_code == 409
        assert _error(refused) == (
            "name: a workspace named 'Analytics' already exists (names are compared ignoring "
            "case and surrounding spaces); choose another name"
        )
    # Another organization may use the name.
    other = sign_up(client, "other@beta.example", org="Beta")
    other_path = f"{API}/organizations/{_org(client, other)}/workspaces"
    assert client.post(other_path, json={"name": "analytics"}, headers=other).status_code == 201


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", "x" * 300])
def test_an_account_id_is_checked_first_everywhere(client: TestClient, bad: str) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = f"{API}/organizations/{_org(client, owner)}"
    ref_rule = f"{bad!r} is not {ACCOUNT_ID_RULE} (or the account's flightdeck id)"
    answers = {
        "cluster create": client.post(
            f"{org}/clusters", headers=owner, json={"account": bad, "name": "one"}
        ),
        "preflight": client.post(f"{org}/aws/accounts/{bad}/preflight", headers=owner, json={}),
        "verify": client.post(f"{org}/aws/accounts/{bad}/verify", headers=owner),
        "show": client.get(f"{org}/aws/accounts/{bad}", headers=owner),
    }
    for what, answer in answers.items():
        assert answer.status_code == 422, (what, answer.text)
        assert _error(answer) == f"account: {ref_rule}", what
    registered = client.post(f"{org}/aws/accounts", headers=owner, json={"account_id": bad})
    assert registered.status_code == 422
    assert _error(registered) == f"account_id: {bad!r} is not {ACCOUNT_ID_RULE}"


def test_a_registered_format_that_is_unknown_says_how_to_register(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = f"{API}/organizations/{_org(client, owner)}"
    unknown = client.post(f"{org}/aws/accounts/123456789012/verify", headers=owner)
    assert unknown.status_code == 404
    assert "123456789012" in _error(unknown) and "flightdeck aws account add" in _error(unknown)


def _service_message(name: str, field: str) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_name(name, field)
    return refused.value.message


@pytest.mark.parametrize("name", ["x" * 65, "x" * 101, "x" * 5000, "-starts-badly", ""])
def test_a_name_limit_is_stated_by_its_rule_the_same_everywhere(
    client: TestClient, name: str
) -> None:
    signup = client.post(
        f"{API}/auth/signup",
        json={
            "email": "new@acme.example",
            "password": "correct horse battery staple",
            "organization_name": name,
        },
    )
    assert signup.status_code == 422
    assert _error(signup) == _service_message(name, "organization_name")
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = f"{API}/organizations/{_org(client, owner)}"
    answers = [
        client.post(f"{org}/workspaces", json={"name": name}, headers=owner),
        client.post(f"{API}/organizations", json={"name": name}, headers=owner),
        client.post(
            f"{org}/clusters", json={"account": "123456789012", "name": name}, headers=owner
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert _error(answer) == _service_message(name, "name")
        assert NAME_RULE in _error(answer)
        assert "String should" not in _error(answer)


def test_other_limits_say_their_bound_in_words(client: TestClient) -> None:
    long_password = client.post(
        f"{API}/auth/signup", json={"email": "new@acme.example", "password": "p" * 2000}
    )
    assert long_password.status_code == 422
    assert _error(long_password) == "password: must be at most 1024 characters long"
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = f"{API}/organizations/{_org(client, owner)}"
    nodes = client.post(
        f"{org}/clusters",
        headers=owner,
        json={"account": "123456789012", "name": "one", "max_nodes": "many"},
    )
    assert nodes.status_code == 422 and _error(nodes) == "max_nodes: must be a whole number"
    extra = client.post(f"{org}/workspaces", headers=owner, json={"name": "a", "colour": "x"})
    assert _error(extra) == "colour: is not a field of this request; remove it"


def test_unknown_names_are_named_with_the_list_command(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = f"{API}/organizations/{_org(client, owner)}"
    for path, expected in [
        ("/clusters/nope", "no cluster 'nope' in this organization; see `flightdeck cluster list`"),
        (
            "/deployments/nope",
            "no Deployment 'nope' in this organization; see `flightdeck deployment list`",
        ),
    ]:
        answer = client.get(org + path, headers=owner)
        assert answer.status_code == 404
        assert _error(answer) == expected
    deleted = client.delete(f"{org}/clusters/nope", headers=owner)
    assert deleted.status_code == 404 and "'nope'" in _error(deleted)

"""A Deployment's environment variables and Airflow objects over HTTP, where no Airflow is
needed: secrets sealed and never returned, the timeline naming what a change restarts,
bad input refused with one line naming the field (before any Airflow is reached), the
asleep answer while it hibernates, and the masking rule. With real Airflow:
tests/cli/test_deployment_config_cli.py."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.test_authorization_matrix import World, build_world
from flightdeck.services.deployments.airflow_objects import (
    connection_view,
    is_sensitive,
    variable_view,
)

SECRET = "sealed-value-3b9d-never-shown"


def _base(world: World) -> str:
    return f"/api/v1/organizations/{world.ids['org']}/deployments/analytics"


def _error(response: Any, status: int) -> tuple[str, str | None]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    return error["message"], error["field"]


def test_variables_are_set_listed_and_unset_and_secrets_never_come_back(
    client: TestClient,
) -> None:
    world = build_world(client)
    base, owner = _base(world), world.headers["owner"]
    plain = client.patch(f"{base}/environment", headers=owner,
                         json={"variables": {"TZ": "UTC", "REPORTS": "s3://r"}})
    assert plain.status_code == 200, plain.text
    secret = client.patch(f"{base}/environment", headers=owner,
                          json={"variables": {"API_KEY": SECRET}, "secret": True})
    assert secret.status_code == 200 and SECRET not in secret.text
    assert secret.json()["generation"] == plain.json()["generation"] + 1

    listed = client.get(f"{base}/environment", headers=world.headers["workspace_admin"])
    assert listed.json() == [
        {"key": "API_KEY", "secret": True, "value": None},
        {"key": "REPORTS", "secret": False, "value": "s3://r"},
        {"key": "TZ", "secret": False, "value": "UTC"},
    ]
    # A plain value given for a secret's name makes it plain (and the secret is dropped).
    moved = client.patch(f"{base}/environment", headers=owner,
                         json={"variables": {"API_KEY": "public"}})
    assert moved.json()["secret_environment_keys"] == []
    assert moved.json()["environment"]["API_KEY"] == "public"
    gone = client.patch(f"{base}/environment", headers=owner, json={"unset": ["TZ", "API_KEY"]})
    assert gone.json()["environment"] == {"REPORTS": "s3://r"}

    events = client.get(f"{base}/events", headers=owner)
    assert SECRET not in events.text
    messages = [e["message"] for e in events.json()]
    assert any(m.endswith("secret API_KEY; restarts every component") for m in messages)


def test_an_api_server_option_restarts_the_api_server_alone_on_the_timeline(
    client: TestClient,
) -> None:
    world = build_world(client)
    base, owner = _base(world), world.headers["owner"]
    for variables, restarts in (
        ({"AIRFLOW__API__EXPOSE_CONFIG": "False"}, "restarts api-server only"),
        ({"AIRFLOW__API__WORKERS": "2", "AIRFLOW__WEBSERVER__INSTANCE_NAME": "etl"},
         "restarts api-server only"),
        ({"AIRFLOW__API__WORKERS": "3", "TZ": "UTC"}, "restarts every component"),
    ):
        assert client.patch(f"{base}/environment", headers=owner,
                            json={"variables": variables}).status_code == 200
        newest = client.get(f"{base}/events", headers=owner).json()[0]["message"]
        assert newest.endswith(restarts), newest
    # Not a variable change: every component restarts whatever else changed with it.
    client.patch(base, headers=owner, json={"max_workers": 3})
    assert client.get(f"{base}/events", headers=owner).json()[0]["message"].endswith(
        "restarts every component")


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"variables": {"": "x"}}, "environment", "'' is not a valid variable name"),
        ({"variables": {"A=B": "x"}}, "environment", "'A=B' is not a valid variable name"),
        ({"variables": {"PATH": "/x"}, "secret": True}, "secret_environment",
         "PATH is set by flightdeck"),
        ({"unset": ["NOPE"]}, "unset", "'NOPE' is not a variable of analytics"),
        ({}, "variables", "nothing to change"),
        ({"variables": {"X": "1"}, "unset": ["X"]}, "unset", "both set and unset"),
    ],
)
def test_bad_variable_changes_name_the_field(
    client: TestClient, body: dict[str, Any], field: str, text: str
) -> None:
    world = build_world(client)
    message, named = _error(
        client.patch(f"{_base(world)}/environment", headers=world.headers["owner"], json=body),
        422,
    )
    assert named == field and message.startswith(f"{field}: ") and text in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "text"),
    [
        ("PUT", "airflow/variables/a=b", {"value": "x"}, "key", "'a=b' is not a valid variable"),
        ("PUT", "airflow/pools/etl", {"slots": -5}, "slots", "whole number from -1"),
        ("PUT", "airflow/pools/etl", {"slots": "many"}, "slots", ""),
        ("PUT", "airflow/pools/bad%20name", {"slots": 1}, "name", "not a valid pool name"),
        ("PUT", "airflow/connections/pg", {"conn_type": " "}, "conn_type", "required"),
        ("PUT", "airflow/connections/pg", {"conn_type": "postgres", "port": 70000}, "port",
         "between 1 and 65535"),
        ("DELETE", "airflow/connections/bad%20id", None, "connection_id", "not a valid"),
        ("POST", "airflow/settings", {"settings": "airflow: [unclosed"}, "settings",
         "airflow_settings.yaml"),
        ("POST", "airflow/settings", {"settings": "airflow:\n  pools:\n    - pool_name: p\n"
                                                  "      pool_slot: -9\n"}, "settings",
         "pool_slot must be a whole number"),
        ("POST", "airflow/settings", {"settings": "airflow:\n  variables:\n"
                                                  "    - variable_name: a=b\n"
                                                  "      variable_value: x\n"}, "settings",
         "airflow_settings.yaml key: 'a=b' is not a valid variable name"),
    ],
)
def test_bad_airflow_objects_are_refused_before_airflow_is_reached(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None, field: str,
    text: str,
) -> None:
    world = build_world(client)
    response = client.request(method, f"{_base(world)}/{path}", json=body,
                              headers=world.headers["owner"])
    message, named = _error(response, 422)
    assert named == field and text in message, message
    assert "\n" not in message


def test_a_hibernating_deployment_gives_the_asleep_answer(client: TestClient) -> None:
    world = build_world(client)
    base, owner = _base(world), world.headers["owner"]
    assert client.post(f"{base}/hibernate", headers=owner, json={}).status_code == 202
    for method, path, body in (("GET", "airflow/pools", None),
                               ("PUT", "airflow/variables/region", {"value": "eu"})):
        message, _ = _error(client.request(method, f"{base}/{path}", json=body, headers=owner),
                            409)
        assert "Deployment analytics is hibernating until someone wakes it" in message
        assert "flightdeck deployment wake-up analytics" in message


def test_what_is_masked_follows_airflows_rule() -> None:
    assert is_sensitive("db_password") and is_sensitive("My-API-Key") and is_sensitive("TOKEN")
    assert not is_sensitive("region")
    assert variable_view({"key": "slack_webhook_url", "value": "https://x"}).value == "***"
    assert variable_view({"key": "region", "value": "eu"}).value == "eu"
    conn = connection_view({
        "connection_id": "c", "conn_type": "http", "password": "pw",
        "extra": '{"timeout": 3, "nested": {"client_secret": "s"}, "headers": [{"bearer": "b"}]}',
    })
    assert conn.password == "***"
    assert conn.extra == {"timeout": 3, "nested": {"client_secret": "***"},
                          "headers": [{"bearer": "***"}]}
    assert connection_view({"connection_id": "c", "conn_type": "http",
                            "extra": "not json"}).extra == {"(not JSON)": "***"}

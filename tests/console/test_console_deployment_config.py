"""The Deployment page's environment variables and its Airflow objects page, over HTTP:
CSRF-protected forms, a secret shown only as "set", the timeline naming what restarts,
the API's own refusals (one line naming the field), and the page telling why its Airflow
cannot be read when it does not run. Real Airflow: tests/cli/test_deployment_config_cli.py."""

from __future__ import annotations

from fastapi.testclient import TestClient

from console.test_console_http import _active_cluster, csrf, sign_up

SECRET = "console-secret-6d2f-never-shown"


def _deployment(client: TestClient) -> str:
    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    client.post(f"{org}/workspaces", data={"csrf_token": csrf(client, f"{org}/workspaces"),
                                           "name": "data"})
    created = client.post(f"{org}/deployments", follow_redirects=False, data={
        "csrf_token": csrf(client, f"{org}/deployments/new"), "name": "etl", "workspace": "data",
        "cluster": cluster, "airflow_version": "3.1.0", "executor": "CeleryExecutor",
        "scheduler_size": "small", "scheduler_count": "1", "min_workers": "1",
        "max_workers": "10", "tasks_per_worker": "5", "environment": "",
        "secret_environment": ""})
    assert created.status_code == 303, created.text
    return f"{org}{created.headers['location'].split(org.rsplit('/', 1)[1], 1)[1]}"


def test_variables_are_set_from_the_page_secrets_show_as_set_and_the_timeline_says_what_restarts(
    client: TestClient,
) -> None:
    page = _deployment(client)
    for name, value, secret in (("API_TOKEN", SECRET, "yes"),
                                ("AIRFLOW__API__EXPOSE_CONFIG", "False", "")):
        saved = client.post(f"{page}/environment", follow_redirects=False, data={
            "csrf_token": csrf(client, page), "name": name, "value": value, "secret": secret})
        assert saved.status_code == 303, saved.text
    shown = client.get(page).text
    assert "API_TOKEN" in shown and "secret, never shown" in shown and SECRET not in shown
    assert "restarts api-server only" in shown and "restarts every component" in shown
    assert "/airflow\">list, add and delete them" in shown

    forged = client.post(f"{page}/environment", data={"csrf_token": "forged", "name": "X",
                                                      "value": "1"})
    assert forged.status_code == 403
    removed = client.post(f"{page}/environment/API_TOKEN/remove", follow_redirects=False,
                          data={"csrf_token": csrf(client, page)})
    assert removed.status_code == 303
    after = client.get(page).text
    assert "secret, never shown" not in after  # its row is gone; the timeline keeps the name
    assert "changed by o@acme.example: secret API_TOKEN; restarts every component" in after


def test_the_airflow_objects_page_says_why_it_cannot_read_and_refuses_bad_input(
    client: TestClient,
) -> None:
    page = _deployment(client) + "/airflow"
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    assert "not running on this host" in shown.text  # no Airflow runs in this test
    assert 'id="pool-add-heading"' in shown.text and 'id="connection-add-heading"' in shown.text

    refused = client.post(f"{page}/pools", data={
        "csrf_token": csrf(client, page), "name": "etl", "slots": "many", "description": ""})
    assert refused.status_code == 422
    assert "slots: must be a whole number" in refused.text
    refused = client.post(f"{page}/connections", data={
        "csrf_token": csrf(client, page), "connection_id": "bad id", "conn_type": "http",
        "password": "typed-pw-4411"})
    assert refused.status_code == 422
    assert "connection_id: &#39;bad id&#39; is not a valid connection name" in refused.text
    assert "typed-pw-4411" not in refused.text
    refused = client.post(f"{page}/variables", data={
        "csrf_token": csrf(client, page), "key": "ok", "value": "sensitive-typed-value"})
    assert refused.status_code == 409 and "not running on this host" in refused.text
    assert "sensitive-typed-value" not in refused.text
    forged = client.post(f"{page}/pools", data={"csrf_token": "forged", "name": "p", "slots": "1"})
    assert forged.status_code == 403

"""The API says what really runs beside what was requested: LocalExecutor on the local runtime."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.test_authorization_matrix import build_world


def test_a_local_deployment_shows_the_executor_it_really_runs(client: TestClient) -> None:
    world = build_world(client)
    owner, org = world.headers["owner"], world.ids["org"]
    base = f"/api/v1/organizations/{org}/deployments"
    created = client.post(base, headers=owner, json={
        "name": "etl", "workspace": "data", "cluster": "existing",
        "executor": "KubernetesExecutor"})
    assert created.status_code == 201, created.text
    for body in (created.json(), client.get(f"{base}/etl", headers=owner).json(),
                 *[d for d in client.get(base, headers=owner).json() if d["name"] == "etl"]):
        assert body["executor"] == "KubernetesExecutor", "the request is kept"
        if body["runtime"] == "local":
            assert body["running_executor"] == "LocalExecutor"
        else:
            assert body["running_executor"] == "KubernetesExecutor"

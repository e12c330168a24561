"""Deployments over HTTP: secret values are write-only, uploads are streamed and bounded."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient

from api.test_authorization_matrix import build_world

SECRET = "value-that-must-never-come-back"


def _bundle() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"x = 1\n"
        info = tarfile.TarInfo("dags/a.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_secret_environment_values_are_never_returned(client: TestClient) -> None:
    world = build_world(client)
    owner, org = world.headers["owner"], world.ids["org"]
    base = f"/api/v1/organizations/{org}/deployments"
    created = client.post(base, headers=owner, json={
        "name": "etl", "workspace": "data", "cluster": "existing",
        "environment": {"TZ": "UTC"}, "secret_environment": {"API_KEY": SECRET}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret_environment_keys"] == ["API_KEY"]
    assert body["environment"] == {"TZ": "UTC"}
    assert body["phase"] == "Creating" and body["airflow_version"]
    patched = client.patch(f"{base}/etl", headers=owner,
                           json={"secret_environment": {"OTHER": SECRET}})
    assert patched.status_code == 200 and patched.json()["generation"] == 2
    responses = [created, patched, client.get(base, headers=owner),
                 client.get(f"{base}/etl", headers=owner),
                 client.get(f"/api/v1/organizations/{org}/audit-events", headers=owner)]
    for response in responses:
        assert SECRET not in response.text


def test_a_bundle_upload_is_recorded_and_listed_and_bad_input_is_a_clear_422(
    client: TestClient,
) -> None:
    world = build_world(client)
    owner, org = world.headers["owner"], world.ids["org"]
    path = f"/api/v1/organizations/{org}/deployments/analytics/deploys"
    uploaded = client.post(path, headers={**owner, "Content-Type": "application/gzip"},
                           params={"kind": "dags", "description": "first"}, content=_bundle())
    assert uploaded.status_code == 202, uploaded.text
    deploy = uploaded.json()
    assert (deploy["status"], deploy["kind"], deploy["description"]) == (
        "pending", "dags", "first")
    listed = client.get(path, headers=owner).json()
    assert deploy["id"] in [d["id"] for d in listed]
    refused = client.post(path, headers=owner, params={"kind": "wheel"}, content=_bundle())
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "kind"
    oversized = client.post(path, headers={**owner, "Content-Length": str(10**9)},
                            content=_bundle())
    assert oversized.status_code == 422 and "limit" in oversized.json()["error"]["message"]


def test_manifests_render_the_chart_values_and_objects_without_secrets(
    client: TestClient,
) -> None:
    from flightdeck.db.models import Cluster

    world = build_world(client)
    owner, org = world.headers["owner"], world.ids["org"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        cluster = session.get(Cluster, world.ids["cluster"])
        assert cluster is not None
        arn = "arn:aws:eks:us-east-1:222222222222:cluster/fd-1"
        cluster.status = {"conditions": {
            "eks_cluster": {"resources": {"eks-cluster": arn}},
            "database": {"resources": {"db-endpoint": "db.internal:5432",
                                       "db-instance": "arn:aws:rds:us-east-1:2:db:fd-1"}},
            "log_bucket": {"resources": {"bucket": "fd-logs-1"}},
            "node_groups": {"resources": {
                "workers": "arn:aws:eks:us-east-1:2:nodegroup/fd-1/workers/x"}},
        }}
        session.commit()
    base = f"/api/v1/organizations/{org}/deployments"
    client.patch(f"{base}/analytics", headers=owner,
                 json={"secret_environment": {"API_KEY": SECRET}})
    response = client.get(f"{base}/analytics/manifests", headers=owner)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["helm_values"]["executor"] == "CeleryExecutor"
    kinds = {obj["kind"] for obj in data["objects"]}
    assert {"Namespace", "ResourceQuota", "NetworkPolicy"} <= kinds
    assert SECRET not in response.text


def test_hibernate_and_wake_up_over_http_and_a_deploy_meanwhile_is_a_409_naming_the_fix(
    client: TestClient,
) -> None:
    world = build_world(client)
    owner, org = world.headers["owner"], world.ids["org"]
    base = f"/api/v1/organizations/{org}/deployments/analytics"
    for body, field in (({"duration": "0m"}, "duration"), ({"until": "tomorrow"}, "until"),
                        ({"until": "2030-01-01T08:00:00"}, "until")):
        refused = client.post(f"{base}/hibernate", headers=owner, json=body)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert field in error["message"] and "\n" not in error["message"]
    wake = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    asked = wake.astimezone(timezone(timedelta(hours=1))).isoformat()  # +01:00, an hour ahead
    asleep = client.post(f"{base}/hibernate", headers=owner, json={"until": asked})
    assert asleep.status_code == 202, asleep.text
    assert asleep.json()["hibernated"] is True
    assert datetime.fromisoformat(asleep.json()["wake_at"]) == wake
    deploy = client.post(f"{base}/deploys", headers={**owner, "Content-Type": "application/gzip"},
                         content=_bundle())
    assert deploy.status_code == 409, deploy.text
    message = deploy.json()["error"]["message"]
    assert f"hibernating until {wake.isoformat(timespec='minutes')}" in message
    assert "`flightdeck deployment wake-up analytics`" in message
    awake = client.post(f"{base}/wake-up", headers=owner)
    assert awake.status_code == 202 and awake.json()["hibernated"] is False
    kinds = [e["kind"] for e in client.get(f"{base}/events", headers=owner).json()]
    assert kinds[:2] == ["awake", "asleep"]  # newest first

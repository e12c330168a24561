"""Operating a Deployment over HTTP: lists that hide what is Deleted, the way into its
Airflow (Admins and Owners only, audited, never cached), its component logs (bounded,
filtered, secrets masked). Airflow is not started here: the local runtime's files are
written where it keeps them; tests/runtime/test_local_runtime.py drives real Airflow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from api.conftest import sign_up
from api.test_authorization_matrix import World, build_world
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import component_log

SECRET = "s3cret-value-of-the-deployment"


def _set(client: TestClient, deployment_id: str, **values: object) -> None:
    from flightdeck.db.models import Deployment

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        row = session.get(Deployment, deployment_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        session.commit()


def _project(client: TestClient, deployment_id: str) -> Project:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    return Project(Path(settings.deployments_dir) / deployment_id)


def _text(line: dict[str, str]) -> str:
    """A log line without its leading timestamp."""
    return line["line"].split("] ", 1)[-1]


def _workspace_member(client: TestClient, world: World) -> dict[str, str]:
    """A member of the world's workspace whose workspace role is member, not Admin."""
    org, ws, owner = world.ids["org"], world.ids["ws"], world.headers["owner"]
    invite = client.post(f"/api/v1/organizations/{org}/members", headers=owner,
                         json={"email": "engineer@acme.example"})
    headers = sign_up(client, "engineer@acme.example",
                      invitation_token=invite.json()["invitation_token"])
    user_id = client.get("/api/v1/me", headers=headers).json()["user"]["id"]
    added = client.post(f"/api/v1/organizations/{org}/workspaces/{ws}/members", headers=owner,
                        json={"user_id": user_id, "role": "member"})
    assert added.status_code == 201, added.text
    return headers


def test_the_list_hides_deleted_deployments_unless_all_and_names_are_unique_among_live(
    client: TestClient,
) -> None:
    world = build_world(client)
    owner, org = world.headers["owner"], world.ids["org"]
    base = f"/api/v1/organizations/{org}/deployments"
    taken = client.post(base, headers=owner, json={
        "name": "analytics", "workspace": "data", "cluster": "existing"})
    assert taken.status_code == 409 and "'analytics' already exists" in taken.text
    _set(client, world.ids["deployment"], phase="Deleted", desired_state="absent")

    assert client.get(base, headers=owner).json() == []
    everything = client.get(base, headers=owner, params={"all": "true"}).json()
    assert [(d["name"], d["phase"]) for d in everything] == [("analytics", "Deleted")]
    missing = client.get(f"{base}/analytics", headers=owner)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == (
        "no Deployment 'analytics' in this organization; see `flightdeck deployment list`")

    # The name is free again; the name now means the live Deployment, the id the old one.
    again = client.post(base, headers=owner, json={
        "name": "analytics", "workspace": "data", "cluster": "existing"})
    assert again.status_code == 201, again.text
    assert [d["id"] for d in client.get(base, headers=owner).json()] == [again.json()["id"]]
    assert client.get(f"{base}/analytics", headers=owner).json()["id"] == again.json()["id"]
    old = client.get(f"{base}/{world.ids['deployment']}", headers=owner).json()
    assert old["phase"] == "Deleted"
    assert len(client.get(base, headers=owner, params={"all": "true"}).json()) == 2


def test_airflow_login_is_for_admins_and_owners_audited_and_never_cached(
    client: TestClient,
) -> None:
    world = build_world(client)
    org, dep = world.ids["org"], world.ids["deployment"]
    path = f"/api/v1/organizations/{org}/deployments/analytics/airflow-login"
    engineer = _workspace_member(client, world)
    assert client.get(f"/api/v1/organizations/{org}/deployments/analytics",
                      headers=engineer).status_code == 200  # they may see it...
    refused = client.post(path, headers=engineer)  # ...not sign in to its Airflow
    assert refused.status_code == 403, refused.text

    not_running = client.post(path, headers=world.headers["workspace_admin"])
    assert not_running.status_code == 409
    assert "not running on this host" in not_running.json()["error"]["message"]

    # The files the local runtime leaves for a running Deployment.
    project = _project(client, dep)
    project.airflow_home.mkdir(parents=True)
    (project.airflow_home / "run.json").write_text(json.dumps({
        "airflow_version": "3.1.0", "venv": "/nowhere", "ports": {"api": 18080}, "pids": {},
        "url": "http://127.0.0.1:18080"}))
    (project.airflow_home / "local-secrets.json").write_text(json.dumps({
        "admin_password": "generated-pw-1234", "jwt_secret": "j", "secret_key": "k"}))
    for actor in ("workspace_admin", "owner"):
        login = client.post(path, headers=world.headers[actor])
        assert login.status_code == 200, login.text
        assert login.headers["cache-control"] == "no-store"
        assert login.json() == {"url": "http://127.0.0.1:18080", "username": "admin",
                                "password": "generated-pw-1234", "kind": "password"}
    events = client.get(f"/api/v1/organizations/{org}/audit-events",
                        headers=world.headers["owner"])
    logins = [e for e in events.json() if e["action"] == "deployment.airflow_login"]
    assert len(logins) == 2 and logins[0]["target"] == dep
    assert "generated-pw-1234" not in events.text

    _set(client, dep, runtime="kubernetes")
    unsupported = client.post(path, headers=world.headers["owner"])
    assert unsupported.status_code == 409
    assert "not supported yet on the kubernetes runtime" in unsupported.text


def test_logs_are_bounded_filtered_and_mask_the_deployments_secrets(client: TestClient) -> None:
    world = build_world(client)
    org, dep, owner = world.ids["org"], world.ids["deployment"], world.headers["owner"]
    base = f"/api/v1/organizations/{org}/deployments/analytics"
    assert client.patch(base, headers=owner,
                        json={"secret_environment": {"API_KEY": SECRET}}).status_code == 200
    project = _project(client, dep)
    now = datetime.now(UTC)
    old, recent = now - timedelta(hours=2), now - timedelta(minutes=1)

    def stamp(when: datetime) -> str:
        return when.strftime("[%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000]"

    scheduler = component_log(project, "scheduler")
    scheduler.parent.mkdir(parents=True)
    scheduler.write_text(
        f"{stamp(old)} scheduler started\n"
        f"{stamp(recent)} connecting with key {SECRET}\n"
        "Traceback (most recent call last):\n"
        f"{stamp(recent)} scheduler heartbeat\n"
    )
    component_log(project, "triggerer").write_text(f"{stamp(recent)} triggerer up\n")

    everything = client.get(f"{base}/logs", headers=world.headers["workspace_admin"])
    assert everything.status_code == 200, everything.text
    assert SECRET not in everything.text
    lines = everything.json()["lines"]
    assert (lines[0]["component"], _text(lines[0])) == ("scheduler", "scheduler started")
    assert {line["component"] for line in lines} == {"scheduler", "triggerer"}
    assert "connecting with key ***" in [_text(line) for line in lines]

    only = client.get(f"{base}/logs", headers=owner,
                      params={"component": "scheduler", "since": "10m", "tail": 2}).json()
    # The traceback line has no timestamp of its own: it belongs to the line before it.
    assert [_text(line) for line in only["lines"]] == [
        "Traceback (most recent call last):", "scheduler heartbeat"]
    assert only["truncated"] is True

    # Following: the cursor returns only what was written after it.
    with scheduler.open("a") as handle:
        handle.write(f"{stamp(now)} a new line\n")
    newer = client.get(f"{base}/logs", headers=owner,
                       params={"component": "scheduler", "after": only["cursor"]}).json()
    assert [_text(line) for line in newer["lines"]] == ["a new line"]

    for params, field in (({"since": "10 minutes"}, "since"), ({"component": "webserver"},
                          "component"), ({"tail": 0}, "tail"), ({"after": "x:y"}, "after")):
        bad = client.get(f"{base}/logs", headers=owner, params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"]["field"] == field

    # On the kubernetes runtime the logs come from the cluster (its request shape is in
    # tests/runtime/test_kubernetes_runtime.py); a cluster without its EKS outputs says so.
    _set(client, dep, runtime="kubernetes")
    unreachable = client.get(f"{base}/logs", headers=owner)
    assert unreachable.status_code == 409, unreachable.text
    message = unreachable.json()["error"]["message"]
    assert message.startswith("logs: ") and "\n" not in message

"""Every endpoint times every kind of caller, with the exact status code each must get.

A route missing from the matrix fails ``test_matrix_covers_every_route``, so a new
endpoint cannot ship without its authorization being decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.conftest import sign_up

ACTORS = ("anonymous", "member", "workspace_admin", "owner", "outsider")
PUBLIC_ROUTES = {
    ("GET", "/api/v1/reference/aws"),
    ("GET", "/api/v1/reference/aws/role-template.yaml"),
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/verify-email"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    # Single sign-on: the browser arrives before anyone is signed in.
    ("GET", "/api/v1/sso/start"),
    ("GET", "/api/v1/sso/callback"),
    # GitHub and Google (when the operator configured them).
    ("GET", "/api/v1/sso/{platform}/start"),
    ("GET", "/api/v1/sso/{platform}/callback"),
    # The CLI's browser login: the browser's session decides; the CLI holds only a code.
    ("GET", "/api/v1/auth/cli/authorize"),
    ("POST", "/api/v1/auth/cli/token"),
}


@dataclass
class World:
    client: TestClient
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expected: tuple[int, int, int, int, int]  # in ACTORS order
    body: dict[str, Any] | None = None

    def url(self, ids: dict[str, str]) -> str:
        return "/api/v1" + self.path.format(**ids)


ORG = "/organizations/{org}"
WS = ORG + "/workspaces/{ws}"
DEP = ORG + "/deployments/{deployment}"
CASES = [
    Case("GET", "/me", (401, 200, 200, 200, 200)),
    Case("GET", "/me/invitations", (401, 200, 200, 200, 200)),
    # The world's open invitation is addressed to the outsider: only they may accept it.
    Case("POST", "/me/invitations/{invitation}/accept", (401, 404, 404, 404, 201)),
    Case("GET", ORG + "/invitations", (401, 403, 403, 200, 404)),
    Case("DELETE", ORG + "/invitations/{invitation}", (401, 403, 403, 200, 404)),
    Case("GET", "/organizations", (401, 200, 200, 200, 200)),
    Case("POST", "/organizations", (401, 201, 201, 201, 201), {"name": "Another Org"}),
    Case("GET", ORG, (401, 200, 200, 200, 404)),
    Case("GET", ORG + "/aws-external-id", (401, 403, 403, 200, 404)),
    Case("GET", ORG + "/members", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/members", (401, 403, 403, 201, 404), {"email": "new@example.com"}),
    Case("PATCH", ORG + "/members/{member}", (401, 403, 403, 200, 404), {"role": "owner"}),
    Case("DELETE", ORG + "/members/{member}", (401, 403, 403, 204, 404)),
    Case("GET", ORG + "/audit-events", (401, 403, 403, 200, 404)),
    Case("GET", ORG + "/workspaces", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/workspaces", (401, 403, 403, 201, 404), {"name": "analytics"}),
    Case("GET", WS, (401, 404, 200, 200, 404)),
    # The world's workspace holds a live Deployment: deleting it is refused until it is gone.
    Case("DELETE", WS, (401, 404, 409, 409, 404)),
    Case("GET", WS + "/members", (401, 404, 200, 200, 404)),
    Case(
        "POST",
        WS + "/members",
        (401, 404, 201, 201, 404),
        {"user_id": "{member}", "role": "member"},
    ),
    # The world's workspace has one Admin, which it keeps: 409 once the caller may manage it.
    Case("PATCH", WS + "/members/{workspace_admin}", (401, 404, 409, 409, 404), {"role": "member"}),
    Case("DELETE", WS + "/members/{workspace_admin}", (401, 404, 409, 409, 404)),
    Case("GET", ORG + "/aws/role-template", (401, 200, 200, 200, 404)),
    Case("GET", ORG + "/aws/role-setup", (401, 403, 403, 200, 404)),
    Case("GET", ORG + "/aws/accounts", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/aws/accounts", (401, 403, 403, 201, 404),
         {"account_id": "333333333333"}),
    Case("GET", ORG + "/aws/accounts/{account}", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/aws/accounts/{account}/verify", (401, 403, 403, 200, 404)),
    # The world's account is registered but its role was never created: 422 for the Owner.
    Case("POST", ORG + "/aws/accounts/{account}/preflight", (401, 403, 403, 422, 404),
         {"region": "us-east-1"}),
    # Hosted mode is off in the matrix's settings: 422 for the Owner, with the way out.
    Case("POST", ORG + "/aws/hosted-account", (401, 403, 403, 422, 404)),
    # Role governance: Owners and Workspace Admins read policy changes and the timeline.
    Case("GET", ORG + "/aws/policy-changes", (401, 403, 200, 200, 404)),
    Case("GET", ORG + "/aws/accounts/{account}/events", (401, 403, 200, 200, 404)),
    Case("GET", ORG + "/clusters", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/clusters", (401, 403, 403, 422, 404),
         {"account": "{account}", "name": "prod"}),
    Case("GET", ORG + "/clusters/{cluster}", (401, 200, 200, 200, 404)),
    Case("GET", ORG + "/clusters/{cluster}/events", (401, 200, 200, 200, 404)),
    Case("GET", ORG + "/clusters/{cluster}/plan", (401, 200, 200, 200, 404)),
    # A live Deployment runs on the world's cluster: refused (409) unless asked to delete it.
    Case("DELETE", ORG + "/clusters/{cluster}", (401, 403, 403, 409, 404)),
    Case("DELETE", ORG + "/clusters/{cluster}?delete_deployments=true",
         (401, 403, 403, 202, 404)),
    # Peerings: members read, Owners request and delete. The world's peering is "warehouse".
    Case("GET", ORG + "/clusters/{cluster}/peerings", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/clusters/{cluster}/peerings", (401, 403, 403, 201, 404),
         {"name": "lake", "peer_account_id": "444455556666", "peer_region": "eu-west-1",
          "peer_vpc_id": "vpc-0a1b2c3d", "peer_cidrs": ["10.9.0.0/16"]}),
    Case("GET", ORG + "/clusters/{cluster}/peerings/{peering}", (401, 200, 200, 200, 404)),
    Case("DELETE", ORG + "/clusters/{cluster}/peerings/{peering}", (401, 403, 403, 202, 404)),
    Case("GET", ORG + "/notifications", (401, 403, 403, 200, 404)),
    # Deployments follow their workspace: members of the org outside it see nothing.
    Case("GET", ORG + "/deployments", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/deployments", (401, 404, 201, 201, 404),
         {"name": "etl", "workspace": "{ws}", "cluster": "existing"}),
    Case("GET", DEP, (401, 404, 200, 200, 404)),
    Case("PATCH", DEP, (401, 404, 200, 200, 404), {"max_workers": 3}),
    Case("DELETE", DEP, (401, 404, 202, 202, 404)),
    # Sleep and wake-up change the Deployment: those who may change it, no one else.
    Case("POST", DEP + "/hibernate", (401, 404, 202, 202, 404), {"duration": "8h"}),
    Case("POST", DEP + "/wake-up", (401, 404, 202, 202, 404)),
    # The world's Deployment is production: a schedule is refused (409) once the caller may
    # change it; clearing none is a no-op.
    Case("PUT", DEP + "/hibernation-schedule", (401, 404, 409, 409, 404),
         {"hibernate_at": "0 20 * * 1-5", "wake_at": "0 7 * * 1-5", "timezone": "Europe/Paris"}),
    Case("DELETE", DEP + "/hibernation-schedule", (401, 404, 200, 200, 404)),
    Case("GET", DEP + "/deploys", (401, 404, 200, 200, 404)),
    Case("GET", DEP + "/events", (401, 404, 200, 200, 404)),
    # The world's cluster row has no provisioning outputs: 422 naming what is missing.
    Case("GET", DEP + "/manifests", (401, 404, 422, 422, 404)),
    # The body is not a bundle: 422 once the caller may deploy at all.
    Case("POST", DEP + "/deploys", (401, 404, 422, 422, 404), {"not": "a bundle"}),
    Case("GET", DEP + "/deploys/{deploy}", (401, 404, 200, 200, 404)),
    # The world's one deploy kept no bundle: nothing to roll back to (409) for who may deploy.
    Case("POST", DEP + "/rollback", (401, 404, 409, 409, 404), {}),
    # Its Airflow is not running on this host in the world: 409 once the caller may sign in.
    Case("POST", DEP + "/airflow-login", (401, 404, 409, 409, 404)),
    # Nothing logged yet: an empty read for whoever may see the Deployment.
    Case("GET", DEP + "/logs", (401, 404, 200, 200, 404)),
    # Environment variables: read by whoever sees the Deployment, changed by who may update it.
    Case("GET", DEP + "/environment", (401, 404, 200, 200, 404)),
    Case("PATCH", DEP + "/environment", (401, 404, 200, 200, 404),
         {"variables": {"API_KEY": "s3cret"}, "secret": True}),
    # Airflow objects go through its Airflow, not running in the world: 409 once authorized.
    Case("GET", DEP + "/airflow/connections", (401, 404, 409, 409, 404)),
    Case("PUT", DEP + "/airflow/connections/warehouse", (401, 404, 409, 409, 404),
         {"conn_type": "postgres", "password": "pw"}),
    Case("GET", DEP + "/airflow/variables", (401, 404, 409, 409, 404)),
    Case("PUT", DEP + "/airflow/variables/region", (401, 404, 409, 409, 404), {"value": "eu"}),
    Case("GET", DEP + "/airflow/pools", (401, 404, 409, 409, 404)),
    Case("PUT", DEP + "/airflow/pools/etl", (401, 404, 409, 409, 404), {"slots": 4}),
    Case("DELETE", DEP + "/airflow/pools/etl", (401, 404, 409, 409, 404)),
    Case("POST", DEP + "/airflow/settings", (401, 404, 409, 409, 404),
         {"settings": "airflow:\n  pools:\n    - pool_name: etl\n      pool_slot: 2\n"}),
    Case("GET", ORG + "/sso/providers", (401, 403, 403, 200, 404)),
    # Refused for its domain before any network call: 422 once the caller may add one.
    Case("POST", ORG + "/sso/providers", (401, 403, 403, 422, 404),
         {"issuer": "https://idp.example", "client_id": "c", "client_secret": "s",
          "domains": ["not a domain"]}),
    # No provider in the world: the Owner alone gets as far as "not found".
    Case("DELETE", ORG + "/sso/providers/{org}", (401, 403, 403, 404, 404)),
    Case("PUT", ORG + "/sso/providers/{org}/role-mapping", (401, 403, 403, 404, 404),
         {"role_mapping": [{"group": "admins", "organization_role": "owner"}]}),
    Case("GET", ORG + "/sso/enforcement", (401, 403, 403, 200, 404)),
    # No verified domain in the world: enforcing is refused (422) once the caller may ask.
    Case("PUT", ORG + "/sso/enforcement", (401, 403, 403, 422, 404), {"enforced": True}),
    Case("PUT", ORG + "/sso/break-glass/{member}", (401, 403, 403, 422, 404),
         {"break_glass": True}),
    # No provider claims the domain: the Owner alone learns that (404 naming the field).
    Case("POST", ORG + "/sso/domains/{domain}/verify", (401, 403, 403, 404, 404)),
    # Alerts: members read rules and channels; Owners manage channels and organization-wide
    # rules; a workspace's Admins manage its rules. The world's "ops-hook" channel is in use.
    Case("GET", ORG + "/alert-channels", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/alert-channels", (401, 403, 403, 201, 404),
         {"name": "mail", "kind": "email", "target": "ops@acme.example"}),
    Case("DELETE", ORG + "/alert-channels/{channel}", (401, 403, 403, 409, 404)),
    Case("POST", ORG + "/alert-channels/{channel}/test", (401, 403, 403, 202, 404)),
    Case("GET", ORG + "/alert-rules", (401, 200, 200, 200, 404)),
    Case("POST", ORG + "/alert-rules", (401, 403, 403, 201, 404),
         {"name": "all-failures", "kind": "dag-failed", "channels": ["{channel}"]}),
    Case("POST", ORG + "/alert-rules", (401, 404, 201, 201, 404),
         {"name": "ws-failures", "kind": "dag-failed", "channels": ["{channel}"],
          "workspace": "{ws}"}),
    Case("GET", ORG + "/alert-rules/{rule}", (401, 200, 200, 200, 404)),
    Case("GET", ORG + "/alert-rules/{ws_rule}", (401, 404, 200, 200, 404)),
    Case("DELETE", ORG + "/alert-rules/{rule}", (401, 403, 403, 204, 404)),
    Case("DELETE", ORG + "/alert-rules/{ws_rule}", (401, 404, 204, 204, 404)),
    Case("POST", ORG + "/alert-rules/{rule}/test", (401, 403, 403, 202, 404)),
    Case("POST", ORG + "/alert-rules/{ws_rule}/test", (401, 404, 202, 202, 404)),
    Case("GET", ORG + "/alert-deliveries", (401, 403, 403, 200, 404)),
    Case("GET", "/tokens", (401, 200, 200, 200, 200)),
    Case("POST", "/tokens", (401, 201, 201, 201, 201), {"name": "ci"}),
    Case("DELETE", "/tokens/{owner_token}", (401, 404, 404, 200, 404)),
]


def build_world(client: TestClient, suffix: str = "") -> World:
    """An organization with an owner, a member, a workspace admin, plus an outsider's org.

    ``suffix`` makes the emails unique when a test needs a second, untouched world.
    """

    def email(name: str, domain: str = "acme.example") -> str:
        return f"{name}{suffix}@{domain}"

    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    headers["owner"] = sign_up(client, email("owner"), org="Acme")
    org = client.get("/api/v1/organizations", headers=headers["owner"]).json()[0]["id"]
    ids = {"org": org, "domain": "acme.example"}
    for actor in ("member", "workspace_admin"):
        invite = client.post(
            f"/api/v1/organizations/{org}/members",
            json={"email": email(actor)},
            headers=headers["owner"],
        )
        headers[actor] = sign_up(
            client, email(actor), invitation_token=invite.json()["invitation_token"]
        )
        ids[actor] = client.get("/api/v1/me", headers=headers[actor]).json()["user"]["id"]
    ws = client.post(
        f"/api/v1/organizations/{org}/workspaces", json={"name": "data"}, headers=headers["owner"]
    ).json()["id"]
    ids["ws"] = ws
    added = client.post(
        f"/api/v1/organizations/{org}/workspaces/{ws}/members",
        json={"user_id": ids["workspace_admin"], "role": "admin"},
        headers=headers["owner"],
    )
    assert added.status_code == 201, added.text
    headers["outsider"] = sign_up(client, email("someone", "other.example"), org="Other")
    account = client.post(f"/api/v1/organizations/{org}/aws/accounts",
                          json={"account_id": "222222222222"}, headers=headers["owner"])
    assert account.status_code == 201, account.text
    ids["account"] = account.json()["id"]
    ids["cluster"] = _insert_cluster(client, org, ids["account"])
    ids["peering"] = _insert_peering(client, ids["cluster"])
    ids["deployment"], ids["deploy"] = _insert_deployment(client, org, ws, ids["cluster"])
    ids["channel"], ids["rule"], ids["ws_rule"] = _insert_alerts(client, org, ws)
    ids["owner_token"] = client.get("/api/v1/tokens", headers=headers["owner"]).json()[0]["id"]
    invitation = client.post(f"/api/v1/organizations/{org}/members",
                             json={"email": email("someone", "other.example")},
                             headers=headers["owner"])
    assert invitation.status_code == 201, invitation.text
    ids["invitation"] = invitation.json()["invitation"]["id"]
    return World(client=client, headers=headers, ids=ids)


def _insert_cluster(client: TestClient, org: str, account: str) -> str:
    """A cluster row as a past, successful request would have left it (no AWS involved)."""
    from flightdeck.aws.permissions import POLICY_VERSION
    from flightdeck.db.models import AwsAccountPolicyState, Cluster

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        # The role holds the latest policy version (peerings need it in force).
        session.add(AwsAccountPolicyState(aws_account_ref=account, policy_version=POLICY_VERSION))
        cluster = Cluster(organization_id=org, aws_account_ref=account, name="existing",
                          region="us-east-1", phase="Active",
                          spec={"name": "existing", "account_id": "222222222222",
                                "region": "us-east-1", "node_instance_type": "m5.xlarge",
                                "max_nodes": 20, "db_instance_type": "db.m6g.large",
                                "vpc_cidr": "172.20.0.0/19"})
        session.add(cluster)
        session.commit()
        return cluster.id


def _insert_peering(client: TestClient, cluster: str) -> str:
    """A peering of the world's cluster, recorded but not yet created on AWS."""
    from flightdeck.db.models import ClusterPeering

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        peering = ClusterPeering(cluster_id=cluster, name="warehouse",
                                 spec={"peer_cidrs": ["10.1.0.0/16"]})
        session.add(peering)
        session.commit()
        return peering.id


def _insert_alerts(client: TestClient, org: str, ws: str) -> tuple[str, str, str]:
    """A webhook channel, an organization-wide rule and a workspace rule that use it."""
    from flightdeck.db.models import AlertChannel, AlertRule

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        channel = AlertChannel(organization_id=org, name="ops-hook", kind="webhook",
                               target="http://127.0.0.1:9/hook")
        session.add(channel)
        session.flush()
        rule = AlertRule(organization_id=org, name="failures", kind="dag-failed",
                         channel_ids=[channel.id])
        ws_rule = AlertRule(organization_id=org, name="data-failures", kind="dag-failed",
                            workspace_id=ws, channel_ids=[channel.id])
        session.add_all([rule, ws_rule])
        session.commit()
        return channel.id, rule.id, ws_rule.id


def _insert_deployment(client: TestClient, org: str, ws: str, cluster: str) -> tuple[str, str]:
    """A Deployment in the world's workspace, with one past deploy (no runtime involved)."""
    from flightdeck.db.models import Deploy, Deployment

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        deployment = Deployment(
            organization_id=org, workspace_id=ws, cluster_id=cluster, name="analytics",
            runtime="local",
            spec={"airflow_version": "3.1.0", "executor": "CeleryExecutor",
                  "scheduler_size": "small", "scheduler_count": 1,
                  "worker_queue": {"name": "default", "min_workers": 1, "max_workers": 10,
                                   "tasks_per_worker": 5},
                  "environment": {}},
        )
        session.add(deployment)
        session.flush()
        deploy = Deploy(deployment_id=deployment.id, sha256="0" * 64, status="succeeded")
        session.add(deploy)
        session.commit()
        return deployment.id, deploy.id


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_authorization(client: TestClient, case: Case) -> None:
    world = build_world(client)
    for index, actor in enumerate(ACTORS):
        response = client.request(
            case.method,
            case.url(world.ids),
            json=_fill(case.body, world.ids) if case.body is not None else None,
            headers=world.headers[actor],
        )
        assert response.status_code == case.expected[index], (
            f"{actor}: {response.status_code} {response.text}"
        )
        client.cookies.clear()
        if case.method != "GET" and response.status_code < 300 and index + 1 < len(ACTORS):
            # The next caller must meet the state before this mutation, not after it.
            world = build_world(client, suffix=f"+{index}")


def test_matrix_covers_every_route(client: TestClient) -> None:
    routes = {
        (method, route.path)
        for route in client.app.routes  # type: ignore[attr-defined]
        if getattr(route, "path", "").startswith("/api/v1")
        for method in getattr(route, "methods", ()) - {"HEAD", "OPTIONS"}
    }
    covered = {(case.method, "/api/v1" + _normalise(case.path)) for case in CASES} | PUBLIC_ROUTES
    routes = {(method, _normalise(path)) for method, path in routes}
    covered = {(method, _normalise(path)) for method, path in covered}
    assert routes - covered == set(), "routes without an authorization case"


def _normalise(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)

"""The console's protections over HTTP, on SQLite and PostgreSQL: CSRF, headers, cookies,
session expiry, who sees what, and the offline API viewers."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from api.conftest import PASSWORD
from flightdeck.db.models import BrowserSession
from flightdeck.db.types import utcnow

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = _TOKEN.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_up(client: TestClient, email: str, org: str | None = "Acme",
            invitation: str = "") -> str:
    """Sign up through the console's form; returns the page it lands on."""
    form = {"csrf_token": csrf(client, "/signup"), "email": email, "password": PASSWORD}
    if invitation:
        form["invitation"] = invitation
    else:
        form["organization_name"] = org or ""
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_pages_send_a_strict_policy_and_a_safe_session_cookie(client: TestClient) -> None:
    page = client.get("/signup")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and " style=" not in page.text
    form = {"csrf_token": _TOKEN.search(page.text).group(1),  # type: ignore[union-attr]
            "email": "o@acme.example", "password": PASSWORD, "organization_name": "Acme"}
    response = client.post("/signup", data=form, follow_redirects=False)
    cookies = [v.lower() for k, v in response.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith("flightdeck_session="))
    assert "httponly" in session_cookie and "samesite=lax" in session_cookie
    assert "secure" not in session_cookie  # plain http on loopback
    org_page = client.get(response.headers["location"])
    assert org_page.status_code == 200 and org_page.headers["cache-control"] == "no-store"


def test_a_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    for form in ({}, {"csrf_token": "forged"}):
        refused = client.post(f"{org}/workspaces", data={**form, "name": "data"})
        assert refused.status_code == 403 and "form has expired" in refused.text
    assert "No workspaces yet." in client.get(f"{org}/workspaces").text
    accepted = client.post(f"{org}/workspaces",
                           data={"csrf_token": csrf(client, f"{org}/workspaces"), "name": "data"})
    assert accepted.status_code == 200 and "Workspace data" in accepted.text
    # A token belongs to its session: after signing out and in again the old one fails.
    old = csrf(client, f"{org}/workspaces")
    client.post("/logout", data={"csrf_token": old})
    login = {"csrf_token": csrf(client, "/login"), "email": "o@acme.example",
             "password": PASSWORD}
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303
    stale = client.post(f"{org}/workspaces", data={"csrf_token": old, "name": "late"})
    assert stale.status_code == 403


def test_an_expired_session_is_sent_to_sign_in_again(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    assert client.get(org).status_code == 200
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        session.execute(update(BrowserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    response = client.get(f"{org}/clusters", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={org}/clusters&expired=1"
    login = client.get(response.headers["location"])
    assert "Your session has ended" in login.text
    # The API refuses the same cookie.
    assert client.get("/api/v1/me").status_code == 401


def test_member_sees_no_external_id_and_owner_pages_answer_403(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    invited = client.post(f"{org}/people/invite", data={
        "csrf_token": csrf(client, f"{org}/people"), "email": "m@acme.example",
        "role": "member"})
    link = re.search(r'id="invitation-link" class="wrap">([^<]+)<', invited.text)
    assert link, invited.text
    token = link.group(1).split("invitation=")[1]
    owner_settings = client.get(f"{org}/settings").text
    assert "AWS External ID" in owner_settings
    client.cookies.clear()
    landed = sign_up(client, "m@acme.example", invitation=token)
    assert landed == "/"
    member_settings = client.get(f"{org}/settings")
    assert member_settings.status_code == 200
    assert "External ID" not in member_settings.text
    assert 'id="external-id"' not in member_settings.text
    reveal = client.post(f"{org}/settings/external-id",
                         data={"csrf_token": csrf(client, f"{org}/settings")})
    assert reveal.status_code == 403 and "Organization Owners" in reveal.text
    for owner_only in ("/audit", "/notifications", "/clusters/new"):
        assert client.get(org + owner_only).status_code == 403, owner_only


def test_an_outsider_gets_the_same_404_page_as_for_nothing(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    workspace = client.post(f"{org}/workspaces", data={
        "csrf_token": csrf(client, f"{org}/workspaces"), "name": "data"}, follow_redirects=False)
    workspace_path = workspace.headers["location"]
    client.cookies.clear()
    sign_up(client, "x@other.example", org="Other")
    for path in (org, f"{org}/settings", workspace_path, f"{org}/clusters/abc", "/o/nothing"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "Page not found" in page.text and "Acme" not in page.text
    assert client.get(workspace_path.replace("/o/", "/nope/")).status_code == 404


def test_a_revoked_token_is_refused_by_the_api(client: TestClient) -> None:
    sign_up(client, "o@acme.example")
    created = client.post("/account/tokens", data={
        "csrf_token": csrf(client, "/account/tokens"), "name": "ci"})
    secret = re.search(r'id="new-token" class="wrap">(fdk_[^<]+)<', created.text)
    assert secret, created.text
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    listing = client.get("/account/tokens").text
    assert secret.group(1) not in listing  # shown once
    token_id = re.search(r'action="/account/tokens/([^/]+)/revoke"', listing).group(1)  # type: ignore[union-attr]
    client.post(f"/account/tokens/{token_id}/revoke",
                data={"csrf_token": csrf(client, "/account/tokens")})
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert "revoked" in client.get("/account/tokens").text


def test_api_paths_keep_json_errors_and_pages_get_html(client: TestClient) -> None:
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/me").json()["error"]["code"] == "unauthenticated"
    page = client.get("/nothing")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_docs_and_redoc_load_their_assets_from_this_server(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in sources:
            asset = client.get(source)
            assert asset.status_code == 200 and len(asset.content) > 100, source
    assert client.get("/openapi.json").json()["info"]["title"] == "flightdeck"


def _active_cluster(client: TestClient, org_path: str, name: str = "prod") -> str:
    """A cluster row as the worker leaves it when Active (provisioning is tested elsewhere)."""
    from flightdeck.db.models import AwsAccount, Cluster

    organization_id = org_path.rsplit("/", 1)[1]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        account = AwsAccount(organization_id=organization_id, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/flightdeck-remote-management",
                             status="verified")
        session.add(account)
        session.flush()
        cluster = Cluster(organization_id=organization_id, aws_account_ref=account.id, name=name,
                          region="us-east-1", phase="Active", spec={"account_id": "222222222222"},
                          status={"phase": "Active", "conditions": {}})
        session.add(cluster)
        session.commit()
        return cluster.id


def test_deleting_a_cluster_needs_its_name_typed(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    page = f"{org}/clusters/{cluster}"
    wrong = client.post(f"{page}/delete", data={"csrf_token": csrf(client, f"{page}/delete"),
                                                "confirm_name": "prod2"})
    assert wrong.status_code == 422 and "type the cluster&#39;s name, prod," in wrong.text
    assert "data-live-src" not in client.get(page).text  # Active: nothing to follow
    deleted = client.post(f"{page}/delete", data={"csrf_token": csrf(client, f"{page}/delete"),
                                                  "confirm_name": "prod"})
    assert deleted.status_code == 200 and "Deleting" in deleted.text
    assert f'data-live-src="{page}/_live"' in deleted.text  # the teardown updates live
    live = client.get(f"{page}/_live")
    assert live.status_code == 200 and "Deleting" in live.text and "<html" not in live.text


def test_a_refused_deployment_form_never_sends_the_secret_back(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    client.post(f"{org}/workspaces", data={"csrf_token": csrf(client, f"{org}/workspaces"),
                                           "name": "data"})
    form = csrf(client, f"{org}/deployments/new")
    new_page = client.get(f"{org}/deployments/new").text
    assert f'<option value="{cluster}"' in new_page and "prod (us-east-1)" in new_page
    refused = client.post(f"{org}/deployments", data={
        "csrf_token": form, "name": "etl", "workspace": "data", "cluster": cluster,
        "airflow_version": "3.1.0", "executor": "CeleryExecutor", "scheduler_size": "small",
        "scheduler_count": "1", "min_workers": "1", "max_workers": "10",
        "tasks_per_worker": "5", "environment": "1BAD=x",
        "secret_environment": "WAREHOUSE_PASSWORD=hunter2-secret"})
    assert refused.status_code == 422
    assert "environment: &#39;1BAD&#39; is not a valid variable name" in refused.text
    assert "hunter2-secret" not in refused.text

"""The console's protections over HTTP, on SQLite and PostgreSQL: CSRF, headers, cookies,
session expiry, who sees what, and the offline API viewers."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, update

from api.conftest import PASSWORD
from flightdeck.db.models import BrowserSession, Deployment, Notification, User
from flightdeck.db.types import utcnow

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = _TOKEN.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


_LINK = re.compile(r"open (\S+/verify-email\?token=\S+)")


def verification_link(client: TestClient, email: str) -> str:
    """The newest verification link mailed to ``email``, read from the outbox."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        bodies = session.scalars(
            select(Notification.body)
            .where(Notification.recipient == email, Notification.kind == "account.verify_email")
            .order_by(Notification.created_at.desc())
        ).all()
    assert bodies, f"no verification mail for {email}"
    match = _LINK.search(bodies[0])
    assert match, bodies[0]
    return match.group(1)


def user_count(client: TestClient) -> int:
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def request_sign_up(client: TestClient, email: str, org: str | None = "Acme",
                    invitation: str = "") -> str:
    """Fill in the console's sign-up form; returns the "check your mail" page."""
    form = {"csrf_token": csrf(client, "/signup"), "email": email, "password": PASSWORD}
    if invitation:
        form["invitation"] = invitation
    else:
        form["organization_name"] = org or ""
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 200 and "Check your mail" in response.text, response.text
    return response.text


def verify(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    """Open the mailed link and answer its form with ``password``."""
    link = verification_link(client, email)
    path = link[link.index("/verify-email"):]
    token = path.split("token=", 1)[1]
    form = {"csrf_token": csrf(client, path), "token": token, "password": password}
    return client.post("/verify-email", data=form, follow_redirects=False)


def sign_up(client: TestClient, email: str, org: str | None = "Acme",
            invitation: str = "") -> str:
    """Sign up through the console's form and the mailed link; returns where it lands."""
    request_sign_up(client, email, org, invitation)
    response = verify(client, email)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_pages_send_a_strict_policy_and_a_safe_session_cookie(client: TestClient) -> None:
    page = client.get("/signup")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and " style=" not in page.text
    request_sign_up(client, "o@acme.example")
    response = verify(client, "o@acme.example")
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


DEPLOYMENT_FORM = {"name": "etl", "workspace": "data", "airflow_version": "3.1.0",
                   "executor": "CeleryExecutor", "scheduler_size": "small",
                   "scheduler_count": "1", "min_workers": "1", "max_workers": "10",
                   "tasks_per_worker": "5"}


def _new_deployment(client: TestClient, org: str) -> str:
    """A workspace ``data`` and a Deployment ``etl`` on an Active cluster, made through the
    console's forms; returns the Deployment page's path."""
    cluster = _active_cluster(client, org)
    client.post(f"{org}/workspaces", data={"csrf_token": csrf(client, f"{org}/workspaces"),
                                           "name": "data"})
    created = client.post(f"{org}/deployments", data={
        "csrf_token": csrf(client, f"{org}/deployments/new"), "cluster": cluster,
        **DEPLOYMENT_FORM}, follow_redirects=False)
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


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
    assert "environment line 1: &#39;1BAD&#39; is not a valid variable name" in refused.text
    assert "hunter2-secret" not in refused.text


def test_sign_up_creates_the_account_only_through_the_mailed_link(client: TestClient) -> None:
    page = request_sign_up(client, "o@acme.example")
    assert "flightdeck notifications list --local --to o@acme.example" in page
    assert user_count(client) == 0
    assert "flightdeck_session" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303  # still signed out
    link = verification_link(client, "o@acme.example")
    assert link.startswith("http://") and "/verify-email?token=" in link
    # An address that already has an account gets the very same page, and no second account.
    landed = sign_up(client, "o@acme.example")
    assert landed.startswith("/o/") and client.get(landed).status_code == 200
    client.cookies.clear()
    again = request_sign_up(client, "o@acme.example", org="Again")
    minute = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
    assert minute.sub("", again) == minute.sub("", page)
    assert user_count(client) == 1


def test_a_wrong_password_or_bad_token_on_the_verify_form_creates_nothing(
    client: TestClient,
) -> None:
    request_sign_up(client, "o@acme.example")
    wrong = verify(client, "o@acme.example", password="not the password chosen")
    assert wrong.status_code == 422 and "sign up again" in wrong.text
    assert user_count(client) == 0 and "flightdeck_session" not in client.cookies
    bad = client.post("/verify-email", data={
        "csrf_token": csrf(client, "/verify-email?token=nope"), "token": "nope",
        "password": PASSWORD})
    assert bad.status_code == 422 and "unknown or expired verification token" in bad.text
    assert user_count(client) == 0
    no_token = client.get("/verify-email")
    assert no_token.status_code == 200 and "has no verification token" in no_token.text
    forged = client.post("/verify-email", data={"token": "nope", "password": PASSWORD})
    assert forged.status_code == 403
    # The right password still works afterwards.
    assert verify(client, "o@acme.example").status_code == 303
    assert user_count(client) == 1


def test_repeated_failed_sign_ins_answer_429_with_the_wait(client: TestClient) -> None:
    sign_up(client, "o@acme.example")
    client.cookies.clear()
    answers = []
    for _ in range(12):
        form = {"csrf_token": csrf(client, "/login"), "email": "o@acme.example",
                "password": "wrong password here"}
        answers.append(client.post("/login", data=form, follow_redirects=False))
        if answers[-1].status_code == 429:
            break
    assert answers[0].status_code == 401
    throttled = answers[-1]
    assert throttled.status_code == 429, [a.status_code for a in answers]
    seconds = int(throttled.headers["retry-after"])
    assert seconds > 0 and f"try again in {seconds} seconds" in throttled.text
    # While locked even the right password is refused, and no session starts.
    form = {"csrf_token": csrf(client, "/login"), "email": "o@acme.example",
            "password": PASSWORD}
    locked = client.post("/login", data=form, follow_redirects=False)
    assert locked.status_code == 429 and "flightdeck_session" not in client.cookies


def test_owners_revoke_pending_invitations_and_invited_users_accept(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    for email in ("gone@acme.example", "m@acme.example"):
        invited = client.post(f"{org}/people/invite", data={
            "csrf_token": csrf(client, f"{org}/people"), "email": email, "role": "member"})
        assert invited.status_code == 200, invited.text
    people = client.get(f"{org}/people").text
    assert "Pending invitations" in people and "gone@acme.example" in people
    revoke = re.search(
        r'action="([^"]+/revoke)"[^>]*>.{0,200}?Revoke invitation for gone@acme.example',
        people, re.S)
    assert revoke, people
    revoked = client.post(revoke.group(1), data={"csrf_token": csrf(client, f"{org}/people")},
                          follow_redirects=False)
    assert revoked.status_code == 303
    people = client.get(f"{org}/people").text
    assert "Revoke invitation for gone@acme.example" not in people
    assert "Revoke invitation for m@acme.example" in people
    # m@ already has an account elsewhere: the invitation waits until accepted.
    client.cookies.clear()
    elsewhere = sign_up(client, "m@acme.example", org="Mine")
    assert client.get(org).status_code == 404  # not a member yet
    mine = client.get("/account/invitations")
    assert mine.status_code == 200 and "Acme" in mine.text
    accept = re.search(r'action="(/account/invitations/[^"]+/accept)"', mine.text)
    assert accept, mine.text
    forged = client.post(accept.group(1), data={})
    assert forged.status_code == 403 and client.get(org).status_code == 404
    joined = client.post(accept.group(1),
                         data={"csrf_token": csrf(client, "/account/invitations")},
                         follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == org
    assert client.get(org).status_code == 200 and client.get(elsewhere).status_code == 200
    assert "No open invitations" in client.get("/account/invitations").text
    again = client.post(accept.group(1),
                        data={"csrf_token": csrf(client, "/account/invitations")})
    assert again.status_code == 404
    # The revoked invitation is not offered to its address either.
    client.cookies.clear()
    sign_up(client, "gone@acme.example", org="Gone")
    assert "No open invitations" in client.get("/account/invitations").text


def test_a_deployment_page_shows_each_component_and_edits_variables(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    page = _new_deployment(client, org)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        deployment = session.get(Deployment, page.rsplit("/", 1)[1])
        assert deployment is not None
        # What a runtime reports: each component up or not.
        deployment.status = {"components": {"scheduler": True, "api-server": False}}
        session.commit()
    live = client.get(f"{page}/_live")
    assert live.status_code == 200
    assert "scheduler" in live.text and "not ready" in live.text
    saved = client.post(f"{page}/environment", data={
        "csrf_token": csrf(client, page), "name": "API_KEY", "value": "s3cret-value",
        "secret": "yes"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].startswith(page)
    shown = client.get(page).text
    assert "API_KEY" in shown and "s3cret-value" not in shown
    # The timeline: created by whom, then the change (by name, never the value).
    timeline = shown.split('id="timeline-heading"', 1)[1]
    assert "created by o@acme.example" in timeline
    assert "secret API_KEY" in timeline and "s3cret-value" not in timeline
    refused = client.post(f"{page}/environment", data={
        "csrf_token": csrf(client, page), "name": "AIRFLOW_HOME", "value": "/x"})
    assert refused.status_code == 422
    assert "environment: AIRFLOW_HOME is set by flightdeck for every Deployment" in refused.text


def test_a_deployment_configuration_is_changed_on_its_page(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    client.post(f"{org}/workspaces", data={"csrf_token": csrf(client, f"{org}/workspaces"),
                                           "name": "data"})
    settings = {"airflow_version": "3.1.0", "executor": "CeleryExecutor",
                "scheduler_size": "small", "scheduler_count": "1", "min_workers": "1",
                "max_workers": "10", "tasks_per_worker": "5"}
    created = client.post(f"{org}/deployments", data={
        "csrf_token": csrf(client, f"{org}/deployments/new"), "name": "etl",
        "workspace": "data", "cluster": cluster, **settings}, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = created.headers["location"]
    shown = client.get(page).text
    assert "Change the configuration" in shown and 'name="max_workers"' in shown
    assert 'value="10"' in shown  # the form starts from what is in force

    refused = client.post(f"{page}/configuration", data={
        "csrf_token": csrf(client, page), **settings, "min_workers": "12"})
    assert refused.status_code == 422
    assert "min_workers" in refused.text and 'value="12"' in refused.text  # as typed
    assert "<details open>" in refused.text
    not_a_number = client.post(f"{page}/configuration", data={
        "csrf_token": csrf(client, page), **settings, "tasks_per_worker": "many"})
    assert not_a_number.status_code == 422
    assert "tasks_per_worker: must be a whole number" in not_a_number.text

    saved = client.post(f"{page}/configuration", data={
        "csrf_token": csrf(client, page), **settings, "max_workers": "20",
        "scheduler_size": "medium"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("#config-heading")
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        deployment = session.get(Deployment, page.rsplit("/", 1)[1])
        assert deployment is not None
        assert deployment.spec["worker_queue"]["max_workers"] == 20
        assert deployment.spec["scheduler_size"] == "medium"
    assert "20" in client.get(page).text.split('id="config-heading"', 1)[1].split("</dl>")[0]


def test_the_airflow_login_is_shown_only_on_request_and_audited(client: TestClient) -> None:
    """The button posts the API's own airflow-login: refused on the page (409, the
    runtime's reason) while no Airflow answers, and on the kubernetes runtime, where
    flightdeck makes no login, there is no button. The reveal itself is in the journey."""
    org = sign_up(client, "o@acme.example")
    page = _new_deployment(client, org)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        deployment = session.get(Deployment, page.rsplit("/", 1)[1])
        assert deployment is not None
        runtime = deployment.runtime
        deployment.status = {"url": "http://127.0.0.1:1/", "components": {}}
        session.commit()
    shown = client.get(page).text
    answer = client.post(f"{page}/airflow-login", data={"csrf_token": csrf(client, page)})
    if runtime == "local":
        assert "Show the Airflow login" in shown
        # No Airflow runs for this record: the runtime's refusal, on the page.
        assert answer.status_code == 409 and "airflow-login:" in answer.text
    else:
        assert "Show the Airflow login" not in shown
        assert answer.status_code == 409 and "not supported yet on the" in answer.text
    assert 'id="airflow-password"' not in answer.text


def test_a_hibernating_deployment_page_shows_its_wake_time_a_wake_up_form_and_its_cost(
    client: TestClient,
) -> None:
    from datetime import timedelta

    from flightdeck.db.models import Deployment
    from flightdeck.db.types import utcnow

    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    client.post(f"{org}/workspaces", data={"csrf_token": csrf(client, f"{org}/workspaces"),
                                           "name": "data"})
    created = client.post(f"{org}/deployments", data={
        "csrf_token": csrf(client, f"{org}/deployments/new"), "name": "etl", "workspace": "data",
        "cluster": cluster, "airflow_version": "3.1.0", "executor": "CeleryExecutor",
        "scheduler_size": "small", "scheduler_count": "1", "min_workers": "1",
        "max_workers": "10", "tasks_per_worker": "5", "environment": "",
        "secret_environment": "", "is_development": "on"}, follow_redirects=False)
    assert created.status_code == 303, created.text
    wake = (utcnow() + timedelta(hours=8)).replace(second=0, microsecond=0)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:  # as the worker leaves it once its Airflow has stopped
        row = session.query(Deployment).one()
        assert row.is_development
        row.hibernated, row.wake_at, row.phase = True, wake, "Hibernating"
        session.commit()
        page = f"{org}/deployments/{row.id}"
    shown = client.get(page).text
    assert "Hibernating" in shown and f"at {wake.isoformat(timespec='minutes')}" in shown
    assert f'action="{page}/wake-up"' in shown and ">Wake up</button>" in shown
    assert "$0 per hour now" in shown and "not incurring $" in shown
    assert "development" in shown
    assert client.post(f"{page}/wake-up", data={}).status_code == 403  # no CSRF token
    woken = client.post(f"{page}/wake-up", data={"csrf_token": csrf(client, page)})
    assert woken.status_code == 200 and ">Wake up</button>" not in woken.text
    with factory() as session:
        assert session.query(Deployment).one().hibernated is False
    cluster_page = client.get(f"{org}/clusters/{cluster}").text
    assert "EKS control plane" in cluster_page and "per hour</strong> on demand" in cluster_page


def test_the_deployment_page_shows_every_worker_queue(client: TestClient) -> None:
    org = sign_up(client, "q@acme.example")
    cluster = _active_cluster(client, org)
    client.post(f"{org}/workspaces", data={"csrf_token": csrf(client, f"{org}/workspaces"),
                                           "name": "data"})
    created = client.post(f"{org}/deployments", data={
        "csrf_token": csrf(client, f"{org}/deployments/new"), "name": "etl",
        "workspace": "data", "cluster": cluster, "airflow_version": "3.1.0",
        "executor": "CeleryExecutor", "scheduler_size": "small", "scheduler_count": "1",
        "min_workers": "1", "max_workers": "4", "tasks_per_worker": "5"},
        follow_redirects=False)
    page = created.headers["location"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:  # as `deployment update --worker-queue` stores it
        deployment = session.get(Deployment, page.rsplit("/", 1)[1])
        assert deployment is not None
        deployment.spec = {**deployment.spec, "extra_queues": [
            {"name": "highcpu", "instance_type": "c6i.4xlarge", "min_workers": 1,
             "max_workers": 8, "tasks_per_worker": 2}]}
        session.commit()
    config = client.get(page).text.split('id="config-heading"', 1)[1].split("</section>", 1)[0]
    assert "<strong>default</strong>: 1 to 4 workers, 5 tasks each" in config
    assert "<strong>highcpu</strong>: 1 to 8 workers on c6i.4xlarge, 2 tasks each" in config


def test_every_page_names_the_consoles_own_icon(client: TestClient) -> None:
    """Browsers ask for an icon on every page: it is the console's own, from this server."""
    login = client.get("/login").text
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', login)
    assert icon is not None
    answer = client.get(icon.group(1))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg")

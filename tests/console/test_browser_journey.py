"""The seeds' journey in a real browser against the embedded default: sign up, Settings,
Show, Copy, the quick-create link, the customer creates the role with the CLI, verify,
preflight, a cluster watched to Active without a reload, a Deployment on it watched to
Healthy, then Open Airflow to that Deployment's own Airflow, signed in the way the page
says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cli.conftest import Server, run_cli
from console.conftest import Pages, customer_env, verification_link

PASSWORD = "correct horse battery staple"
CUSTOMER = "222222222222"
ACTIVE_TIMEOUT_MS = 300_000
# Real Airflow starting on a loaded 2-core machine: usually 30-90 s, allow far more.
HEALTHY_TIMEOUT_MS = 900_000
AIRFLOW_TIMEOUT_MS = 120_000


def new_page(browser: Any, server: Server, pages: Pages, *, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    # Verify, preflight and cluster creation call the AWS emulator while the page waits; on
    # a loaded machine that can take longer than Playwright's default 30 s.
    context.set_default_timeout(120_000)
    return pages.watch(context.new_page())


def clipboard(page: Any) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def sign_in_to_airflow(airflow: Any, page: Any) -> None:
    """What the Deployment's page gives its Admins: Show the Airflow login (audited), then
    the username and the password copied from the page."""
    assert "Show the Airflow login" in page.locator("#airflow-sign-in").inner_text()
    page.get_by_role("button", name="Show the Airflow login").click()
    username = page.locator("#airflow-username").inner_text().strip()
    page.locator('[data-copy-target="airflow-password"]').click()
    password = clipboard(page)
    assert password and password == page.locator("#airflow-password").inner_text().strip()
    airflow.get_by_label("Username").fill(username)
    airflow.get_by_label("Password").fill(password)
    airflow.get_by_role("button", name="Sign in").click()


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_seeds_journey_in_the_browser(
    browser: Any, airflow_console_server: Server, pages: Pages, tmp_path: Path
) -> None:
    console_server = airflow_console_server
    url = console_server.url
    page = new_page(browser, console_server, pages)

    # Sign up.
    page.goto(url + "/")
    assert page.url.startswith(url + "/login")
    pages.check(page, "sign in")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Work email").fill("owner@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Acme")
    pages.check(page, "sign up")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your mail").wait_for()
    assert "flightdeck notifications list --local --to owner@acme.example" in page.content()
    pages.check(page, "check your mail")
    page.goto(verification_link("owner@acme.example"))
    page.get_by_label("Password").fill(PASSWORD)
    pages.check(page, "verify email")
    page.get_by_role("button", name="Verify and create account").click()
    page.get_by_role("heading", name="Acme", level=1).wait_for()
    org = urlsplit(page.url).path  # /o/<id>
    pages.check(page, "overview")

    # Settings → Show → Copy.
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Settings").click()
    assert page.locator("#external-id").input_value().startswith("•")
    pages.check(page, "settings")
    page.get_by_role("button", name="Show").click()
    shown = page.locator("output#external-id").inner_text().strip()
    assert len(shown) >= 8 and "•" not in shown
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied").wait_for()
    external_id = clipboard(page)
    assert external_id == shown
    pages.check(page, "settings external id shown")

    # An API token for the customer's CLI, shown once, copied.
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("customer laptop")
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied").wait_for()
    token = clipboard(page)
    assert token.startswith("fdk_")
    pages.check(page, "api token created")

    # AWS accounts: template, quick-create link with the ExternalId, the CLI command.
    page.goto(url + org + "/aws")
    pages.check(page, "aws accounts")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the CloudFormation template").click()
    template = Path(download.value.path()).read_text()
    assert "ExternalId" in template and external_id not in template
    page.get_by_role("button", name="Get the quick-create link").click()
    link = page.locator("#quick-create-link").get_attribute("href") or ""
    fragment_query = parse_qs(urlsplit(link).fragment.partition("?")[2])
    assert fragment_query["param_ExternalId"] == [external_id]
    assert fragment_query["stackName"] == ["FlightdeckCrossAccountRole"]
    command = page.locator("#role-command").inner_text()
    assert command.startswith("flightdeck aws role create")
    pages.check(page, "aws quick create link")

    # The customer creates the role with the CLI, using what the console gave them.
    created = run_cli("aws", "role", "create", "--profile", "customer", "--json",
                      env=customer_env(token, external_id, console_server))
    assert created.returncode == 0, created.stdout + created.stderr
    assert json.loads(created.stdout)["role_arn"].startswith(f"arn:aws:iam::{CUSTOMER}:role/")

    # Verify (and re-verify) in the console; each check has its remedy column.
    page.reload()
    page.get_by_role("link", name=CUSTOMER).click()
    page.get_by_role("button", name="erify").click()
    page.locator("h1 .badge", has_text="verified").wait_for()
    checks = page.locator("table.checks tbody tr")
    assert checks.count() >= 3
    pages.check(page, "aws account verified")
    page.get_by_role("button", name="Run preflight").click()
    page.get_by_text("Result:").wait_for()
    assert page.locator("p", has_text="Result:").locator(".badge").inner_text() == "pass"
    pages.check(page, "aws account preflight")

    # A cluster from the reference table's form, preflight first, then watched to Active.
    page.get_by_role("link", name="Create a cluster").click()
    page.get_by_label("Cluster name").fill("prod")
    page.get_by_label("Region").select_option("us-east-1")
    page.get_by_role("button", name="Run preflight").click()
    page.get_by_role("heading", name="Preflight").wait_for()
    pages.check(page, "cluster preflight")
    page.get_by_role("button", name="Create cluster").click()
    page.get_by_role("heading", name="Cluster prod").wait_for()
    pages.check(page, "cluster provisioning")
    # No reload from here: the page updates itself.
    page.locator("#status-heading .badge", has_text="Active").wait_for(timeout=ACTIVE_TIMEOUT_MS)
    assert page.locator("ol.timeline li").count() >= 2
    pages.check(page, "cluster active")
    page.get_by_role("link", name="Plan").click()
    pages.check(page, "cluster plan")
    page.goto(url + org + "/clusters")
    pages.check(page, "clusters")

    # A workspace, then a Deployment choosing the cluster from the Cluster list.
    page.goto(url + org + "/workspaces")
    page.get_by_label("Workspace name").fill("data")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_role("heading", name="Workspace data").wait_for()
    pages.check(page, "workspace")
    page.goto(url + org + "/deployments/new")
    cluster_options = page.get_by_label("Cluster").locator("option").all_inner_texts()
    assert cluster_options == ["prod (us-east-1)"]
    page.get_by_label("Cluster").select_option(label="prod (us-east-1)")
    page.get_by_label("Deployment name").fill("etl")
    page.get_by_label("Environment variables", exact=True).fill("REPORT_BUCKET=reports")
    page.get_by_label("Secret environment variables").fill("WAREHOUSE_PASSWORD=hunter2-secret")
    pages.check(page, "deployment new")
    page.get_by_role("button", name="Create Deployment").click()
    page.get_by_role("heading", name="Deployment etl").wait_for()
    assert "REPORT_BUCKET" in page.content() and "WAREHOUSE_PASSWORD" in page.content()
    assert "hunter2-secret" not in page.content()
    assert page.locator("td", has_text="set").count() == 1
    pages.check(page, "deployment creating")
    # No reload: the status updates itself until real Airflow answers.
    page.locator("#status-heading .badge", has_text=re.compile("^Healthy$")).wait_for(
        timeout=HEALTHY_TIMEOUT_MS
    )
    pages.check(page, "deployment healthy")

    # Open Airflow: that Deployment's own Airflow, its login page, signed in as the page says.
    airflow_url = page.locator("#airflow-url").inner_text().strip()
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open Airflow").click()
    airflow = opened.value
    airflow.get_by_role("heading", name="Sign into Airflow").wait_for(timeout=AIRFLOW_TIMEOUT_MS)
    assert airflow.url.startswith(airflow_url.rstrip("/"))
    airflow.screenshot(path=str(pages.directory / "airflow-login.png"), full_page=True)
    sign_in_to_airflow(airflow, page)
    airflow.wait_for_url(lambda address: "/auth/login" not in address,
                         timeout=AIRFLOW_TIMEOUT_MS)
    dags = airflow.get_by_role("link", name=re.compile("^dags$", re.IGNORECASE)).first
    dags.wait_for(timeout=AIRFLOW_TIMEOUT_MS)
    airflow.screenshot(path=str(pages.directory / "airflow-signed-in.png"), full_page=True)
    airflow.close()

    # Every other page, at desktop width.
    for path, name in (("", "overview with cluster"), ("/deployments", "deployments"),
                       ("/people", "people"), ("/governance", "governance"),
                       ("/notifications", "notifications"), ("/audit", "audit log")):
        page.goto(url + org + path)
        pages.check(page, name)
    assert "organization.external_id.reveal" in page.content()
    page.goto(url + org + "/clusters")
    page.get_by_role("link", name="prod").click()
    page.get_by_role("link", name="Delete").click()
    page.get_by_label("to confirm").fill("not-prod")
    page.get_by_role("button", name="Delete cluster").click()
    page.get_by_role("alert").wait_for()
    pages.check(page, "cluster delete refused")
    page.goto(url + "/no/such/page")
    pages.check(page, "not found")
    # The API viewers, offline: their assets come from this server. (ReDoc's footer logo
    # is fetched from its vendor's CDN; offline it fails and ReDoc hides it.)
    page.goto(url + "/docs")
    page.get_by_text("/api/v1/auth/signup").first.wait_for()
    pages.check(page, "docs", axe=False)  # third-party viewers: screenshot only
    page.goto(url + "/redoc")
    page.get_by_role("heading", name="flightdeck").first.wait_for()
    pages.check(page, "redoc", axe=False, allow_error="net::ERR_NAME_NOT_RESOLVED")

    # Phone width.
    phone = new_page(browser, console_server, pages, width=390)
    phone.context.add_cookies(page.context.cookies())
    for path, name in (("/settings", "phone settings"), ("/clusters", "phone clusters"),
                       ("/aws", "phone aws accounts")):
        phone.goto(url + org + path)
        pages.check(phone, name)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name}: the page scrolls sideways ({width}px)"

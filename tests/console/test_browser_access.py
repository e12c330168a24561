"""Who sees what, in the browser: a Member has no External ID field and gets 403 pages for
Owner-only addresses, an outsider gets 404 pages for another organization's ids, a form
posted without its CSRF token is refused, an expired session is sent to sign in."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, update

from cli.conftest import Server
from console.conftest import Pages, verify_in_browser
from flightdeck.db.models import BrowserSession
from flightdeck.db.types import utcnow

PASSWORD = "correct horse battery staple"


def sign_up(page: Any, url: str, email: str, organization: str | None = None) -> None:
    if organization is not None:
        page.goto(url + "/signup")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if organization is not None:
        page.get_by_label("Organization name").fill(organization)
    page.get_by_role("button", name="Create account").click()
    verify_in_browser(page, email, PASSWORD)


def test_member_outsider_csrf_and_expiry_in_the_browser(
    browser: Any, console_server: Server, pages: Pages
) -> None:
    url = console_server.url
    owner = pages.watch(browser.new_page())
    sign_up(owner, url, "owner@acme.example", "Acme")
    org = urlsplit(owner.url).path
    owner.goto(url + org + "/workspaces")
    owner.get_by_label("Workspace name").fill("data")
    owner.get_by_role("button", name="Create workspace").click()
    workspace_path = urlsplit(owner.url).path

    # The Owner invites a Member; the link is shown once.
    owner.goto(url + org + "/people")
    owner.get_by_label("Email").fill("member@acme.example")
    owner.get_by_role("button", name="Invite").click()
    link = owner.locator("#invitation-link").inner_text().strip()
    pages.check(owner, "invitation link")
    owner.goto(url + org + "/people")  # the POST's answer was the only page with the link
    assert link not in owner.content()

    member = pages.watch(browser.new_context().new_page())
    member.goto(link)
    sign_up(member, url, "member@acme.example")
    member.goto(url + org + "/settings")
    assert member.get_by_role("heading", name="Organization settings").is_visible()
    assert member.locator("#external-id").count() == 0
    assert "External ID" not in member.content()
    pages.check(member, "member settings")
    nav = member.get_by_role("navigation", name="Organization")
    assert nav.get_by_role("link", name="Audit log").count() == 0
    for owner_only in ("/audit", "/notifications", "/clusters/new"):
        response = member.goto(url + org + owner_only)
        assert response.status == 403, owner_only
    pages.check(member, "member forbidden")
    # The Show form's address, posted with a valid token, is refused too.
    member.goto(url + org + "/settings")
    token = member.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = member.request.post(url + org + "/settings/external-id",
                                  form={"csrf_token": token or ""})
    assert refused.status == 403

    # An outsider: 404 pages, the same as for ids that do not exist.
    outsider = pages.watch(browser.new_context().new_page())
    sign_up(outsider, url, "someone@other.example", "Other")
    for path in (org, org + "/settings", workspace_path, org + "/clusters/xyz", "/o/none"):
        response = outsider.goto(url + path)
        assert response.status == 404, path
        assert "Acme" not in outsider.content()
    pages.check(outsider, "outsider not found")

    # A form posted without its CSRF token (as a cross-site page would) is refused.
    forged = owner.request.post(url + org + "/workspaces", form={"name": "forged"})
    assert forged.status == 403
    owner.goto(url + org + "/workspaces")
    assert "forged" not in owner.content()

    # An expired session: the next page asks to sign in again, and says why.
    database = Path(os.environ["FLIGHTDECK_DATA_DIR"]) / "flightdeck.db"
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(update(BrowserSession).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    engine.dispose()
    owner.goto(url + org + "/clusters")
    assert urlsplit(owner.url).path == "/login"
    assert owner.get_by_text("Your session has ended").is_visible()
    pages.check(owner, "session expired")
    owner.get_by_label("Email").fill("owner@acme.example")
    owner.get_by_label("Password").fill(PASSWORD)
    owner.get_by_role("button", name="Sign in").click()
    owner.get_by_role("heading", name="Clusters").wait_for()
    assert urlsplit(owner.url).path == org + "/clusters"

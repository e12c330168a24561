"""A VPC peering requested, followed and deleted in the browser against `flightdeck server`
(SQLite, the embedded AWS emulator, its workers): the cluster's page lists it, the form is
refused with the API's one-line message next to the field, the peering's page shows the
peer account's `accept` command to copy, and once that command ran the peering turns
active. Axe and a screenshot on every page."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import create_engine, update

from cli.conftest import Server, run_cli, sign_up_and_verify
from console.conftest import Pages
from flightdeck.aws.permissions import POLICY_VERSION
from flightdeck.db.models import Cluster
from flightdeck.db.types import utcnow

PASSWORD = "correct horse battery staple"
CUSTOMER = "222222222222"
ROUNDS = 180  # bounded waits on the server's background workers (not a timing assertion)


def _cli_env(tmp_path: Path) -> dict[str, str]:
    data_dir = Path(os.environ["FLIGHTDECK_DATA_DIR"])
    return {
        **os.environ,
        "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
        "FLIGHTDECK_PASSWORD": PASSWORD,
        "AWS_CONFIG_FILE": str(data_dir / "aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "aws" / "credentials"),
    }


def _cli(env: dict[str, str], *args: str) -> str:
    result = run_cli(*args, env=env, timeout=600)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def _until(check: Any, what: str) -> None:
    for _ in range(ROUNDS):
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"never saw {what}")


def _policy_in_force(env: dict[str, str]) -> bool:
    changes = json.loads(_cli(env, "aws", "policy", "changes", "--json"))
    return any(a.get("policy_version") == POLICY_VERSION for a in changes["accounts"])


def _next_pass_now() -> None:
    """Bring the cluster's next reconcile forward (an Active cluster's comes every five
    minutes); the peering pass follows it."""
    engine = create_engine(f"sqlite:///{Path(os.environ['FLIGHTDECK_DATA_DIR'])}/flightdeck.db")
    with engine.begin() as connection:
        connection.execute(update(Cluster).values(next_reconcile_at=utcnow()))
    engine.dispose()


def _peer_vpc(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The customer's own VPC to peer with, made with their own profile (which carries the
    emulator's endpoint)."""
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, env[name])
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    ec2 = boto3.Session(profile_name="customer").client("ec2", region_name="us-east-1")
    return str(ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"])


def test_a_peering_requested_followed_and_deleted_in_the_browser(
    browser: Any, console_server: Server, pages: Pages, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _cli_env(tmp_path)
    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme")
    _cli(env, "aws", "role", "create", "--profile", "customer")
    _cli(env, "aws", "account", "verify", CUSTOMER)
    _cli(env, "cluster", "create", "prod", "--account", CUSTOMER, "--watch")
    _until(lambda: _policy_in_force(env), "the role's policy version recorded")
    peer_vpc = _peer_vpc(env, monkeypatch)

    page = pages.watch(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page.goto(console_server.url + "/login")
    page.get_by_label("Email").fill("owner@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Clusters").click()
    page.get_by_role("link", name="prod").click()
    page.get_by_role("heading", name="VPC peerings").wait_for()
    assert page.get_by_text("No peering yet").count() == 1
    cluster_url = page.url
    pages.check(page, "cluster without peerings")

    page.get_by_role("link", name="Request a peering").click()
    page.get_by_label("Peering name").fill("warehouse")
    page.get_by_label("Peer AWS account ID").fill(CUSTOMER)
    page.get_by_label("Peer region").select_option("us-east-1")
    page.get_by_label("Peer VPC id").fill(peer_vpc)
    page.get_by_label("Peer CIDRs").fill("100.64.0.0/16")
    page.get_by_label("Let your network reach the cluster").fill("database:5432")
    page.get_by_label("Private DNS zones").fill("corp.example.internal=10.1.0.2")
    page.get_by_role("button", name="Request peering").click()
    alert = page.get_by_role("alert").inner_text().strip()
    assert alert.startswith("peer_cidrs: '100.64.0.0/16' is not inside the private"), alert
    assert page.locator("#peer_cidrs").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Peer VPC id").input_value() == peer_vpc  # the form is kept
    pages.check(page, "peering refused")

    page.get_by_label("Peer CIDRs").fill("10.1.0.0/16")
    page.get_by_role("button", name="Request peering").click()
    page.get_by_role("heading", name="Peering warehouse").wait_for()
    peering_url = page.url
    pages.check(page, "peering requested")

    def shows(text: str) -> bool:
        page.goto(peering_url)
        return page.locator("h1 .badge", has_text=text).count() == 1

    _until(lambda: shows("pending-acceptance"), "the peering pending acceptance")
    accept = page.locator("#accept-command").inner_text()
    assert accept.startswith("flightdeck aws peering accept pcx-")
    assert page.locator("#validate-command").inner_text().startswith(
        "flightdeck aws peering validate pcx-")
    pages.check(page, "peering pending acceptance")

    # The customer runs the command shown, with their own profile.
    args = accept.replace("<your-profile>", "customer").split()[1:]
    _cli(env, *args)
    _next_pass_now()
    _until(lambda: shows("active"), "the peering active")
    pages.check(page, "peering active")
    page.goto(cluster_url)
    row = page.locator("tr", has=page.get_by_role("link", name="warehouse"))
    assert row.locator(".badge", has_text="active").count() == 1
    pages.check(page, "cluster with peering")

    page.goto(peering_url)
    page.get_by_role("link", name="Delete").click()
    page.get_by_label("Type warehouse to confirm").fill("warehouse")
    page.get_by_role("button", name="Delete peering").click()
    page.get_by_role("heading", name="Peering warehouse").wait_for()
    _until(lambda: shows("deleted"), "the peering deleted")
    pages.check(page, "peering deleted")

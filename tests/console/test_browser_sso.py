""""Continue with SSO" in Chromium: an Owner verifies the domain and enforces SSO on the
settings page, then a user of the identity provider signs in without a flightdeck password.
A real `flightdeck server`, the OIDC provider mock and a DNS server, all on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.conftest import Server, _serve, run_cli, sign_up_and_verify
from console.conftest import Pages
from support.dns_server import DnsServer, running_dns_server
from support.oidc_provider import Provider, running_provider

PASSWORD = "correct horse battery staple"
DOMAIN = "idp-users.example"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with running_dns_server() as running:
        yield running


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def sso_server(tmp_path: Path, dns: DnsServer) -> Iterator[Server]:
    yield from _serve(
        tmp_path,
        FLIGHTDECK_RUNTIME="kubernetes",
        FLIGHTDECK_DNS_NAMESERVER=dns.address,
        FLIGHTDECK_DNS_PORT=str(dns.port),
    )


def test_continue_with_sso_in_chromium(
    browser: Any, sso_server: Server, dns: DnsServer, provider: Provider, pages: Pages,
    tmp_path: Path,
) -> None:
    url = sso_server.url
    owner_env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "owner"),
                 "FLIGHTDECK_PASSWORD": PASSWORD, "FLIGHTDECK_SSO_CLIENT_SECRET": "secret"}
    sign_up_and_verify(owner_env, "owner@acme.example", "--organization", "Acme")
    added = run_cli("organization", "sso", "add", "--issuer", provider.issuer, "--client-id",
                    "flightdeck", "--domain", DOMAIN, "--json", env=owner_env)
    assert added.returncode == 0, added.stderr
    claim = json.loads(added.stdout)["domains"][0]
    dns.publish(claim["txt_record_name"], claim["txt_record_value"])

    owner = pages.watch(browser.new_page())
    owner.goto(url + "/login")
    owner.get_by_label("Email", exact=True).fill("owner@acme.example")
    owner.get_by_label("Password").fill(PASSWORD)
    owner.get_by_role("button", name="Sign in", exact=True).click()
    owner.wait_for_load_state("load")
    owner.goto(owner.url.rstrip("/") + "/settings")
    assert owner.get_by_text(claim["txt_record_value"]).is_visible()
    owner.get_by_text("Add an identity provider").click()  # the form, checked by axe too
    owner.get_by_text(f"Edit the group rules of {provider.issuer}").click()
    pages.check(owner, "settings with the TXT record")
    owner.get_by_role("button", name=f"Verify {DOMAIN}").click()
    owner.get_by_text(f"{DOMAIN} is verified").wait_for()
    owner.get_by_role("button", name="Enforce SSO").click()
    owner.get_by_text("SSO is enforced: members now sign in with SSO only").wait_for()
    pages.check(owner, "sso enforced")

    provider.set_user("ivy", email=f"ivy@{DOMAIN}", email_verified=True, name="Ivy")
    ivy = pages.watch(browser.new_context().new_page())
    ivy.goto(url + "/login")
    pages.check(ivy, "sign-in page")
    ivy.get_by_label("Organization account").fill(f"ivy@{DOMAIN}")
    ivy.get_by_role("button", name="Continue with SSO").click()
    ivy.wait_for_url(f"{provider.issuer}/**")
    ivy.locator('input[name="sub"]').fill("ivy")
    ivy.get_by_role("button", name="Authorize").click()
    ivy.wait_for_url(f"{url}/o/**")
    # The provider's own page loads a stylesheet from a CDN this sandbox cannot resolve: its
    # errors are not flightdeck's. Our pages are checked from here on.
    pages.console_errors[:] = [e for e in pages.console_errors
                               if "ERR_NAME_NOT_RESOLVED" not in e]
    pages.check(ivy, "signed in by sso")
    assert ivy.get_by_text("Acme").first.is_visible()
    me = ivy.request.get(url + "/api/v1/me").json()
    assert me["user"]["email"] == f"ivy@{DOMAIN}"
    assert [o["role"] for o in me["organizations"]] == ["member"]

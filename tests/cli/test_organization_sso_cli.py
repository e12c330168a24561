"""`flightdeck organization sso add|list|verify-domain|remove` against a real server, a real
provider and a real DNS server, all on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.conftest import Server, _serve, run_cli, sign_up_and_verify
from support.dns_server import DnsServer, running_dns_server
from support.oidc_provider import running_provider

PASSWORD = "correct horse battery staple"
SECRET = "the-client-secret-never-shown"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with running_dns_server() as running:
        yield running


@pytest.fixture
def server(database_url: str, tmp_path: Path, dns: DnsServer) -> Iterator[Server]:
    """`flightdeck server`, resolving TXT records through the test's DNS server."""
    for running in _serve(tmp_path, FLIGHTDECK_DATABASE_URL=database_url,
                          FLIGHTDECK_RUN_WORKER_IN_SERVER="false",
                          FLIGHTDECK_EMBEDDED_EMULATOR="false",
                          FLIGHTDECK_DNS_NAMESERVER=dns.address,
                          FLIGHTDECK_DNS_PORT=str(dns.port)):
        running.database_url = database_url
        yield running


def test_owner_adds_lists_and_removes_a_provider(
    server: Server, tmp_path: Path, dns: DnsServer
) -> None:
    owner = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "owner"),
             "FLIGHTDECK_PASSWORD": PASSWORD}
    sign_up_and_verify(owner, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    with running_provider() as provider:
        added = run_cli("organization", "sso", "add", "--issuer", provider.issuer,
                        "--client-id", "flightdeck", "--domain", "acme.example",
                        "--domain", "Acme.Dev", "--role", "member",
                        env={**owner, "FLIGHTDECK_SSO_CLIENT_SECRET": SECRET})
        assert added.returncode == 0, added.stderr
        shown = added.stdout + added.stderr
        assert "acme.dev, acme.example" in shown and SECRET not in shown

        assert "_flightdeck-challenge.acme.example  TXT" in added.stdout
        assert "sso verify-domain" in added.stdout

        taken = run_cli("organization", "sso", "add", "--issuer", provider.issuer,
                        "--client-id", "x", "--domain", "acme.example", input_text="s\n",
                        env=owner)
        assert taken.returncode != 0
        assert "domains: acme.example is already claimed" in taken.stderr
        assert "Traceback" not in taken.stderr

    down = run_cli("organization", "sso", "add", "--issuer", provider.issuer,
                   "--client-id", "x", "--domain", "other.example",
                   env={**owner, "FLIGHTDECK_SSO_CLIENT_SECRET": SECRET})
    assert down.returncode != 0 and "issuer: could not read the discovery document" in down.stderr

    listed = run_cli("organization", "sso", "list", "--json", env=owner)
    providers = json.loads(listed.stdout)
    claims = providers[0]["domains"]
    assert [c["domain"] for c in claims] == ["acme.dev", "acme.example"]
    assert SECRET not in listed.stdout

    unpublished = run_cli("organization", "sso", "verify-domain", "acme.example", env=owner)
    assert unpublished.returncode != 0 and "Traceback" not in unpublished.stderr
    assert "domain: no TXT record _flightdeck-challenge.acme.example" in unpublished.stderr
    dns.publish(claims[1]["txt_record_name"], claims[1]["txt_record_value"])
    verified = run_cli("organization", "sso", "verify-domain", "Acme.Example", env=owner)
    assert verified.returncode == 0, verified.stderr
    assert "acme.example is verified" in verified.stdout + verified.stderr
    table = run_cli("organization", "sso", "list", env={**owner, "COLUMNS": "250"})
    assert provider.issuer in table.stdout
    assert "acme.dev (unverified), acme.example" in table.stdout

    enforced = run_cli("organization", "sso", "enforce", "on", env=owner)
    assert enforced.returncode == 0, enforced.stderr
    assert "SSO is enforced" in enforced.stdout + enforced.stderr
    refused = run_cli("login", "--email", "owner@acme.example", env=owner)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "password sign-in is turned off for members of Acme" in refused.stderr
    glass = run_cli("organization", "sso", "break-glass", "Owner@Acme.Example", env=owner)
    assert glass.returncode == 0, glass.stderr
    assert run_cli("login", "--email", "owner@acme.example", env=owner).returncode == 0
    shown = json.loads(run_cli("organization", "sso", "enforce", "--json", env=owner).stdout)
    assert shown["enforced"] is True
    assert [o["email"] for o in shown["break_glass_owners"]] == ["owner@acme.example"]
    off = run_cli("organization", "sso", "enforce", "off", env=owner)
    assert off.returncode == 0 and "not enforced" in off.stdout + off.stderr

    assert providers[0]["role_mapping"] == []
    bad = run_cli("organization", "sso", "map", providers[0]["id"], "--map", "admins", env=owner)
    assert bad.returncode != 0 and "--map: 'admins' is not GROUP=owner" in bad.stderr
    mapped = run_cli("organization", "sso", "map", providers[0]["id"], "--groups-claim", "roles",
                     "--map", "cn=admins,ou=idp=owner",
                     "--map", "data-eng=workspace:analytics:admin", env=owner)
    assert mapped.returncode == 0, mapped.stderr
    assert "2 group rules on the 'roles' claim" in mapped.stdout + mapped.stderr
    rules = json.loads(run_cli("organization", "sso", "list", "--json", env=owner).stdout)[0][
        "role_mapping"]
    assert rules == [
        {"group": "cn=admins,ou=idp", "organization_role": "owner", "workspace": None,
         "workspace_role": None},
        {"group": "data-eng", "organization_role": None, "workspace": "analytics",
         "workspace_role": "admin"},
    ]

    removed = run_cli("organization", "sso", "remove", providers[0]["id"], env=owner)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(run_cli("organization", "sso", "list", "--json", env=owner).stdout) == []
    again = run_cli("organization", "sso", "remove", providers[0]["id"], env=owner)
    assert again.returncode != 0 and "identity provider not found" in again.stderr

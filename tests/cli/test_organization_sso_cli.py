"""`flightdeck organization sso add|list|remove` against a real server and a real provider."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli.conftest import Server, run_cli, sign_up_and_verify
from support.oidc_provider import running_provider

PASSWORD = "correct horse battery staple"
SECRET = "the-client-secret-never-shown"


def test_owner_adds_lists_and_removes_a_provider(server: Server, tmp_path: Path) -> None:
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

        taken = run_cli("organization", "sso", "add", "--issuer", provider.issuer,
                        "--client-id", "x", "--domain", "acme.example", input_text="s\n",
                        env=owner)
        assert taken.returncode != 0
        assert "domains: acme.example already routes" in taken.stderr
        assert "Traceback" not in taken.stderr

    down = run_cli("organization", "sso", "add", "--issuer", provider.issuer,
                   "--client-id", "x", "--domain", "other.example",
                   env={**owner, "FLIGHTDECK_SSO_CLIENT_SECRET": SECRET})
    assert down.returncode != 0 and "issuer: could not read the discovery document" in down.stderr

    listed = run_cli("organization", "sso", "list", "--json", env=owner)
    providers = json.loads(listed.stdout)
    assert [p["domains"] for p in providers] == [["acme.dev", "acme.example"]]
    assert SECRET not in listed.stdout
    table = run_cli("organization", "sso", "list", env={**owner, "COLUMNS": "250"})
    assert provider.issuer in table.stdout

    removed = run_cli("organization", "sso", "remove", providers[0]["id"], env=owner)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(run_cli("organization", "sso", "list", "--json", env=owner).stdout) == []
    again = run_cli("organization", "sso", "remove", providers[0]["id"], env=owner)
    assert again.returncode != 0 and "identity provider not found" in again.stderr

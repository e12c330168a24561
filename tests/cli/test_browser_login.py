"""`flightdeck login` without --email: the browser signs in with the organization's SSO and
comes back to the CLI on 127.0.0.1 (RFC 8252). A real server, a real OpenID Connect
provider and a real DNS server on loopback; the test plays the browser with httpx, and
``BROWSER`` is a script that records the URL the CLI opens (Python's webbrowser runs it)."""

from __future__ import annotations

import html
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from cli.conftest import FLIGHTDECK, Server, _serve, run_cli, sign_up_and_verify
from support.dns_server import DnsServer, running_dns_server
from support.oidc_provider import Provider, running_provider

PASSWORD = "correct horse battery staple"
DOMAIN = "browser.example"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with running_dns_server() as running:
        yield running


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def server(database_url: str, tmp_path: Path, dns: DnsServer) -> Iterator[Server]:
    for running in _serve(
        tmp_path,
        FLIGHTDECK_DATABASE_URL=database_url,
        FLIGHTDECK_RUN_WORKER_IN_SERVER="false",
        FLIGHTDECK_EMBEDDED_EMULATOR="false",
        FLIGHTDECK_DNS_NAMESERVER=dns.address,
        FLIGHTDECK_DNS_PORT=str(dns.port),
    ):
        running.database_url = database_url
        yield running


def _organization_with_sso(server: Server, tmp_path: Path, dns: DnsServer, issuer: str) -> None:
    owner = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "owner"),
             "FLIGHTDECK_PASSWORD": PASSWORD, "FLIGHTDECK_SSO_CLIENT_SECRET": "secret"}
    sign_up_and_verify(owner, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    added = run_cli("organization", "sso", "add", "--issuer", issuer, "--client-id", "fd",
                    "--domain", DOMAIN, "--json", env=owner)
    assert added.returncode == 0, added.stderr
    import json

    claim = json.loads(added.stdout)["domains"][0]
    dns.publish(claim["txt_record_name"], claim["txt_record_value"])
    verified = run_cli("organization", "sso", "verify-domain", DOMAIN, env=owner)
    assert verified.returncode == 0, verified.stderr


def _recording_browser(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "opened-url"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{record}"\n')
    script.chmod(0o700)
    return script, record


def test_login_in_the_browser_with_sso_stores_a_token(
    server: Server, tmp_path: Path, dns: DnsServer, provider: Provider
) -> None:
    _organization_with_sso(server, tmp_path, dns, provider.issuer)
    provider.set_user("alice", email=f"alice@{DOMAIN}", email_verified=True)
    script, record = _recording_browser(tmp_path)
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "alice"), "BROWSER": str(script)}
    env.pop("DISPLAY", None)
    login = subprocess.Popen([FLIGHTDECK, "login", "--wait", "120"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (record.exists() and record.read_text()) and time.monotonic() < deadline:
            assert login.poll() is None, login.communicate()
            time.sleep(0.1)
        url = record.read_text()
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", query["redirect_uri"][0])

        with httpx.Client(base_url=server.url, timeout=30) as browser:
            to_sign_in = browser.get(url)
            assert to_sign_in.status_code == 303
            sign_in = urlsplit(to_sign_in.headers["location"])
            assert sign_in.path == "/login"
            next_path = parse_qs(sign_in.query)["next"][0]
            assert next_path.startswith("/api/v1/auth/cli/authorize?")
            assert browser.get(f"{sign_in.path}?{sign_in.query}").status_code == 200
            # The sign-in page's "Continue with SSO" form, as the browser submits it.
            started = browser.get("/api/v1/sso/start", params={
                "email": f"alice@{DOMAIN}", "next": next_path})
            assert started.status_code == 303, started.text
            at_provider = httpx.post(started.headers["location"], data={"sub": "alice"})
            callback = urlsplit(at_provider.headers["location"])
            back = browser.get(f"{callback.path}?{callback.query}")
            assert back.status_code == 303, back.text
            assert back.headers["location"] == next_path
            handed = browser.get(next_path)
            assert handed.status_code == 200, handed.text
            link = re.search(r'<a href="([^"]+)">Return to the flightdeck CLI', handed.text)
            assert link is not None
            landed = httpx.get(html.unescape(link.group(1)), timeout=30)
            assert landed.status_code == 303  # to the console's own page: back to the terminal
            assert landed.headers["location"] == f"{server.url}/cli-signed-in"
            done = browser.get("/cli-signed-in")
            assert done.status_code == 200 and "The CLI is signed in" in done.text
            assert f"alice@{DOMAIN}" in done.text
        out, err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, err
    assert f"logged in to {server.url} as alice@{DOMAIN}" in out + err
    assert "Sign in in your browser" in err and url in err
    listed = run_cli("organization", "list", env=env)
    assert listed.returncode == 0 and "Acme" in listed.stdout, listed.stderr


def test_the_code_goes_only_to_loopback_and_only_once(server: Server) -> None:
    import base64
    import hashlib

    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()
    authorize = f"{server.url}/api/v1/auth/cli/authorize"
    params = {"state": "s" * 20, "code_challenge": challenge, "code_challenge_method": "S256"}
    for uri in ("https://attacker.example/cb", "http://localhost.attacker.example:80/cb",
                "http://10.0.0.1:8080/cb"):
        refused = httpx.get(authorize + "?" + urlencode({**params, "redirect_uri": uri}))
        assert refused.status_code == 400 and "redirect_uri" in refused.text.lower()
    token = httpx.post(f"{server.url}/api/v1/auth/cli/token", json={
        "code": "guessed", "code_verifier": verifier,
        "redirect_uri": "http://127.0.0.1:9/callback", "token_name": "cli"})
    assert token.status_code == 401 and "run `flightdeck login` again" in token.text
    no_browser = run_cli("login", "--no-browser", "--wait", "1")
    assert no_browser.returncode != 0 and "Traceback" not in no_browser.stderr
    assert "no sign-in came back within 1 seconds" in no_browser.stderr
    assert "/api/v1/auth/cli/authorize?" in no_browser.stderr

"""One invocation's context: the organization is resolved once, whatever asks for it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from flightdeck.cli.context import Invocation, invocation
from flightdeck.cli.errors import CliError
from flightdeck.cli.main import app

ORGANIZATIONS = [
    {"id": "org-1", "name": "Acme", "slug": "acme"},
    {"id": "org-2", "name": "Beta", "slug": "beta"},
]


class _ControlPlane(ThreadingHTTPServer):
    """A loopback HTTP server answering the few GETs these tests make, counting them."""

    def __init__(self, organizations: list[dict[str, Any]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.organizations = organizations
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _ControlPlane

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        routes: dict[str, Any] = {
            "/api/v1/organizations": self.server.organizations,
            "/api/v1/organizations/org-1/workspaces": [{"id": "ws-1", "name": "analytics"}],
            "/api/v1/organizations/org-1/clusters": [],
        }
        body = json.dumps(routes.get(self.path, {"error": {"message": "no route"}})).encode()
        self.send_response(200 if self.path in routes else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(organizations: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[
    _ControlPlane
]:
    server = _ControlPlane(organizations)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("FLIGHTDECK_URL", server.url)
    monkeypatch.setenv("FLIGHTDECK_TOKEN", "fdk_test")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def control_plane(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ControlPlane]:
    yield from _serve(ORGANIZATIONS, monkeypatch)


@pytest.fixture
def single_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ControlPlane]:
    yield from _serve(ORGANIZATIONS[:1], monkeypatch)


def test_the_organization_is_resolved_once_per_invocation(control_plane: _ControlPlane) -> None:
    cli = Invocation(org_ref="Acme")
    assert cli.org_path("/clusters") == "/organizations/org-1/clusters"
    assert cli.org_id == "org-1"
    assert cli.workspace("analytics")["id"] == "ws-1"
    assert control_plane.requests == [
        "/api/v1/organizations",
        "/api/v1/organizations/org-1/workspaces",
    ]


def test_binding_another_org_resolves_again(control_plane: _ControlPlane) -> None:
    ctx = typer.Context(typer.main.get_command(app))
    assert invocation(ctx, "Acme").org_id == "org-1"
    assert invocation(ctx, "org-2").org_id == "org-2"
    assert invocation(ctx, "org-2").org_id == "org-2"
    assert control_plane.requests == ["/api/v1/organizations", "/api/v1/organizations"]


def test_several_organizations_need_org(control_plane: _ControlPlane) -> None:
    several = r"several organizations \(Acme \(acme\), Beta \(beta\)\); choose one"
    with pytest.raises(CliError, match=several):
        _ = Invocation().organization
    with pytest.raises(CliError, match="no organization 'Gamma'"):
        _ = Invocation(org_ref="Gamma").organization


def test_org_takes_an_id_or_slug_and_refuses_a_name_several_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    same_names = [
        {"id": "org-1", "name": "Acme", "slug": "acme"},
        {"id": "org-2", "name": "acme", "slug": "acme-2"},
        {"id": "org-3", "name": " Beta ", "slug": "beta"},
    ]
    for _server in _serve(same_names, monkeypatch):
        assert Invocation(org_ref="acme-2").org_id == "org-2"
        assert Invocation(org_ref="acme").org_id == "org-1"  # a slug is exact
        assert Invocation(org_ref="org-2").org_id == "org-2"
        assert Invocation(org_ref="BETA").org_id == "org-3"  # a name only one has
        with pytest.raises(CliError) as refused:
            _ = Invocation(org_ref="ACME").organization
        assert refused.value.message == (
            "several of your organizations are named 'ACME' (slugs: acme, acme-2); choose "
            "one with --org SLUG"
        )


def test_a_command_gets_the_invocation_from_the_root_callback(
    single_org: _ControlPlane,
) -> None:
    result = CliRunner().invoke(app, ["cluster", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    assert single_org.requests == [
        "/api/v1/organizations",
        "/api/v1/organizations/org-1/clusters",
    ]

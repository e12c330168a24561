"""The OpenAPI document tells clients every error answer and the input rules the API checks."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from flightdeck.api import routes
from flightdeck.api.app import API_PREFIX
from flightdeck.api.deps import get_current_user
from flightdeck.services.validation import NAME_PATTERN

ERROR_REF = "#/components/schemas/ErrorOut"


def _dependency_calls(route: APIRoute) -> set[Any]:
    calls: set[Any] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        calls.add(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def _operations(client: TestClient) -> list[tuple[APIRoute, str, str, dict[str, Any]]]:
    """Every API route of every router module, with its operation in the document."""
    document = client.get("/openapi.json").json()
    found = []
    for module_info in pkgutil.iter_modules(routes.__path__):
        module = importlib.import_module(f"{routes.__name__}.{module_info.name}")
        for route in module.router.routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            path = API_PREFIX + route.path_format
            for method in route.methods:
                found.append((route, path, method, document["paths"][path][method.lower()]))
    return found


def test_every_operation_documents_the_errors_it_can_return(client: TestClient) -> None:
    operations = _operations(client)
    assert len(operations) > 40
    missing = []
    for route, path, method, operation in operations:
        documented = set(operation["responses"])
        expected = set()
        if get_current_user in _dependency_calls(route):
            expected.add("401")
        if "{" in path:
            expected |= {"404", "422"}
        if path.startswith(f"{API_PREFIX}/organizations/{{organization_id}}"):
            expected.add("403")
        if route.body_field is not None:
            expected.add("422")
        if expected - documented:
            missing.append(f"{method} {path}: {sorted(expected - documented)}")
    assert not missing, "\n".join(missing)


def test_every_error_answer_has_the_error_body(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                browser_path = path.startswith(("/api/v1/sso/", "/api/v1/auth/cli/authorize"))
                if browser_path and set(response["content"]) == {"text/html"}:
                    continue  # a browser follows the SSO redirects: their refusals are pages
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, f"{method} {path} {status}"


def test_conflicts_and_throttling_are_documented_where_they_happen(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    # Sign-up answers alike whether or not the address is registered; the conflict of an
    # address that already has an account can only come when the link is used.
    assert "409" not in paths["/api/v1/auth/signup"]["post"]["responses"]
    assert "409" in paths["/api/v1/auth/verify-email"]["post"]["responses"]
    assert "429" in paths["/api/v1/auth/login"]["post"]["responses"]
    members = "/api/v1/organizations/{organization_id}/members/{user_id}"
    assert "409" in paths[members]["delete"]["responses"]  # the last Owner stays
    assert "409" in paths["/api/v1/organizations/{organization_id}/deployments"]["post"][
        "responses"
    ]


def test_name_and_email_rules_are_in_the_schemas(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in (
        "OrganizationCreateIn",
        "WorkspaceCreateIn",
        "TokenCreateIn",
        "ClusterCreateIn",
        "DeploymentCreateIn",
    ):
        name = schemas[model]["properties"]["name"]
        assert name["pattern"] == NAME_PATTERN and name["maxLength"] == 64, model
    for model in ("SignUpIn", "LoginIn", "InviteIn"):
        assert schemas[model]["properties"]["email"]["format"] == "email", model
    assert schemas["SignUpIn"]["properties"]["password"]["minLength"] >= 12
    assert re.fullmatch(NAME_PATTERN, "Data Platform")
    # The documented rule is the enforced one: a name outside it is refused.
    response = client.post(
        "/api/v1/auth/signup",
        json={
            "email": "rules@example.com",
            "password": "correct horse battery staple",
            "organization_name": "-bad",
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "organization_name"

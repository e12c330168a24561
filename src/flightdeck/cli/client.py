"""The CLI's HTTP client for the control plane; every failure becomes one clear CliError."""

from __future__ import annotations

from typing import Any

import httpx

from flightdeck.cli import credentials
from flightdeck.cli.errors import CliError

API = "/api/v1"


class ApiClient:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        stored = credentials.load()
        self.url = (url or stored.url).rstrip("/")
        self.token = token if token is not None else stored.token
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        try:
            response = self._http.request(
                method, API + path, json=json, params=params, content=content, headers=headers
            )
        except httpx.ConnectError:
            raise CliError(
                f"no flightdeck server is running at {self.url}; start one with "
                "`flightdeck server` (or point FLIGHTDECK_URL at yours)"
            ) from None
        except httpx.HTTPError as exc:
            raise CliError(f"could not reach {self.url}: {exc}") from None
        if response.status_code == 401 and not self.token and not path.startswith("/auth/"):
            raise CliError("you are not logged in; run `flightdeck login`")
        if response.status_code >= 400:
            raise CliError(_error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def upload(self, path: str, content: bytes, params: dict[str, Any] | None = None) -> Any:
        """POST a binary body (a code bundle)."""
        return self.request(
            "POST", path, params=params, content=content,
            headers={"Content-Type": "application/gzip"},
        )


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        message = str(error.get("message") or response.reason_phrase)
    except ValueError:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    if response.status_code == 401:
        return f"{message} (run `flightdeck login`)"
    return message


def resolve_org(client: ApiClient, org: str | None) -> dict[str, Any]:
    """An organization by id or name; the only one when there is exactly one."""
    organizations: list[dict[str, Any]] = client.get("/organizations")
    if org:
        for candidate in organizations:
            if org in (candidate["id"], candidate["name"]):
                return candidate
        raise CliError(f"no organization {org!r}; see `flightdeck organization list`")
    if len(organizations) == 1:
        return organizations[0]
    if not organizations:
        raise CliError(
            "you belong to no organization; create one with `flightdeck organization create NAME`"
        )
    names = ", ".join(o["name"] for o in organizations)
    raise CliError(f"you belong to several organizations ({names}); choose one with --org")


def resolve_workspace(client: ApiClient, org_id: str, workspace: str) -> dict[str, Any]:
    for candidate in client.get(f"/organizations/{org_id}/workspaces"):
        if workspace in (candidate["id"], candidate["name"]):
            return dict(candidate)
    raise CliError(f"no workspace {workspace!r}; see `flightdeck workspace list`")


def resolve_member(client: ApiClient, org_id: str, user: str) -> dict[str, Any]:
    for member in client.get(f"/organizations/{org_id}/members"):
        if user.lower() in (member["user_id"], member["email"]):
            return dict(member)
    raise CliError(f"no member {user!r} in this organization; see `flightdeck user list`")

"""The CLI's HTTP client for the control plane; every failure becomes one clear CliError."""

from __future__ import annotations

from typing import Any

import httpx

from flightdeck.cli import credentials
from flightdeck.cli.errors import CliError

API = "/api/v1"
# Some requests wait on AWS (verifying a role makes dozens of calls), so reads may be slow;
# an unreachable server is still reported at once.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


class ApiClient:
    """``url`` and ``token`` default to the stored (or FLIGHTDECK_*) ones; ``token=""``
    talks to the server anonymously (signing up, logging in)."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        stored = credentials.load(url)
        self.url = stored.url
        self.token = token if token is not None else stored.token
        self.token_from_environment = token is None and stored.token_from_environment
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT)

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
            raise self.not_running() from None
        except httpx.ReadTimeout:
            raise CliError(
                f"the server at {self.url} did not answer within {TIMEOUT.read:.0f}s; it may "
                "still finish the request: check before trying again"
            ) from None
        except httpx.HTTPError as exc:
            raise CliError(f"could not reach {self.url}: {exc}") from None
        if response.status_code == 401 and not path.startswith("/auth/"):
            raise CliError(self._unauthenticated())
        if response.status_code >= 400:
            raise CliError(_error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def ensure_running(self) -> None:
        """Fail before anything is asked of the user when no server answers at ``url``."""
        try:
            self._http.get("/healthz")
        except httpx.ConnectError:
            raise self.not_running() from None
        except httpx.HTTPError as exc:
            raise CliError(f"could not reach {self.url}: {exc}") from None

    def not_running(self) -> CliError:
        return CliError(
            f"no flightdeck server is running at {self.url}; start one with "
            "`flightdeck server` (or point FLIGHTDECK_URL at yours)"
        )

    def _unauthenticated(self) -> str:
        """A 401 outside /auth/: no token, or one the server no longer accepts."""
        if not self.token:
            return f"you are not logged in to {self.url}; run `flightdeck login`"
        if self.token_from_environment:
            return (
                f"the API token in FLIGHTDECK_TOKEN is invalid, expired or revoked at "
                f"{self.url}; set a valid one, or unset it and run `flightdeck login`"
            )
        return (
            f"your API token for {self.url} is invalid, expired or revoked; log in again "
            "with `flightdeck login`"
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    def put(self, path: str, json: Any = None) -> Any:
        return self.request("PUT", path, json=json)

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
        return str(error.get("message") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"


"""Talk to a running local Airflow through its public REST API.

Settings are loaded through the API rather than the database so that Airflow validates them
exactly as it would for a user: v2 with a JWT from the simple auth manager on Airflow 3, v1
with basic auth on Airflow 2. Both versions use the same field names for the three objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import AirflowSettings, Connection, Pool


@dataclass
class AirflowApi:
    base_url: str
    major: int
    username: str
    password: str
    _client: httpx.Client | None = None
    # Where what is written comes from, and how to retry, in the errors Airflow's refusals
    # become (the dev project's settings file by default; a Deployment's CLI otherwise).
    source: str = "airflow_settings.yaml"
    retry: str = "fix the entry and run `flightdeck dev object import`"

    @property
    def prefix(self) -> str:
        return "/api/v2" if self.major >= 3 else "/api/v1"

    def client(self) -> httpx.Client:
        if self._client is None:
            if self.major >= 3:
                response = httpx.post(
                    f"{self.base_url}/auth/token",
                    json={"username": self.username, "password": self.password},
                    timeout=30,
                )
                if response.status_code not in (200, 201):
                    raise DevEnvError(
                        f"Airflow at {self.base_url} refused the local login "
                        f"(HTTP {response.status_code}); run `flightdeck dev restart`"
                    )
                token = response.json()["access_token"]
                self._client = httpx.Client(
                    base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
            else:
                self._client = httpx.Client(
                    base_url=self.base_url, auth=(self.username, self.password), timeout=30
                )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _upsert(
        self, collection: str, key: str, body: dict[str, Any], hide: tuple[str, ...] = ()
    ) -> str:
        client = self.client()
        url = f"{self.prefix}/{collection}"
        existing = client.get(f"{url}/{key}")
        if existing.status_code == 404:
            response = client.post(url, json=body)
            action = "created"
        else:
            response = client.patch(f"{url}/{key}", json=body)
            action = "updated"
        if response.status_code >= 400:
            detail = _detail(response)
            for secret in hide:  # Airflow may echo the input back in a validation error
                detail = detail.replace(secret, "***")
            raise DevEnvError(
                f"{self.source} {collection} {key!r}: Airflow rejected it "
                f"(HTTP {response.status_code}: {detail}); {self.retry}"
            )
        return action

    def delete(self, collection: str, key: str) -> bool:
        """Remove one object; ``False`` when Airflow has none by that key."""
        response = self.client().delete(f"{self.prefix}/{collection}/{key}")
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise DevEnvError(
                f"{collection} {key!r}: Airflow refused to delete it "
                f"(HTTP {response.status_code}: {_detail(response)})"
            )
        return True

    def list_all(self, collection: str) -> list[dict[str, Any]]:
        """Every object of ``collection`` (``connections``, ``pools``, ``variables``)."""
        return self._list(collection)

    def upsert_connection(self, conn: Connection) -> str:
        body: dict[str, Any] = {"connection_id": conn.conn_id, "conn_type": conn.conn_type}
        for field, value in (
            ("host", conn.host),
            ("schema", conn.schema),
            ("login", conn.login),
            ("password", conn.password),
            ("port", conn.port),
        ):
            if value is not None:
                body[field] = value
        if conn.extra:
            body["extra"] = json.dumps(conn.extra)
        hide = tuple(v for v in (conn.password, body.get("extra")) if v)
        return self._upsert("connections", conn.conn_id, body, hide)

    def upsert_pool(self, pool: Pool) -> str:
        body: dict[str, Any] = {
            "name": pool.name, "slots": pool.slots, "description": pool.description
        }
        if self.major >= 3:  # v2 PATCH validates the whole body, and this field is required
            body["include_deferred"] = pool.include_deferred
        return self._upsert("pools", pool.name, body)

    def upsert_variable(self, key: str, value: str) -> str:
        hide = (value,) if value else ()
        return self._upsert("variables", key, {"key": key, "value": value}, hide)

    def import_settings(self, settings: AirflowSettings) -> dict[str, int]:
        """Upsert everything; returns how many of each kind were written."""
        for conn in settings.connections:
            self.upsert_connection(conn)
        for pool in settings.pools:
            self.upsert_pool(pool)
        for key, value in settings.variables.items():
            self.upsert_variable(key, value)
        return {
            "connections": len(settings.connections),
            "pools": len(settings.pools),
            "variables": len(settings.variables),
        }

    def _list(self, collection: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            response = self.client().get(
                f"{self.prefix}/{collection}", params={"limit": 100, "offset": offset}
            )
            if response.status_code >= 400:
                raise DevEnvError(
                    f"Reading {collection} from Airflow failed (HTTP {response.status_code}: "
                    f"{_detail(response)}); check `flightdeck dev ps`"
                )
            page = response.json()[collection]
            items.extend(page)
            offset += len(page)
            if not page or offset >= response.json().get("total_entries", 0):
                return items

    def export_settings(self) -> dict[str, Any]:
        """Connections, pools and variables in ``airflow_settings.yaml`` form."""
        connections = []
        for item in self._list("connections"):
            extra: Any = item.get("extra") or {}
            if isinstance(extra, str):
                try:
                    extra = json.loads(extra)
                except json.JSONDecodeError:
                    extra = {}
            connections.append(
                {
                    "conn_id": item["connection_id"],
                    "conn_type": item.get("conn_type"),
                    "conn_host": item.get("host"),
                    "conn_schema": item.get("schema"),
                    "conn_login": item.get("login"),
                    "conn_password": item.get("password"),
                    "conn_port": item.get("port"),
                    "conn_extra": extra,
                }
            )
        pools = [
            {
                "pool_name": p["name"],
                "pool_slot": p["slots"],
                "pool_description": p.get("description") or "",
                "pool_include_deferred": bool(p.get("include_deferred", False)),
            }
            for p in self._list("pools")
            if p["name"] != "default_pool"
        ]
        variables = [
            {"variable_name": v["key"], "variable_value": v.get("value")}
            for v in self._list("variables")
        ]
        return {"airflow": {"connections": connections, "pools": pools, "variables": variables}}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = body.get("detail") if isinstance(body, dict) else body
    return str(detail)[:200]

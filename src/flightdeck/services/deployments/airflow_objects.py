"""A Deployment's Airflow connections, variables and pools, through its own Airflow REST API.

The control plane signs in to the Deployment's Airflow as the runtime's admin (as
``airflow-login`` hands out) and calls the same REST API a user would, so Airflow validates
every object itself. Reading is for the Deployment's members, writing for those who may
update the Deployment; every write is audited by kind and key, never by value. What leaves
this module is masked by Airflow's own rule: a connection's password, any extra field and any
variable whose name holds one of :data:`SENSITIVE_WORDS` read ``***``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy.orm import Session

from flightdeck.config import Settings
from flightdeck.db.models import Deployment, User
from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import AirflowSettings, Connection, Pool, parse_settings
from flightdeck.devenv.safeyaml import SettingsYamlError, load_settings_yaml
from flightdeck.runtime.base import RuntimeError_
from flightdeck.services import audit
from flightdeck.services.deployments import sleep
from flightdeck.services.deployments.operate import check_live, runtime_for
from flightdeck.services.deployments.requests import get_deployment, get_manageable, runtime_spec
from flightdeck.services.errors import Conflict, InvalidInput, NotFound

MASK = "***"
# Airflow's default sensitive field names (3.x; ``[core] sensitive_var_conn_names`` adds to
# them): a variable or extra field whose name, lower-cased with runs of non-word characters
# made "_", contains one is masked.
SENSITIVE_WORDS = (
    "access_key", "access_token", "api_key", "apikey", "auth_header", "authorization",
    "bearer", "connection_string", "dsn", "passphrase", "passwd", "password", "private_key",
    "proxy", "proxies", "secret", "service_account", "service_key", "token", "keyfile_dict",
    "webhook_url",
)  # fmt: skip
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
KEY_RULE = "letters, digits, '_', '.' and '-' (at most 250)"
MAX_VALUE = 64 * 1024
MAX_SETTINGS_BYTES = 1024 * 1024
MIN_POOL_SLOTS = -1  # Airflow's "unlimited"
MAX_POOL_SLOTS = 1_000_000


class ObjectKind(StrEnum):
    CONNECTION = "connection"
    VARIABLE = "variable"
    POOL = "pool"

    @property
    def collection(self) -> str:
        """The REST API's name for the kind."""
        return f"{self.value}s"


@dataclass(frozen=True)
class ConnectionView:
    connection_id: str
    conn_type: str
    host: str | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = None  # MASK when set, never the value
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VariableView:
    key: str
    value: str | None  # MASK when its name is sensitive
    description: str | None = None


@dataclass(frozen=True)
class PoolView:
    name: str
    slots: int
    description: str = ""
    include_deferred: bool = False


# -- masking -----------------------------------------------------------------------------------
def is_sensitive(name: str) -> bool:
    normalized = re.sub(r"\W+", "_", name.strip().lower())
    return any(word in normalized for word in SENSITIVE_WORDS)


def mask_extra(value: Any) -> Any:
    """``value`` with every field under a sensitive name masked, at any depth."""
    if isinstance(value, dict):
        return {
            key: MASK if is_sensitive(str(key)) and item not in (None, "") else mask_extra(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_extra(item) for item in value]
    return value


def _extra(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return mask_extra(raw)  # type: ignore[no-any-return]
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return {"(not JSON)": MASK}
        return mask_extra(parsed) if isinstance(parsed, dict) else {"(not JSON)": MASK}
    return {}


def connection_view(item: dict[str, Any]) -> ConnectionView:
    return ConnectionView(
        connection_id=str(item["connection_id"]),
        conn_type=str(item.get("conn_type") or ""),
        host=item.get("host"),
        schema=item.get("schema"),
        login=item.get("login"),
        password=MASK if item.get("password") else None,
        port=item.get("port"),
        extra=_extra(item.get("extra")),
    )


def variable_view(item: dict[str, Any]) -> VariableView:
    key, value = str(item["key"]), item.get("value")
    return VariableView(
        key=key,
        value=MASK if value and is_sensitive(key) else value,
        description=item.get("description"),
    )


def pool_view(item: dict[str, Any]) -> PoolView:
    return PoolView(
        name=str(item["name"]),
        slots=int(item["slots"]),
        description=str(item.get("description") or ""),
        include_deferred=bool(item.get("include_deferred", False)),
    )


# -- validation -------------------------------------------------------------------------------
def check_key(kind: ObjectKind, key: str) -> str:
    field_name = {"connection": "connection_id", "variable": "key", "pool": "name"}[kind]
    if not _KEY.match(key):
        shown = repr(key[:40]) if key else "empty"
        raise InvalidInput(
            f"{field_name}: {shown} is not a valid {kind} name; use {KEY_RULE}", field=field_name
        )
    return key


def check_connection(connection: Connection) -> Connection:
    check_key(ObjectKind.CONNECTION, connection.conn_id)
    if not connection.conn_type.strip():
        raise InvalidInput(
            "conn_type: required; give the connection's type, e.g. postgres, aws or http",
            field="conn_type",
        )
    if connection.port is not None and not 1 <= connection.port <= 65535:
        raise InvalidInput("port: must be between 1 and 65535", field="port")
    for name in ("host", "schema", "login", "password"):
        value = getattr(connection, name)
        if value is not None and len(value) > MAX_VALUE:
            raise InvalidInput(f"{name}: at most {MAX_VALUE} characters", field=name)
    return connection


def check_pool(pool: Pool) -> Pool:
    check_key(ObjectKind.POOL, pool.name)
    if not MIN_POOL_SLOTS <= pool.slots <= MAX_POOL_SLOTS:
        raise InvalidInput(
            f"slots: must be a whole number from {MIN_POOL_SLOTS} (unlimited) to {MAX_POOL_SLOTS}",
            field="slots",
        )
    if len(pool.description) > 4000:
        raise InvalidInput("description: at most 4000 characters", field="description")
    return pool


def check_variable_value(value: str) -> str:
    if len(value) > MAX_VALUE:
        raise InvalidInput(f"value: at most {MAX_VALUE} characters", field="value")
    return value


def parse_settings_text(text: str) -> AirflowSettings:
    """An Astro ``airflow_settings.yaml``, read by the dev runner's own parser."""
    if len(text.encode()) > MAX_SETTINGS_BYTES:
        raise InvalidInput(
            f"settings: the file is over {MAX_SETTINGS_BYTES} bytes", field="settings"
        )
    try:
        parsed = parse_settings(load_settings_yaml(text))
    except SettingsYamlError as exc:
        where = f" line {exc.line}" if exc.line is not None else ""
        raise InvalidInput(
            f"settings: airflow_settings.yaml{where}: {exc.reason}", field="settings"
        ) from None
    except DevEnvError as exc:
        raise InvalidInput(f"settings: {exc.message}", field="settings") from None
    try:
        for connection in parsed.connections:
            check_connection(connection)
        for pool in parsed.pools:
            check_pool(pool)
        for key, value in parsed.variables.items():
            check_key(ObjectKind.VARIABLE, key)
            check_variable_value(value)
    except InvalidInput as exc:
        raise InvalidInput(
            f"settings: airflow_settings.yaml {exc.message}", field="settings"
        ) from None
    return parsed


# -- reaching the Deployment's Airflow --------------------------------------------------------
def _reachable(deployment: Deployment, what: str) -> None:
    check_live(deployment, what)
    if deployment.hibernated:
        raise sleep.asleep_conflict(deployment, what)


@contextmanager
def _airflow(deployment: Deployment, settings: Settings, what: str) -> Iterator[AirflowApi]:
    """The Deployment's Airflow API; its failures become one line for the caller."""
    runtime = runtime_for(deployment, settings, what)
    try:
        api = runtime.airflow_api(runtime_spec(deployment, settings.secret_key))
    except RuntimeError_ as exc:
        raise Conflict(
            f"{what}: {exc}; wait until it is Healthy "
            f"(`flightdeck deployment get {deployment.name}`)"
        ) from None
    api.source = f"Deployment {deployment.name}:"
    api.retry = "fix it and try again"
    try:
        yield api
    except DevEnvError as exc:
        raise InvalidInput(exc.message, field="airflow") from None
    except httpx.HTTPError as exc:
        raise Conflict(
            f"{what}: the Airflow of Deployment {deployment.name} did not answer "
            f"({type(exc).__name__}); check `flightdeck deployment get {deployment.name}`"
        ) from None
    finally:
        api.close()


def _readable(
    session: Session, user: User, organization_id: str, ref: str, what: str
) -> Deployment:
    deployment = get_deployment(session, user, organization_id, ref)
    _reachable(deployment, what)
    return deployment


def _writable(
    session: Session, user: User, organization_id: str, ref: str, what: str, check: Any = None
) -> Deployment:
    """Who may write is decided first (a stranger learns nothing from a bad body), then the
    input (``check``), then whether its Airflow can be reached."""
    deployment = get_manageable(session, user, organization_id, ref)
    if check is not None:
        check()
    _reachable(deployment, what)
    return deployment


def _audit(
    session: Session, user: User, deployment: Deployment, action: str, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        action=f"deployment.airflow_{action}",
        actor=user,
        organization_id=deployment.organization_id,
        target=deployment.id,
        detail={"name": deployment.name, **detail},
    )
    session.commit()


# -- the operations ---------------------------------------------------------------------------
def list_objects(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    kind: ObjectKind,
    settings: Settings,
) -> list[ConnectionView] | list[VariableView] | list[PoolView]:
    deployment = _readable(session, user, organization_id, ref, f"listing {kind.collection}")
    with _airflow(deployment, settings, f"listing {kind.collection}") as api:
        items = api.list_all(kind.collection)
    if kind is ObjectKind.CONNECTION:
        return [connection_view(item) for item in items]
    if kind is ObjectKind.VARIABLE:
        return [variable_view(item) for item in items]
    return [pool_view(item) for item in items]


def set_connection(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    connection: Connection,
    settings: Settings,
) -> str:
    """Create or replace one connection; returns ``created`` or ``updated``."""
    deployment = _writable(
        session,
        user,
        organization_id,
        ref,
        "setting a connection",
        lambda: check_connection(connection),
    )
    with _airflow(deployment, settings, "setting a connection") as api:
        action = api.upsert_connection(connection)
    _audit(session, user, deployment, "connection.set", {"key": connection.conn_id})
    return action


def set_variable(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    key: str,
    value: str,
    settings: Settings,
) -> str:
    def check() -> None:
        check_key(ObjectKind.VARIABLE, key)
        check_variable_value(value)

    deployment = _writable(
        session, user, organization_id, ref, "setting an Airflow variable", check
    )
    with _airflow(deployment, settings, "setting an Airflow variable") as api:
        action = api.upsert_variable(key, value)
    _audit(session, user, deployment, "variable.set", {"key": key})
    return action


def set_pool(
    session: Session, user: User, organization_id: str, ref: str, pool: Pool, settings: Settings
) -> str:
    deployment = _writable(
        session, user, organization_id, ref, "setting a pool", lambda: check_pool(pool)
    )
    with _airflow(deployment, settings, "setting a pool") as api:
        action = api.upsert_pool(pool)
    _audit(session, user, deployment, "pool.set", {"key": pool.name, "slots": pool.slots})
    return action


def delete_object(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    kind: ObjectKind,
    key: str,
    settings: Settings,
) -> None:
    deployment = _writable(
        session, user, organization_id, ref, f"deleting a {kind}", lambda: check_key(kind, key)
    )
    with _airflow(deployment, settings, f"deleting a {kind}") as api:
        found = api.delete(kind.collection, key)
    if not found:
        raise NotFound(
            f"{kind} {key!r} not found in Deployment {deployment.name}; see "
            f"`flightdeck deployment {_command(kind)} list {deployment.name}`"
        )
    _audit(session, user, deployment, f"{kind}.delete", {"key": key})


def apply_settings(
    session: Session, user: User, organization_id: str, ref: str, text: str, settings: Settings
) -> dict[str, int]:
    """Upsert everything an ``airflow_settings.yaml`` holds; returns how many of each."""
    parsed: list[AirflowSettings] = []
    deployment = _writable(
        session,
        user,
        organization_id,
        ref,
        "applying airflow_settings.yaml",
        lambda: parsed.append(parse_settings_text(text)),
    )
    with _airflow(deployment, settings, "applying airflow_settings.yaml") as api:
        counts = api.import_settings(parsed[0])
    _audit(session, user, deployment, "settings.apply", dict(counts))
    return counts


def _command(kind: ObjectKind) -> str:
    return "airflow-variable" if kind is ObjectKind.VARIABLE else str(kind)

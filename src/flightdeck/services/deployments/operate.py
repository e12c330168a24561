"""Operating a running Deployment: sign in to its Airflow, read its components' logs.

Both ask the runtime that runs the Deployment. The local runtime answers from this host's
Airflow processes. The Kubernetes runtime reads logs from the pods through the cluster's
API; it offers no login yet, and says so (409) rather than guess.
The login is a secret: it is returned once per request, audited, and never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.db.models import Deployment, User
from flightdeck.db.types import utcnow
from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.runtime.base import (
    DEFAULT_LOG_LINES,
    LOG_COMPONENTS,
    MAX_LOG_LINES,
    DeploymentSpec,
    LogRead,
    RuntimeError_,
)
from flightdeck.services import audit
from flightdeck.services.access import require_workspace
from flightdeck.services.deployments import sleep
from flightdeck.services.deployments.requests import get_deployment, runtime_spec
from flightdeck.services.deployments.runtimes import kubernetes_runtime_for, local_runtime
from flightdeck.services.errors import Conflict, InvalidInput

_SINCE = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
LOGIN_KIND = "password"  # the local runtime's generated login; a token on other runtimes


class LogReader(Protocol):
    """What a runtime offers to read a Deployment's logs (both runtimes do)."""

    def read_logs(
        self,
        spec: DeploymentSpec,
        components: Sequence[str] = ...,
        *,
        since: datetime | None = ...,
        tail: int = ...,
        offsets: Mapping[str, int] | None = ...,
    ) -> LogRead: ...


class Operable(LogReader, Protocol):
    """What a runtime offers to operate a running Deployment (the local runtime does)."""

    def credentials(self, spec: DeploymentSpec) -> tuple[str, str, str]: ...

    def airflow_api(self, spec: DeploymentSpec) -> AirflowApi: ...


@dataclass(frozen=True)
class AirflowLogin:
    url: str
    username: str
    password: str
    kind: str = LOGIN_KIND


def runtime_for(deployment: Deployment, settings: Settings, what: str) -> Operable:
    if deployment.runtime != "local":
        raise Conflict(
            f"{what}: not supported yet on the {deployment.runtime} runtime (Deployment "
            f"{deployment.name!r}); only local Deployments offer it so far"
        )
    from flightdeck.runtime.local import LocalRuntime

    runtime = local_runtime(settings.deployments_dir, settings.sandbox_network)
    assert isinstance(runtime, LocalRuntime)
    return runtime


def _log_reader(
    session: Session, deployment: Deployment, settings: Settings, sessions: SessionFactory | None
) -> LogReader:
    """The local runtime reads this host's files; the Kubernetes runtime the pods' logs
    through the cluster's API, with the organization's role."""
    if deployment.runtime == "kubernetes" and sessions is not None:
        return kubernetes_runtime_for(session, deployment, settings, sessions)
    return runtime_for(deployment, settings, "logs")


def check_live(deployment: Deployment, what: str, *, deleting_ok: bool = False) -> None:
    gone = deployment.phase == "Deleted"
    if gone or (deployment.desired_state != "present" and not deleting_ok):
        raise Conflict(f"{what}: Deployment {deployment.name!r} is {deployment.phase.lower()}")


def airflow_login(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    settings: Settings,
    runtime: Operable | None = None,
) -> AirflowLogin:
    """The Deployment's Airflow URL and a way in, for those who may change the Deployment
    (its workspace's Admins and Organization Owners); every request is audited."""
    deployment = get_deployment(session, user, organization_id, ref)
    require_workspace(session, user, organization_id, deployment.workspace_id, admin=True)
    check_live(deployment, "airflow-login")
    if deployment.hibernated:
        raise sleep.asleep_conflict(deployment, "airflow-login")
    operable = runtime or runtime_for(deployment, settings, "airflow-login")
    try:
        url, username, password = operable.credentials(
            runtime_spec(deployment, settings.secret_key)
        )
    except RuntimeError_ as exc:
        raise Conflict(
            f"airflow-login: {exc}; wait until it is Healthy "
            f"(`flightdeck deployment get {deployment.name}`)"
        ) from None
    audit.record(
        session,
        action="deployment.airflow_login",
        actor=user,
        organization_id=organization_id,
        target=deployment.id,
        detail={"name": deployment.name, "url": url, "kind": LOGIN_KIND},
    )
    session.commit()
    return AirflowLogin(url=url, username=username, password=password)


def parse_since(text: str | None) -> timedelta | None:
    """``30s``, ``10m``, ``2h`` or ``1d``; ``None`` when not given."""
    if text is None or text == "":
        return None
    found = _SINCE.match(text.strip())
    if found is None:
        raise InvalidInput(
            f"since: {text!r} is not a duration; use a number and a unit, e.g. 30s, 10m, 2h or 1d",
            field="since",
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def parse_cursor(text: str | None) -> dict[str, int] | None:
    """``scheduler:120,triggerer:0`` (what a previous read returned) as offsets."""
    if not text:
        return None
    offsets: dict[str, int] = {}
    for part in text.split(","):
        name, _, offset = part.partition(":")
        if name not in LOG_COMPONENTS or not offset.isdigit():
            raise InvalidInput(
                f"after: {part!r} is not a log position; pass back the cursor a previous "
                "read returned",
                field="after",
            )
        offsets[name] = int(offset)
    return offsets


def format_cursor(offsets: Mapping[str, int]) -> str:
    return ",".join(f"{name}:{offset}" for name, offset in offsets.items())


def read_logs(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    settings: Settings,
    *,
    component: str | None = None,
    since: str | None = None,
    tail: int = DEFAULT_LOG_LINES,
    after: str | None = None,
    runtime: LogReader | None = None,
    sessions: SessionFactory | None = None,
) -> LogRead:
    """The Deployment's component logs, for anyone who may see the Deployment; its secret
    values are masked by the runtime before a line leaves it."""
    deployment = get_deployment(session, user, organization_id, ref)
    if component is not None and component not in LOG_COMPONENTS:
        raise InvalidInput(
            f"component: {component!r} is not one of {', '.join(LOG_COMPONENTS)}",
            field="component",
        )
    if not 1 <= tail <= MAX_LOG_LINES:
        raise InvalidInput(f"tail: must be between 1 and {MAX_LOG_LINES}", field="tail")
    window = parse_since(since)
    offsets = parse_cursor(after)
    check_live(deployment, "logs", deleting_ok=True)
    reader = runtime or _log_reader(session, deployment, settings, sessions)
    try:
        return reader.read_logs(
            runtime_spec(deployment, settings.secret_key),
            (component,) if component else LOG_COMPONENTS,
            since=utcnow() - window if window else None,
            tail=tail,
            offsets=offsets,
        )
    except RuntimeError_ as exc:
        raise Conflict(f"logs: {exc}") from None

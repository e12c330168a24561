"""A Deployment's ``status`` JSON column: the last :class:`RuntimeStatus` the worker read, and
the one serializer to and from it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from flightdeck.phases import DeploymentPhase
from flightdeck.runtime.base import Health, RuntimeStatus

HEALTHS: tuple[Health, ...] = ("creating", "healthy", "unhealthy", "hibernating", "absent")
PHASE_OF_HEALTH = {
    "creating": DeploymentPhase.CREATING,
    "healthy": DeploymentPhase.HEALTHY,
    "unhealthy": DeploymentPhase.UNHEALTHY,
    "hibernating": DeploymentPhase.HIBERNATING,
}


def status_to_json(status: RuntimeStatus) -> dict[str, Any]:
    return {
        "health": status.health,
        "message": status.message,
        "url": status.url,
        "components": dict(status.components),
        "deploy_id": status.deploy_id,
        "run_id": status.run_id,
    }


def status_from_json(data: Mapping[str, Any] | None) -> RuntimeStatus:
    """An empty column (a Deployment no pass has reached yet) reads as ``creating``."""
    data = data or {}
    health = data.get("health")
    return RuntimeStatus(
        health=cast(Health, health) if health in HEALTHS else "creating",
        message=str(data.get("message") or ""),
        url=str(data["url"]) if data.get("url") else None,
        components={str(k): bool(v) for k, v in (data.get("components") or {}).items()},
        deploy_id=str(data["deploy_id"]) if data.get("deploy_id") else None,
        run_id=str(data["run_id"]) if data.get("run_id") else None,
    )


def phase_for(status: RuntimeStatus) -> DeploymentPhase:
    return PHASE_OF_HEALTH.get(status.health, DeploymentPhase.CREATING)

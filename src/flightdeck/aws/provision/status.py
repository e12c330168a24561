"""The typed cluster status: what the engine keeps in the cluster's ``status`` JSON column.

The engine works on the JSON dict while a pass runs (every step records into it, and the
caller persists it after each step); everything else reads it through :class:`ClusterStatus`,
built by :meth:`ClusterStatus.from_json`, the one place that knows the JSON shape. Resource
keys are the constants the steps export (``eks.EKS_CLUSTER``, ``database.DB_ENDPOINT`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from flightdeck.phases import ClusterPhase

_E = TypeVar("_E", bound=StrEnum)


class ConditionState(StrEnum):
    PENDING = "Pending"  # not reached yet
    WAITING = "Waiting"  # AWS is still working on it
    READY = "Ready"
    RETRYING = "Retrying"  # a temporary error; the pass is requeued
    FAILED = "Failed"  # a permanent error
    DELETING = "Deleting"
    DELETED = "Deleted"


@dataclass(frozen=True)
class Condition:
    """One step's state, the AWS ids it recorded (by resource key) and its last message."""

    state: ConditionState = ConditionState.PENDING
    aws_id: str | None = None
    message: str = ""
    updated_at: str = ""
    resources: Mapping[str, str] = field(default_factory=dict)
    pass_number: int | None = None  # the engine pass that last made it Ready

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Condition:
        state = str(data.get("state") or ConditionState.PENDING)
        number = data.get("pass")
        return cls(
            state=_member(ConditionState, state) or ConditionState.PENDING,
            aws_id=str(data["aws_id"]) if data.get("aws_id") else None,
            message=str(data.get("message") or ""),
            updated_at=str(data.get("updated_at") or ""),
            resources={str(k): str(v) for k, v in (data.get("resources") or {}).items() if v},
            pass_number=int(number) if isinstance(number, int) else None,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "state": str(self.state),
            "aws_id": self.aws_id,
            "message": self.message,
            "updated_at": self.updated_at,
            "resources": dict(self.resources),
        }
        if self.pass_number is not None:
            data["pass"] = self.pass_number
        return data


@dataclass(frozen=True)
class LastError:
    step: str
    message: str
    aws_code: str | None = None
    remedy: str = ""
    temporary: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "aws_code": self.aws_code,
            "message": self.message,
            "remedy": self.remedy,
            "temporary": self.temporary,
        }


@dataclass(frozen=True)
class ClusterStatus:
    phase: ClusterPhase | None = None  # the engine's view; the cluster row's phase rules
    conditions: Mapping[str, Condition] = field(default_factory=dict)
    last_error: LastError | None = None
    verified_at: str | None = None  # when a full pass last found everything as specified
    retries: int = 0
    leftovers: tuple[str, ...] = ()  # what a deletion's tag scan still found

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ClusterStatus:
        data = data or {}
        phase = _phase(data.get("phase"))
        error = data.get("last_error")
        return cls(
            phase=phase,
            conditions={
                str(step): Condition.from_json(condition)
                for step, condition in (data.get("conditions") or {}).items()
                if isinstance(condition, Mapping)
            },
            last_error=LastError(
                step=str(error.get("step") or ""),
                message=str(error.get("message") or ""),
                aws_code=error.get("aws_code"),
                remedy=str(error.get("remedy") or ""),
                temporary=bool(error.get("temporary", True)),
            )
            if isinstance(error, Mapping)
            else None,
            verified_at=data.get("verified_at"),
            retries=int(data.get("retries") or 0),
            leftovers=tuple(str(x) for x in data.get("leftovers") or ()),
        )

    def condition(self, step: str) -> Condition:
        return self.conditions.get(step) or Condition()

    def resource(self, step: str, key: str) -> str | None:
        """The AWS id ``step`` recorded for resource ``key`` (``None`` when not yet known)."""
        return self.condition(step).resources.get(key)

    def conditions_json(self) -> dict[str, dict[str, Any]]:
        """The conditions as the API returns them."""
        return {step: condition.to_json() for step, condition in self.conditions.items()}


# Phases an engine status written before the phase vocabulary was unified may still hold.
_LEGACY_PHASES = {"Provisioning": ClusterPhase.CREATING, "Updating": ClusterPhase.ACTIVE}


def _phase(value: Any) -> ClusterPhase | None:
    if value in _LEGACY_PHASES:
        return _LEGACY_PHASES[value]
    return _member(ClusterPhase, value)


def _member(enum: type[_E], value: Any) -> _E | None:
    try:
        return enum(value)
    except ValueError:
        return None

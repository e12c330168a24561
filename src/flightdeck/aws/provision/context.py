"""What every step receives and returns: the context, the result, the planned change.

Steps never see the database. They read and write ``status`` (a plain JSON-serialisable
dict owned by the caller) through :class:`StepContext`, and report progress through
``emit``, which the reconciler forwards to the caller's ``on_progress`` so the status is
persisted the moment an AWS id is known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from flightdeck.aws.provision.network_plan import NetworkPlan, plan_network
from flightdeck.aws.provision.spec import ClusterSpec
from flightdeck.aws.provision.status import ConditionState

CLUSTER_TAG = "flightdeck:cluster-id"
RESOURCE_TAG = "flightdeck:resource"
MANAGED_BY_TAG = "flightdeck:managed-by"


class AwsClients(Protocol):
    """Gives boto3 clients for the cluster's account and region (built by the caller)."""

    def client(self, service: str) -> Any: ...


class CachedClients:
    """An :class:`AwsClients` that builds each service's client once from ``factory``.

    Building a boto3 client costs tens of milliseconds; the reconcile loop asks for the same
    few clients on every pass, so they are cached per service.
    """

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self._factory = factory
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service)
        return self._clients[service]


@dataclass(frozen=True)
class Ready:
    """The step's resources exist and match the spec."""

    message: str = ""


@dataclass(frozen=True)
class Waiting:
    """AWS is still working (NAT pending, EKS CREATING ...): come back in ``after`` seconds."""

    reason: str
    after: float = 15.0


StepResult = Ready | Waiting

ChangeAction = Literal["create", "update", "delete", "replace"]


@dataclass(frozen=True)
class PlannedChange:
    """One line of a plan: what would happen to which resource, and why."""

    step: str
    action: ChangeAction
    resource: str
    detail: str = ""
    aws_id: str | None = None


EventAction = Literal["created", "found", "updated", "waiting", "deleted", "error", "ready"]


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StepContext:
    """Everything one step needs; ``step`` is set by the reconciler before each step runs."""

    spec: ClusterSpec
    status: dict[str, Any]
    clients: AwsClients
    emit: Callable[[dict[str, Any]], None] = field(default=lambda event: None)
    step: str = ""
    network: NetworkPlan = field(init=False)

    def __post_init__(self) -> None:
        self.network = plan_network(self.spec.vpc_cidr)
        self.status.setdefault("conditions", {})

    # -- AWS ------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.clients.client(service)

    # -- status ---------------------------------------------------------------------------
    def condition(self, step: str | None = None) -> dict[str, Any]:
        """The persisted condition of ``step`` (default: the current one), created empty."""
        conditions: dict[str, Any] = self.status["conditions"]
        key = step or self.step
        if key not in conditions:
            conditions[key] = {
                "state": ConditionState.PENDING,
                "aws_id": None,
                "message": "",
                "updated_at": utc_now_iso(),
                "resources": {},
            }
        return conditions[key]  # type: ignore[no-any-return]

    def resource_id(self, step: str, resource: str) -> str | None:
        """An AWS id recorded by ``step`` for ``resource`` (``None`` when not yet known)."""
        condition = self.status["conditions"].get(step)
        if not condition:
            return None
        value = condition.get("resources", {}).get(resource)
        return str(value) if value else None

    def require_id(self, step: str, resource: str) -> str:
        """An id an earlier step must have recorded; its absence means the order broke."""
        value = self.resource_id(step, resource)
        if value is None:
            from flightdeck.aws.provision.errors import TemporaryError

            raise TemporaryError(f"{step} has not recorded {resource} yet", retry_after=1)
        return value

    def record(self, resource: str, aws_id: str, action: EventAction, message: str = "") -> None:
        """Store ``aws_id`` for ``resource`` in the current step and persist it right away.

        ``found`` is recorded silently unless the id was unknown, so a steady pass does not
        flood the cluster timeline.
        """
        condition = self.condition()
        resources: dict[str, Any] = condition.setdefault("resources", {})
        known = resources.get(resource) == aws_id
        resources[resource] = aws_id
        condition["updated_at"] = utc_now_iso()
        if action == "found" and known:
            return
        self.emit(
            {
                "step": self.step,
                "action": action,
                "resource": resource,
                "aws_id": aws_id,
                "message": message,
            }
        )

    def forget(self, resource: str) -> None:
        """Drop a recorded id once its resource is gone."""
        self.condition().setdefault("resources", {}).pop(resource, None)

    def note(self, action: EventAction, resource: str, message: str, aws_id: str = "") -> None:
        """Emit a timeline event without recording an id (waiting, deleted, updated)."""
        self.emit(
            {
                "step": self.step,
                "action": action,
                "resource": resource,
                "aws_id": aws_id or None,
                "message": message,
            }
        )

    # -- naming ---------------------------------------------------------------------------
    def tags(self, resource: str) -> list[dict[str, str]]:
        """The tag list every flightdeck resource carries (EC2/IAM/RDS/S3 shape)."""
        return [
            {"Key": CLUSTER_TAG, "Value": self.spec.cluster_id},
            {"Key": RESOURCE_TAG, "Value": resource},
            {"Key": MANAGED_BY_TAG, "Value": "flightdeck"},
            {"Key": "Name", "Value": f"flightdeck-{self.spec.cluster_id}-{resource}"},
        ]

    def tag_map(self, resource: str) -> dict[str, str]:
        """The same tags as a mapping (EKS shape)."""
        return {tag["Key"]: tag["Value"] for tag in self.tags(resource)}

    def tag_specifications(self, resource_type: str, resource: str) -> list[dict[str, Any]]:
        """Tags applied atomically at creation: a crash can never leave an untagged orphan."""
        return [{"ResourceType": resource_type, "Tags": self.tags(resource)}]

    def tag_filters(self, resource: str | None = None) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = [
            {"Name": f"tag:{CLUSTER_TAG}", "Values": [self.spec.cluster_id]}
        ]
        if resource is not None:
            filters.append({"Name": f"tag:{RESOURCE_TAG}", "Values": [resource]})
        return filters

    def client_token(self, resource: str) -> str:
        """An idempotency token stable across crashes: cluster id + resource + generation.

        The generation is bumped when AWS answers a token with a resource that has since
        been deleted (tokens outlive their resources), so a re-creation gets a fresh token.
        """
        generation = self.condition().setdefault("token_generation", {}).get(resource, 0)
        raw = f"{self.spec.cluster_id}/{resource}/{generation}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    def bump_client_token(self, resource: str) -> None:
        generations: dict[str, int] = self.condition().setdefault("token_generation", {})
        generations[resource] = generations.get(resource, 0) + 1


def tag_value(tags: list[dict[str, str]] | None, key: str) -> str | None:
    """Read one tag from an AWS tag list (``None`` when absent)."""
    for tag in tags or []:
        if tag.get("Key") == key:
            return tag.get("Value")
    return None

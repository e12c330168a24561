"""The shape every provisioning step has, and the helpers all of them share.

A step owns one kind of resource (``subnets``, ``nat_gateways`` ...). Its methods all start
the same way, as SkyPilot's instance provisioning does: list what exists by tag, then act
only on the difference. That is what makes every method safe to repeat after a crash.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

from flightdeck.aws.provision.context import PlannedChange, Ready, StepContext, StepResult

T = TypeVar("T")


class Step(ABC):
    """One ordered unit of the cluster: ensure, delete, plan, and a cheap steady-state check."""

    name: ClassVar[str]

    @abstractmethod
    def ensure(self, ctx: StepContext) -> StepResult:
        """Make the step's resources exist and match the spec; record their ids."""

    @abstractmethod
    def delete(self, ctx: StepContext) -> StepResult:
        """Remove every resource of this step that carries the cluster tag."""

    @abstractmethod
    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        """What ``ensure`` would create or change, using read-only calls only."""

    @abstractmethod
    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        """What ``delete`` would remove, using read-only calls only."""

    def verify(self, ctx: StepContext) -> StepResult:
        """Steady-state check of an Active cluster; by default the recorded ids are trusted.

        Only steps whose resources change state on their own (NAT gateways, EKS, node
        groups, the database) override this with one describe call each.
        """
        return Ready()


def by_resource_tag(
    items: list[dict[str, Any]], cluster_id: str, tag_key: str = "Tags"
) -> dict[str, dict[str, Any]]:
    """Index this cluster's AWS objects by their ``flightdeck:resource`` tag.

    The cluster tag is checked again here, not only in the describe filter: an API (or an
    emulator) that ignores a tag filter must never make one cluster adopt another's
    resources. The oldest object wins when two carry the same role tag.
    """
    from flightdeck.aws.provision.context import CLUSTER_TAG, RESOURCE_TAG, tag_value

    indexed: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: str(i.get("CreateTime", ""))):
        if tag_value(item.get(tag_key), CLUSTER_TAG) != cluster_id:
            continue
        key = tag_value(item.get(tag_key), RESOURCE_TAG)
        if key is not None and key not in indexed:
            indexed[key] = item
    return indexed


def owned(items: list[dict[str, Any]], cluster_id: str) -> list[dict[str, Any]]:
    """Only the objects carrying this cluster's tag (see :func:`by_resource_tag` for why)."""
    from flightdeck.aws.provision.context import CLUSTER_TAG, tag_value

    return [i for i in items if tag_value(i.get("Tags"), CLUSTER_TAG) == cluster_id]


def partition(region: str) -> str:
    """The ARN partition of ``region`` (managed policy ARNs differ in China and GovCloud)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"

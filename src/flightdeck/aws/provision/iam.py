"""IAM roles the EKS control plane and its nodes assume.

IAM has no tag filter on reads, so roles are found by their deterministic name and proven
ours by the cluster tag; a role of that name tagged for another cluster is a permanent
conflict rather than something to adopt. Every role lives under the path
``/flightdeck/<cluster-id>/`` so the tag scan lists a cluster's roles in one call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.provision.context import (
    CLUSTER_TAG,
    PlannedChange,
    Ready,
    StepContext,
    StepResult,
    tag_value,
)
from flightdeck.aws.provision.errors import PermanentError
from flightdeck.aws.provision.step import Step, partition


@dataclass(frozen=True)
class RoleDefinition:
    key: str
    service_principal: str
    managed_policies: tuple[str, ...]


ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition("eks-cluster", "eks.amazonaws.com", ("AmazonEKSClusterPolicy",)),
    RoleDefinition(
        "eks-node",
        "ec2.amazonaws.com",
        (
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly",
        ),
    ),
)


def role_name(cluster_id: str, key: str) -> str:
    return f"flightdeck-{cluster_id}-{key}"


def role_path(cluster_id: str) -> str:
    return f"/flightdeck/{cluster_id}/"


def _policy_arn(ctx: StepContext, name: str) -> str:
    return f"arn:{partition(ctx.spec.region)}:iam::aws:policy/{name}"


def _trust_policy(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


class IamRolesStep(Step):
    """The EKS cluster role and the node role, with their AWS managed policies."""

    name = "iam_roles"

    def _get(self, ctx: StepContext, key: str) -> dict[str, Any] | None:
        iam = ctx.client("iam")
        response = absent_on(
            ("NoSuchEntity",),
            iam.get_role,
            RoleName=role_name(ctx.spec.cluster_id, key),
        )
        if response is None:
            return None
        role: dict[str, Any] = response["Role"]
        owner = tag_value(role.get("Tags"), CLUSTER_TAG)
        if owner != ctx.spec.cluster_id:
            raise PermanentError(
                f"IAM role {role['RoleName']} exists but is tagged for cluster {owner!r}",
                remedy="delete or rename that role; flightdeck owns flightdeck-<cluster-id>-*",
                aws_code="EntityAlreadyExists",
            )
        return role

    def ensure(self, ctx: StepContext) -> StepResult:
        iam = ctx.client("iam")
        for definition in ROLES:
            name = role_name(ctx.spec.cluster_id, definition.key)
            role = self._get(ctx, definition.key)
            if role is None:
                role = iam.create_role(
                    RoleName=name,
                    Path=role_path(ctx.spec.cluster_id),
                    AssumeRolePolicyDocument=_trust_policy(definition.service_principal),
                    Description=f"flightdeck cluster {ctx.spec.cluster_id}: {definition.key}",
                    Tags=ctx.tags(definition.key),
                )["Role"]
                ctx.record(definition.key, role["Arn"], "created")
                attached: set[str] = set()
            else:
                ctx.record(definition.key, role["Arn"], "found")
                listed = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
                attached = {p["PolicyArn"] for p in listed}
            for policy in definition.managed_policies:
                arn = _policy_arn(ctx, policy)
                if arn not in attached:
                    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
                    ctx.note("updated", definition.key, f"attached {policy}", role["Arn"])
        ctx.condition()["aws_id"] = ",".join(ctx.condition()["resources"].values())
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        iam = ctx.client("iam")
        for definition in ROLES:
            name = role_name(ctx.spec.cluster_id, definition.key)
            try:
                role = self._get(ctx, definition.key)
            except PermanentError:
                continue  # another cluster's role: never delete it
            if role is None:
                continue
            listed = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            for policy in listed:
                absent_on(
                    ("NoSuchEntity",),
                    iam.detach_role_policy,
                    RoleName=name,
                    PolicyArn=policy["PolicyArn"],
                )
            absent_on(("NoSuchEntity",), iam.delete_role, RoleName=name)
            ctx.note("deleted", definition.key, "", role["Arn"])
            ctx.forget(definition.key)
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        iam = ctx.client("iam")
        changes = []
        for definition in ROLES:
            name = role_name(ctx.spec.cluster_id, definition.key)
            role = self._get(ctx, definition.key)
            if role is None:
                changes.append(PlannedChange(self.name, "create", definition.key, name))
                continue
            listed = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            attached = {p["PolicyArn"] for p in listed}
            missing = [
                p for p in definition.managed_policies if _policy_arn(ctx, p) not in attached
            ]
            if missing:
                changes.append(
                    PlannedChange(
                        self.name, "update", definition.key, f"attach {missing}", role["Arn"]
                    )
                )
        return changes

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        changes = []
        for definition in ROLES:
            try:
                role = self._get(ctx, definition.key)
            except PermanentError:
                continue
            if role is not None:
                changes.append(PlannedChange(self.name, "delete", definition.key, "", role["Arn"]))
        return changes

"""The EKS control plane and its managed node groups.

Both are found by their deterministic names (EKS names are unique per account and region)
and created with a ``clientRequestToken``. Creation takes AWS 10-15 minutes: the step
returns ``Waiting`` while the status is CREATING and the next pass looks again, so no
worker is ever held by a waiter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.provision.context import (
    CLUSTER_TAG,
    PlannedChange,
    Ready,
    StepContext,
    StepResult,
    Waiting,
)
from flightdeck.aws.provision.errors import PermanentError
from flightdeck.aws.provision.network_plan import AZ_SUFFIXES
from flightdeck.aws.provision.step import Step

NOT_FOUND = ("ResourceNotFoundException",)


def eks_cluster_name(cluster_id: str) -> str:
    return f"flightdeck-{cluster_id}"


def _describe_cluster(ctx: StepContext) -> dict[str, Any] | None:
    eks = ctx.client("eks")
    response = absent_on(
        NOT_FOUND, eks.describe_cluster, name=eks_cluster_name(ctx.spec.cluster_id)
    )
    if response is None:
        return None
    cluster: dict[str, Any] = response["cluster"]
    owner = (cluster.get("tags") or {}).get(CLUSTER_TAG)
    if owner != ctx.spec.cluster_id:
        raise PermanentError(
            f"EKS cluster {cluster['name']} exists but is tagged for cluster {owner!r}",
            remedy="delete or rename that EKS cluster; flightdeck owns flightdeck-<cluster-id>",
        )
    return cluster


# Resource keys this step records (``ClusterStatus.resource("eks_cluster", EKS_CLUSTER)``).
EKS_CLUSTER = "eks-cluster"  # the EKS cluster's ARN


class EksClusterStep(Step):
    """The EKS control plane in all four subnets, private and public API endpoint."""

    name = "eks_cluster"

    def ensure(self, ctx: StepContext) -> StepResult:
        cluster = _describe_cluster(ctx)
        if cluster is None:
            subnets = [ctx.require_id("subnets", p.key) for p in ctx.network.subnets]
            cluster = ctx.client("eks").create_cluster(
                name=eks_cluster_name(ctx.spec.cluster_id),
                version=ctx.spec.kubernetes_version,
                roleArn=ctx.require_id("iam_roles", "eks-cluster"),
                resourcesVpcConfig={
                    "subnetIds": subnets,
                    "securityGroupIds": [ctx.require_id("security_groups", "sg-eks-cluster")],
                    "endpointPublicAccess": True,
                    "endpointPrivateAccess": True,
                },
                accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"},
                tags=ctx.tag_map(EKS_CLUSTER),
                clientRequestToken=ctx.client_token(EKS_CLUSTER),
            )["cluster"]
            ctx.record(EKS_CLUSTER, cluster["arn"], "created", cluster["name"])
        else:
            ctx.record(EKS_CLUSTER, cluster["arn"], "found")
        ctx.condition()["aws_id"] = cluster["arn"]
        return self._state(ctx, cluster)

    def _state(self, ctx: StepContext, cluster: dict[str, Any]) -> StepResult:
        status = cluster.get("status", "ACTIVE")
        if status in ("ACTIVE", "UPDATING"):
            return Ready()
        if status in ("CREATING", "PENDING", "DELETING"):
            ctx.note("waiting", EKS_CLUSTER, status, cluster["arn"])
            return Waiting(f"EKS cluster {status}", after=30)
        issues = "; ".join(
            i.get("message", "") for i in cluster.get("health", {}).get("issues", [])
        )
        raise PermanentError(
            f"EKS cluster {cluster['name']} is {status}: {issues or 'no detail from AWS'}",
            remedy="delete the cluster in flightdeck and create it again; if it fails again, "
            "check the EKS service quotas of the account",
        )

    def verify(self, ctx: StepContext) -> StepResult:
        cluster = _describe_cluster(ctx)
        if cluster is None:
            return Waiting("EKS cluster is gone", after=0)
        return self._state(ctx, cluster)

    def delete(self, ctx: StepContext) -> StepResult:
        try:
            cluster = _describe_cluster(ctx)
        except PermanentError:
            return Ready()  # another cluster's EKS: never delete it
        if cluster is None:
            ctx.forget(EKS_CLUSTER)
            return Ready()
        if cluster.get("status") != "DELETING":
            eks = ctx.client("eks")
            absent_on(NOT_FOUND, eks.delete_cluster, name=cluster["name"])
            ctx.note("deleted", EKS_CLUSTER, "deletion requested", cluster["arn"])
        return Waiting("EKS cluster deleting", after=30)

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        cluster = _describe_cluster(ctx)
        if cluster is None:
            return [
                PlannedChange(
                    self.name,
                    "create",
                    EKS_CLUSTER,
                    f"{eks_cluster_name(ctx.spec.cluster_id)}, "
                    f"Kubernetes {ctx.spec.kubernetes_version}",
                )
            ]
        return []

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        cluster = _describe_cluster(ctx)
        if cluster is None:
            return []
        return [PlannedChange(self.name, "delete", EKS_CLUSTER, "", cluster["arn"])]


@dataclass(frozen=True)
class NodegroupShape:
    key: str
    instance_type: str
    min_size: int
    max_size: int
    desired: int
    labels: dict[str, str]
    taints: tuple[dict[str, str], ...]


SYSTEM_NODES = 2  # the system pool's size (cluster add-ons), what the cost notes count too
MIN_WORKER_NODES = 1  # the worker pool's floor; it grows to the spec's max_nodes under load


def nodegroup_shapes(ctx: StepContext) -> tuple[NodegroupShape, ...]:
    """The system pool (cluster add-ons) and the worker pool (Airflow tasks)."""
    return (
        NodegroupShape(
            "system",
            ctx.spec.system_instance_type,
            SYSTEM_NODES,
            3,
            SYSTEM_NODES,
            {"flightdeck.io/pool": "system"},
            ({"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"},),
        ),
        NodegroupShape(
            "workers",
            ctx.spec.node_instance_type,
            MIN_WORKER_NODES,
            ctx.spec.max_nodes,
            MIN_WORKER_NODES,
            {"flightdeck.io/pool": "workers"},
            (),
        ),
    )


class NodeGroupsStep(Step):
    """Managed node groups in the private subnets; the workers' maximum follows the spec."""

    name = "node_groups"

    def _describe(self, ctx: StepContext, key: str) -> dict[str, Any] | None:
        eks = ctx.client("eks")
        response = absent_on(
            NOT_FOUND,
            eks.describe_nodegroup,
            clusterName=eks_cluster_name(ctx.spec.cluster_id),
            nodegroupName=key,
        )
        return None if response is None else response["nodegroup"]

    def ensure(self, ctx: StepContext) -> StepResult:
        eks = ctx.client("eks")
        cluster_name = eks_cluster_name(ctx.spec.cluster_id)
        waiting = []
        for shape in nodegroup_shapes(ctx):
            nodegroup = self._describe(ctx, shape.key)
            if nodegroup is None:
                nodegroup = eks.create_nodegroup(
                    clusterName=cluster_name,
                    nodegroupName=shape.key,
                    scalingConfig={
                        "minSize": shape.min_size,
                        "maxSize": shape.max_size,
                        "desiredSize": shape.desired,
                    },
                    subnets=[ctx.require_id("subnets", f"private-{s}") for s in AZ_SUFFIXES],
                    instanceTypes=[shape.instance_type],
                    nodeRole=ctx.require_id("iam_roles", "eks-node"),
                    labels=shape.labels,
                    taints=list(shape.taints),
                    capacityType="ON_DEMAND",
                    tags=ctx.tag_map(f"nodegroup-{shape.key}"),
                    clientRequestToken=ctx.client_token(f"nodegroup-{shape.key}"),
                )["nodegroup"]
                ctx.record(shape.key, nodegroup["nodegroupArn"], "created", shape.instance_type)
            else:
                ctx.record(shape.key, nodegroup["nodegroupArn"], "found")
                if shape.instance_type not in nodegroup.get("instanceTypes", [shape.instance_type]):
                    raise PermanentError(
                        f"node group {shape.key} runs {nodegroup.get('instanceTypes')}, the "
                        f"cluster asks for {shape.instance_type}",
                        remedy="a node group's instance type is fixed at creation; keep the "
                        "original type or create a new cluster",
                    )
                scaling = nodegroup.get("scalingConfig", {})
                if nodegroup.get("status") == "ACTIVE" and scaling.get("maxSize") != shape.max_size:
                    desired = min(int(scaling.get("desiredSize", shape.desired)), shape.max_size)
                    minimum = min(int(scaling.get("minSize", shape.min_size)), desired)
                    eks.update_nodegroup_config(
                        clusterName=cluster_name,
                        nodegroupName=shape.key,
                        scalingConfig={
                            "minSize": minimum,
                            "maxSize": shape.max_size,
                            "desiredSize": desired,
                        },
                    )
                    ctx.note("updated", shape.key, f"maximum {shape.max_size} nodes")
                    waiting.append(f"{shape.key} UPDATING")
                    continue
            status = nodegroup.get("status", "ACTIVE")
            if status in ("CREATE_FAILED", "DELETE_FAILED"):
                issues = "; ".join(
                    i.get("message", "") for i in nodegroup.get("health", {}).get("issues", [])
                )
                raise PermanentError(
                    f"node group {shape.key} is {status}: {issues or 'no detail from AWS'}",
                    remedy="check the EC2 instance quota and the instance type in this region, "
                    "then delete and recreate the cluster",
                )
            if status != "ACTIVE":
                waiting.append(f"{shape.key} {status}")
        ctx.condition()["aws_id"] = ",".join(ctx.condition()["resources"].values())
        if waiting:
            ctx.note("waiting", "nodegroups", ", ".join(waiting))
            return Waiting(f"node groups: {', '.join(waiting)}", after=30)
        return Ready()

    def verify(self, ctx: StepContext) -> StepResult:
        for shape in nodegroup_shapes(ctx):
            nodegroup = self._describe(ctx, shape.key)
            if nodegroup is None or nodegroup.get("status") != "ACTIVE":
                state = "missing" if nodegroup is None else nodegroup.get("status")
                return Waiting(f"node group {shape.key} {state}", after=0)
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        eks = ctx.client("eks")
        cluster_name = eks_cluster_name(ctx.spec.cluster_id)
        try:
            if _describe_cluster(ctx) is None:
                ctx.condition()["resources"] = {}
                return Ready()
        except PermanentError:
            return Ready()
        listed = absent_on(NOT_FOUND, eks.list_nodegroups, clusterName=cluster_name)
        names: list[str] = [] if listed is None else listed["nodegroups"]
        for name in names:
            nodegroup = self._describe(ctx, name)
            if nodegroup is not None and nodegroup.get("status") != "DELETING":
                absent_on(
                    NOT_FOUND,
                    eks.delete_nodegroup,
                    clusterName=cluster_name,
                    nodegroupName=name,
                )
                ctx.note("deleted", name, "deletion requested", nodegroup["nodegroupArn"])
        if names:
            return Waiting(f"node groups deleting: {', '.join(names)}", after=30)
        ctx.condition()["resources"] = {}
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        changes = []
        for shape in nodegroup_shapes(ctx):
            nodegroup = self._describe(ctx, shape.key)
            if nodegroup is None:
                changes.append(
                    PlannedChange(
                        self.name,
                        "create",
                        shape.key,
                        f"{shape.instance_type}, {shape.min_size}-{shape.max_size} nodes",
                    )
                )
                continue
            if shape.instance_type not in nodegroup.get("instanceTypes", [shape.instance_type]):
                changes.append(
                    PlannedChange(self.name, "replace", shape.key, "instance type differs")
                )
            if nodegroup.get("scalingConfig", {}).get("maxSize") != shape.max_size:
                changes.append(
                    PlannedChange(
                        self.name,
                        "update",
                        shape.key,
                        f"maximum {nodegroup['scalingConfig'].get('maxSize')} -> {shape.max_size}",
                        nodegroup["nodegroupArn"],
                    )
                )
        return changes

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        changes = []
        for shape in nodegroup_shapes(ctx):
            nodegroup = self._describe(ctx, shape.key)
            if nodegroup is not None:
                changes.append(
                    PlannedChange(self.name, "delete", shape.key, "", nodegroup["nodegroupArn"])
                )
        return changes

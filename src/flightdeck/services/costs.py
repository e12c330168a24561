"""Cost notes: which resources a cluster or a Deployment runs, and their on-demand price per
hour from the price table (``aws/prices.py``), so hibernation shows what it saves.

A Deployment's pods run on its cluster's worker nodes: each component is priced as the
share of one worker node its CPU or memory request takes (whichever is larger), at its
awake minimum (scheduler(s), API server, triggerer, DAG processor, minimum Celery workers and
Redis). A hibernating Deployment runs none of them: its note shows that figure as not
incurred. A KubernetesExecutor's task pods, and workers scaled above the minimum, cost more
while they run and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from flightdeck.aws import prices
from flightdeck.aws.provision.eks import MIN_WORKER_NODES, SYSTEM_NODES
from flightdeck.aws.provision.network_plan import AZ_SUFFIXES
from flightdeck.aws.provision.spec import ClusterSpec
from flightdeck.aws.reference import DEFAULT_DB_INSTANCE_TYPE, DEFAULT_NODE_INSTANCE_TYPE
from flightdeck.db.models import Cluster, Deployment
from flightdeck.phases import ClusterPhase, DeploymentPhase
from flightdeck.runtime import k8s_sizing as sizing
from flightdeck.runtime.base import SCHEDULER_RESOURCES

SYSTEM_INSTANCE_TYPE = str(ClusterSpec.__dataclass_fields__["system_instance_type"].default)
_BILLED_CLUSTER_PHASES = (ClusterPhase.CREATING, ClusterPhase.ACTIVE, ClusterPhase.DELETING)


@dataclass(frozen=True)
class CostLine:
    what: str
    count: int
    hourly_each: float  # USD

    @property
    def hourly(self) -> float:
        return round(self.count * self.hourly_each, 4)


@dataclass(frozen=True)
class CostNote:
    region: str
    lines: tuple[CostLine, ...]
    running: bool  # False: hibernating or deleted, nothing of ``lines`` is billed
    note: str
    source: str = prices.PRICES_SOURCE

    @property
    def full_hourly(self) -> float:
        return round(sum(line.hourly for line in self.lines), 4)

    @property
    def hourly(self) -> float:
        """What it costs now."""
        return self.full_hourly if self.running else 0.0

    @property
    def not_incurred_hourly(self) -> float:
        """What it would cost awake and is not costing (hibernation's saving)."""
        return 0.0 if self.running else self.full_hourly

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "running": self.running,
            "hourly_usd": self.hourly,
            "not_incurred_hourly_usd": self.not_incurred_hourly,
            "lines": [
                {
                    "what": line.what,
                    "count": line.count,
                    "hourly_each_usd": line.hourly_each,
                    "hourly_usd": line.hourly,
                }
                for line in self.lines
            ],
            "note": self.note,
            "source": self.source,
            "prices_date": prices.PRICES_DATE,
        }


def _share(resources: sizing.Resources, node: prices.InstanceShape) -> float:
    return max(resources.cpu / node.vcpus, resources.memory_gib / node.memory_gib)


def _components(spec: Mapping[str, Any]) -> list[tuple[str, int, sizing.Resources]]:
    """What the Deployment runs while awake, at its minimum (the Helm values' shape)."""
    cpu, memory = SCHEDULER_RESOURCES[spec["scheduler_size"]]
    groomer = sizing.LOG_GROOMER
    major = sizing.airflow_major(str(spec["airflow_version"]))
    parts = [
        ("scheduler", int(spec["scheduler_count"]), sizing.Resources(cpu, memory).plus(groomer)),
        ("api-server" if major >= 3 else "webserver", 1, sizing.API_SERVER),
        ("triggerer", 1, sizing.TRIGGERER.plus(groomer)),
    ]
    if major >= 3:
        parts.append(("dag-processor", 1, sizing.DAG_PROCESSOR.plus(groomer)))
    if spec["executor"] == "CeleryExecutor":
        queue = spec["worker_queue"]
        worker = sizing.TASK_SLOT.times(int(queue["tasks_per_worker"])).plus(groomer)
        parts.append(("celery worker", int(queue["min_workers"]), worker))
        parts.append(("redis", 1, sizing.REDIS))
    return [part for part in parts if part[1] > 0]


def deployment_cost(deployment: Deployment, cluster: Cluster) -> CostNote:
    node_type = str(cluster.spec.get("node_instance_type") or DEFAULT_NODE_INSTANCE_TYPE)
    node = prices.EC2[node_type]
    node_hourly = prices.ec2_hourly(cluster.region, node_type)
    lines = tuple(
        CostLine(
            f"{what} ({resources.cpu:g} vCPU, {resources.memory_gib:g} GiB on {node_type})",
            count,
            round(node_hourly * _share(resources, node), 4),
        )
        for what, count, resources in _components(deployment.spec)
    )
    asleep = deployment.phase == DeploymentPhase.HIBERNATING
    gone = deployment.phase == DeploymentPhase.DELETED
    if gone:
        note = "deleted: nothing runs"
    elif asleep:
        note = "hibernating: none of these run, so this is not being spent"
    else:
        note = "its share of the cluster's worker nodes; task pods and extra workers add more"
    if deployment.runtime == "local":
        note += " (local runtime: it runs on the control plane's host; this is what it takes on "
        note += "the cluster)"
    return CostNote(cluster.region, lines, running=not (asleep or gone), note=note)


def cluster_cost(cluster: Cluster) -> CostNote:
    region = cluster.region
    node_type = str(cluster.spec.get("node_instance_type") or DEFAULT_NODE_INSTANCE_TYPE)
    db_type = str(cluster.spec.get("db_instance_type") or DEFAULT_DB_INSTANCE_TYPE)
    lines = (
        CostLine("EKS control plane", 1, prices.EKS_CONTROL_PLANE),
        CostLine("NAT gateway", len(AZ_SUFFIXES), prices.nat_gateway_hourly(region)),
        CostLine(
            f"system node ({SYSTEM_INSTANCE_TYPE})",
            SYSTEM_NODES,
            prices.ec2_hourly(region, SYSTEM_INSTANCE_TYPE),
        ),
        CostLine(
            f"worker node ({node_type}), at least",
            MIN_WORKER_NODES,
            prices.ec2_hourly(region, node_type),
        ),
        CostLine(f"RDS PostgreSQL ({db_type})", 1, prices.rds_hourly(region, db_type)),
    )
    running = cluster.phase in _BILLED_CLUSTER_PHASES
    max_nodes = cluster.spec.get("max_nodes")
    note = (
        f"worker nodes grow to {max_nodes} under load; storage and data transfer are extra"
        if running
        else f"{cluster.phase.lower()}: nothing is billed"
    )
    return CostNote(region, lines, running=running, note=note)


def clusters_of(session: Session, deployments: Iterable[Deployment]) -> dict[str, Cluster]:
    """Every cluster of ``deployments`` by id, in one query: a list's cost notes then need
    none each."""
    ids = {d.cluster_id for d in deployments}
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Cluster).where(Cluster.id.in_(ids)))}


def deployment_cost_of(deployment: Deployment, cluster: Cluster | None = None) -> CostNote | None:
    """The note for a Deployment still attached to its session (the API's outputs); its
    cluster is read unless given."""
    if cluster is None:
        session: Session | None = object_session(deployment)
        cluster = session.get(Cluster, deployment.cluster_id) if session is not None else None
    if cluster is None:
        return None
    try:
        return deployment_cost(deployment, cluster)
    except (prices.NoPrice, KeyError):
        return None


def cluster_cost_of(cluster: Cluster) -> CostNote | None:
    """The note, or none for a region or type the price table lacks (tested not to happen)."""
    try:
        return cluster_cost(cluster)
    except (prices.NoPrice, KeyError):
        return None

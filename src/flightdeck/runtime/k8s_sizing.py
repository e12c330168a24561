"""CPU and memory of every pod a Deployment runs on Kubernetes, and the quota they add up to.

The Helm values and the namespace's ResourceQuota read the same table, so a quota can never
be smaller than what the chart asks for: the values set requests and limits on every container
flightdeck knows about, and the quota is their sum (with one surge pod per rolling Deployment,
or a rollout would stall on the quota).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flightdeck.runtime.base import SCHEDULER_RESOURCES, DeploymentSpec, WorkerQueue


@dataclass(frozen=True)
class Resources:
    """One container's CPU (vCPU) and memory (GiB); requests and limits are equal."""

    cpu: float
    memory_gib: float

    def times(self, count: int) -> Resources:
        return Resources(self.cpu * count, self.memory_gib * count)

    def plus(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory_gib + other.memory_gib)

    @property
    def cpu_quantity(self) -> str:
        return f"{round(self.cpu * 1000)}m"

    @property
    def memory_quantity(self) -> str:
        return f"{round(self.memory_gib * 1024)}Mi"

    def as_k8s(self) -> dict[str, dict[str, str]]:
        """A container's ``resources`` block (Guaranteed QoS: limits equal requests)."""
        amounts = {"cpu": self.cpu_quantity, "memory": self.memory_quantity}
        return {"requests": dict(amounts), "limits": dict(amounts)}


NOTHING = Resources(0.0, 0.0)
# One task slot: a Celery worker gets ``tasks_per_worker`` of these, a KubernetesExecutor task
# pod gets one, so both executors give a task the same room.
TASK_SLOT = Resources(0.5, 1.0)
API_SERVER = Resources(1.0, 2.0)  # the Airflow 3 api-server, or the Airflow 2 webserver
TRIGGERER = Resources(0.5, 1.0)
DAG_PROCESSOR = Resources(1.0, 2.0)
REDIS = Resources(0.5, 1.0)
MIGRATIONS_JOB = Resources(0.5, 1.0)
LOG_GROOMER = Resources(0.1, 0.125)  # sidecar that trims local log files
FETCH_DAGS = Resources(0.25, 0.25)  # init container; init containers do not add up
# Deployments roll one pod at a time; workers surge by a quarter, like Kubernetes' default.
WORKER_SURGE_FRACTION = 0.25


def airflow_major(version: str) -> int:
    """2 or 3, from an Airflow version such as ``3.0.2``; anything else is refused upstream."""
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def scheduler_resources(spec: DeploymentSpec) -> Resources:
    cpu, memory = SCHEDULER_RESOURCES[spec.scheduler_size]
    return Resources(cpu, memory)


def worker_resources(spec: DeploymentSpec, queue: WorkerQueue | None = None) -> Resources:
    """A Celery worker of ``queue`` (default: the default queue) runs its
    ``tasks_per_worker`` tasks; a KubernetesExecutor pod runs one."""
    if spec.executor == "CeleryExecutor":
        return TASK_SLOT.times((queue or spec.worker_queue).tasks_per_worker)
    return TASK_SLOT


def max_running_tasks(spec: DeploymentSpec) -> int:
    """Airflow's ``[core] parallelism``: what the quota leaves room for, never more."""
    return spec.max_running_tasks


@dataclass(frozen=True)
class QuotaLine:
    what: str
    pods: int
    per_pod: Resources

    @property
    def total(self) -> Resources:
        return self.per_pod.times(self.pods)


@dataclass(frozen=True)
class QuotaPlan:
    lines: tuple[QuotaLine, ...]

    @property
    def pods(self) -> int:
        return sum(line.pods for line in self.lines)

    @property
    def total(self) -> Resources:
        total = NOTHING
        for line in self.lines:
            total = total.plus(line.total)
        return total


def quota_plan(spec: DeploymentSpec) -> QuotaPlan:
    """Every pod the chart runs at the spec's maximum, plus one surge pod per rolling update."""
    major = airflow_major(spec.airflow_version)
    lines = [
        QuotaLine(
            "scheduler", spec.scheduler_count + 1, scheduler_resources(spec).plus(LOG_GROOMER)
        ),
        QuotaLine("api-server" if major >= 3 else "webserver", 2, API_SERVER),
        QuotaLine("triggerer", 2, TRIGGERER.plus(LOG_GROOMER)),
        QuotaLine("migrations job", 1, MIGRATIONS_JOB),
    ]
    if major >= 3:
        lines.append(QuotaLine("dag-processor", 2, DAG_PROCESSOR.plus(LOG_GROOMER)))
    if spec.executor == "CeleryExecutor":
        for queue in spec.queues:
            surge = math.ceil(queue.max_workers * WORKER_SURGE_FRACTION)
            what = "celery worker" if queue is spec.worker_queue else f"celery worker {queue.name}"
            per_pod = worker_resources(spec, queue).plus(LOG_GROOMER)
            lines.append(QuotaLine(what, queue.max_workers + surge, per_pod))
        lines.append(QuotaLine("redis", 1, REDIS))
    else:
        lines.append(QuotaLine("task pod", max_running_tasks(spec), worker_resources(spec)))
    return QuotaPlan(tuple(lines))

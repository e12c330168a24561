"""What every Deployment runtime does: apply a spec, report health, switch code, delete.

The services layer only talks to :class:`Runtime`; the local runtime (Airflow processes
on the control-plane host) and the Kubernetes runtime (the Apache Airflow Helm chart on
the cluster's EKS) are interchangeable behind it. Specs are plain frozen dataclasses so a
runtime never touches the database, and every call is idempotent: the worker re-runs
``apply`` and ``status`` on each pass, and a crash between two calls must be harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Executor = Literal["CeleryExecutor", "KubernetesExecutor"]
SchedulerSize = Literal["small", "medium", "large"]
Health = Literal["creating", "healthy", "unhealthy", "hibernating", "absent"]

EXECUTORS: tuple[Executor, ...] = ("CeleryExecutor", "KubernetesExecutor")
SCHEDULER_SIZES: tuple[SchedulerSize, ...] = ("small", "medium", "large")

# A Deployment request's defaults and limits: the API schema, the services' validation, the
# CLI's options and the specs below all read them here (the Airflow version policy is in
# ``flightdeck.airflow_versions``).
DEFAULT_EXECUTOR: Executor = "CeleryExecutor"
DEFAULT_SCHEDULER_SIZE: SchedulerSize = "small"
DEFAULT_SCHEDULER_COUNT = 1
DEFAULT_QUEUE_NAME = "default"
DEFAULT_MIN_WORKERS = 1
DEFAULT_MAX_WORKERS = 10
DEFAULT_TASKS_PER_WORKER = 5
MAX_SCHEDULERS = 4
MAX_WORKERS = 100
MAX_TASKS_PER_WORKER = 256
MAX_QUEUES = 10  # the default queue included

# CPU (vCPU) and memory (GiB) of one scheduler replica, by size.
SCHEDULER_RESOURCES: Mapping[SchedulerSize, tuple[float, float]] = {
    "small": (1.0, 2.0),
    "medium": (2.0, 4.0),
    "large": (4.0, 8.0),
}


class RuntimeError_(Exception):  # named so as not to shadow the builtin RuntimeError
    """A runtime could not do what was asked; the message is for the user."""


MAX_MESSAGE_CHARS = 1000  # what a deploy stores and lists: its reason, and each error
MAX_ERRORS = 20  # files named in a rejected deploy's errors


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters: a reason is stored and listed, never megabytes."""
    return text if len(text) <= limit else text[: limit - 15] + " ... (cut short)"


class CodeRejected(RuntimeError_):
    """A code bundle failed its checks (import errors, bad archive); nothing was switched.

    ``errors`` maps a file (relative to the bundle) to the first line of its problem. Both
    are bounded here, where every runtime raises them, so no upload can make them large.
    """

    def __init__(self, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(bounded(message))
        items = sorted((errors or {}).items())
        kept = {bounded(path, 200): bounded(line, 300) for path, line in items[:MAX_ERRORS]}
        if len(items) > MAX_ERRORS:
            kept["..."] = f"{len(items) - MAX_ERRORS} more file(s) not shown"
        self.errors = kept


@dataclass(frozen=True)
class WorkerQueue:
    """One Celery queue and the workers that serve it. ``instance_type`` (e.g. ``m5.2xlarge``)
    pins its workers to nodes of that EC2 type; ``None`` runs them on the cluster's worker
    node group."""

    name: str = DEFAULT_QUEUE_NAME
    min_workers: int = DEFAULT_MIN_WORKERS
    max_workers: int = DEFAULT_MAX_WORKERS
    tasks_per_worker: int = DEFAULT_TASKS_PER_WORKER
    instance_type: str | None = None

    @property
    def max_tasks(self) -> int:
        return self.max_workers * self.tasks_per_worker


@dataclass(frozen=True)
class DeploymentSpec:
    """What the user asked for; ``secret_environment`` values are never logged or returned."""

    id: str
    name: str
    organization_id: str
    airflow_version: str
    executor: Executor = DEFAULT_EXECUTOR
    scheduler_size: SchedulerSize = DEFAULT_SCHEDULER_SIZE
    scheduler_count: int = DEFAULT_SCHEDULER_COUNT
    # The default queue (tasks that name none go there), and any more the user asked for
    # (Celery only: a task names one with ``queue=``).
    worker_queue: WorkerQueue = field(default_factory=WorkerQueue)
    extra_queues: tuple[WorkerQueue, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    secret_environment: Mapping[str, str] = field(default_factory=dict)
    # Asleep on purpose: ``apply`` stops whatever runs (or scales it to zero) and keeps the
    # metadata database and the code, so applying the spec awake brings back the same Airflow.
    hibernated: bool = False

    @property
    def queues(self) -> tuple[WorkerQueue, ...]:
        return (self.worker_queue, *self.extra_queues)

    @property
    def max_running_tasks(self) -> int:
        """What every queue's workers together can run at once (``[core] parallelism``)."""
        return sum(queue.max_tasks for queue in self.queues)


@dataclass(frozen=True)
class ClusterOutputs:
    """What provisioning built that a runtime needs (``None`` where a step has not run)."""

    cluster_id: str
    name: str
    region: str
    account_id: str
    eks_cluster_name: str | None = None
    eks_cluster_arn: str | None = None
    eks_endpoint: str | None = None
    db_instance_arn: str | None = None
    db_endpoint: str | None = None
    db_port: int | None = None
    log_bucket: str | None = None
    node_groups: tuple[str, ...] = ()
    aws_endpoint_url: str | None = None  # the emulator's URL in the embedded default


@dataclass(frozen=True)
class RuntimeStatus:
    health: Health
    message: str = ""
    url: str | None = None
    components: Mapping[str, bool] = field(default_factory=dict)
    deploy_id: str | None = None  # the code bundle currently serving
    # Names the start of the processes now serving (healthy only); a new value means the
    # runtime started them again. Not a secret: a digest, never the processes' run token.
    run_id: str | None = None


@dataclass(frozen=True)
class CodeBundle:
    """A checked-in upload: a ``.tar.gz`` holding ``dags/`` (and, for a full deploy, more)."""

    deploy_id: str
    archive: Path
    kind: Literal["dags", "full"] = "dags"


class Runtime(Protocol):
    """One backend that runs Deployments. Every method is idempotent."""

    name: str

    def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
        """Create or update whatever runs ``spec``; returns without waiting for health.

        A ``hibernated`` spec stops the Airflow processes (data and code stay); its status
        is then ``hibernating``."""
        ...

    def status(self, spec: DeploymentSpec) -> RuntimeStatus:
        """Current health, read from the running Airflow (or the cluster)."""
        ...

    def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
        """Check ``bundle`` and switch to it atomically; raises :class:`CodeRejected`."""
        ...

    def delete(self, spec: DeploymentSpec) -> None:
        """Stop and remove everything ``apply`` created; a no-op when nothing is left."""
        ...


# -- operating a running Deployment -----------------------------------------------------------
# The components whose logs a Deployment shows (`flightdeck deployment logs --component`).
# ``worker`` (Celery workers) runs on the Kubernetes runtime only; locally it has no log.
LOG_COMPONENTS: tuple[str, ...] = (
    "scheduler",
    "api-server",
    "dag-processor",
    "triggerer",
    "worker",
)
MAX_LOG_LINES = 5000  # the most lines one read returns (`--tail`)
DEFAULT_LOG_LINES = 200
MAX_LOG_BYTES = 1024 * 1024  # the most of one component's log one read looks at
MAX_LOG_LINE_CHARS = 4000


def mask_secrets(text: str, spec: DeploymentSpec) -> str:
    """``text`` with each of the Deployment's secret values (of 4 characters or more: a
    shorter one would mask ordinary words) replaced by ``***``."""
    for value in spec.secret_environment.values():
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


@dataclass(frozen=True)
class LogLine:
    """One line of one component's log; ``timestamp`` is the line's own (or the previous
    timestamped line's, for a continuation such as a traceback), ``None`` if it has none."""

    component: str
    line: str
    timestamp: datetime | None = None


@dataclass(frozen=True)
class LogRead:
    """Lines read, and where each component's log was read up to: give ``offsets`` back
    to read only what was written since (``--follow``). ``truncated``: older lines were
    left out to keep the read bounded."""

    lines: tuple[LogLine, ...]
    offsets: Mapping[str, int]
    truncated: bool = False


@runtime_checkable
class KeepsBundles(Protocol):
    """A runtime that keeps its own copy of each deploy's bundle (the Kubernetes runtime, in
    S3, for pods still starting from it); the deployment worker asks it to remove the copies
    of the deploys the retention setting prunes, before their records go."""

    def forget_bundles(self, spec: DeploymentSpec, deploy_ids: Sequence[str]) -> None:
        """Remove the copies of ``deploy_ids``; a copy already gone is fine."""
        ...


# -- applying an environment change -----------------------------------------------------------
# Options only Airflow's web component reads ([api] and, on Airflow 2, [webserver]): a change
# made of these restarts that component alone. Any other variable may be read by every
# component (and the tasks the scheduler runs), so it restarts them all.
WEB_ONLY_PREFIXES: tuple[str, ...] = ("AIRFLOW__API__", "AIRFLOW__WEBSERVER__")


def components_to_restart(changed: Iterable[str], components: Sequence[str]) -> tuple[str, ...]:
    """Which of ``components`` a change of the variables ``changed`` restarts (the rule
    every runtime follows and the timeline states; see ``WEB_ONLY_PREFIXES``)."""
    keys = list(changed)
    web = [name for name in components if name in ("api-server", "webserver")]
    if keys and web and all(key.startswith(WEB_ONLY_PREFIXES) for key in keys):
        return (web[0],)
    return tuple(components)

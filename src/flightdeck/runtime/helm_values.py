"""Values for the official Apache Airflow Helm chart, from a Deployment spec and its cluster.

Pure: the same spec, cluster and deploy id always give the same values, and the values never
hold a secret. The metadata connection, the Fernet/API/JWT/webserver keys and the user's
secret variables are all read by the chart from Secrets named here (see ``k8s_objects``).

How code reaches the pods (chosen over a shared volume, which would need a ReadWriteMany
storage class EKS does not have by default, and over git-sync, which needs a repository):
every Airflow pod has an ``emptyDir`` at the DAGs folder and an init container that downloads
``s3://<bucket>/deployments/<id>/bundles/<deploy-id>.tar.gz`` into it with the pod's own
(IRSA) credentials. The deploy id is in the init container's environment and in a pod
annotation, so a new deploy changes every pod template and Kubernetes rolls the pods: old pods
keep serving the previous bundle (still in S3) until the new ones are ready, and a pod never
sees half of one bundle and half of another.
"""

from __future__ import annotations

from typing import Any

from flightdeck.runtime import k8s_objects as objects
from flightdeck.runtime import k8s_sizing as sizing
from flightdeck.runtime.base import ClusterOutputs, DeploymentSpec, RuntimeError_, WorkerQueue

CHART_REPOSITORY = "https://airflow.apache.org"
CHART_NAME = "airflow"
# The release whose values schema the tests check every rendered values file against
# (tests/runtime/test_helm_chart_schema.py); it has worker sets (one per extra queue) and
# still deploys Airflow 2 (webserver, scheduler-parsed DAGs) when airflowVersion is 2.x.
CHART_VERSION = "1.22.0"
AIRFLOW_IMAGE = "apache/airflow"
AIRFLOW_HOME = "/opt/airflow"
DAGS_FOLDER = f"{AIRFLOW_HOME}/dags"
DAGS_VOLUME = "dags"
DEPLOY_ID_ANNOTATION = "flightdeck.io/deploy-id"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"

# Runs in the Airflow image (python and boto3 are there) with the pod's IRSA credentials.
# Only members under dags/ are extracted, through tarfile's "data" filter (no absolute
# paths, no "..", no links out of the folder, no device files).
FETCH_DAGS_SCRIPT = """\
import os, sys, tarfile, tempfile
import boto3
key = os.environ.get("FLIGHTDECK_BUNDLE_KEY", "")
if not key:
    print("flightdeck: no code deployed yet; the DAGs folder stays empty")
    sys.exit(0)
bucket = os.environ["FLIGHTDECK_BUNDLE_BUCKET"]
root = os.path.dirname(os.environ["FLIGHTDECK_DAGS_FOLDER"].rstrip("/"))
with tempfile.TemporaryFile() as archive:
    boto3.client("s3").download_fileobj(bucket, key, archive)
    archive.seek(0)
    with tarfile.open(fileobj=archive, mode="r:gz") as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith("dags/") and m.name.rstrip("/") != "dags"]
        tar.extractall(root, members=members, filter="data")
print(f"flightdeck: {len(members)} files from s3://{bucket}/{key}")
"""


def airflow_major(spec: DeploymentSpec) -> int:
    major = sizing.airflow_major(spec.airflow_version)
    if major not in (2, 3):
        raise RuntimeError_(
            f"airflow_version {spec.airflow_version!r}: the kubernetes runtime runs Airflow 2.x "
            "or 3.x; choose one of those versions"
        )
    return major


def _fetch_dags(spec: DeploymentSpec, cluster: ClusterOutputs, deploy_id: str | None) -> Any:
    return {
        "name": "fetch-dags",
        "image": f"{AIRFLOW_IMAGE}:{spec.airflow_version}",
        "command": ["python", "-c", FETCH_DAGS_SCRIPT],
        "env": [
            {"name": "FLIGHTDECK_BUNDLE_BUCKET", "value": str(cluster.log_bucket)},
            {
                "name": "FLIGHTDECK_BUNDLE_KEY",
                "value": objects.bundle_key(spec, deploy_id) if deploy_id else "",
            },
            {"name": "FLIGHTDECK_DAGS_FOLDER", "value": DAGS_FOLDER},
            {"name": "AWS_DEFAULT_REGION", "value": cluster.region},
        ],
        "volumeMounts": [{"name": DAGS_VOLUME, "mountPath": DAGS_FOLDER}],
        "resources": sizing.FETCH_DAGS.as_k8s(),
    }


def _service_account(workload_role_arn: str | None) -> dict[str, Any]:
    annotations = {IRSA_ANNOTATION: workload_role_arn} if workload_role_arn else {}
    return {"create": True, "annotations": annotations}


def _groomer() -> dict[str, Any]:
    return {"enabled": True, "resources": sizing.LOG_GROOMER.as_k8s()}


def render_values(
    spec: DeploymentSpec,
    cluster: ClusterOutputs,
    *,
    deploy_id: str | None = None,
    workload_role_arn: str | None = None,
    autoscaling_available: bool = True,
) -> dict[str, Any]:
    """The chart's values. ``autoscaling_available`` is whether KEDA runs on the cluster:
    without it Celery workers stay at ``min_workers`` rather than failing the install."""
    major = airflow_major(spec)
    objects.check_environment(spec)
    objects.require_outputs(cluster, "db_endpoint", "log_bucket")
    queue = spec.worker_queue
    for each in spec.queues:
        if not 0 < each.min_workers <= each.max_workers:
            raise RuntimeError_(
                f"worker_queue {each.name}: min_workers ({each.min_workers}) must be at least 1 "
                f"and at most max_workers ({each.max_workers})"
            )
    celery = spec.executor == "CeleryExecutor"
    if spec.extra_queues and not celery:
        raise RuntimeError_(
            "worker_queues: only the CeleryExecutor has queues (a KubernetesExecutor task runs "
            "in a pod of its own); keep the default queue only, or use the CeleryExecutor"
        )
    fetch = [_fetch_dags(spec, cluster, deploy_id)]
    account = _service_account(workload_role_arn)

    env = [{"name": k, "value": v} for k, v in sorted(spec.environment.items())]
    if "AWS_DEFAULT_REGION" not in spec.environment:
        env.append({"name": "AWS_DEFAULT_REGION", "value": cluster.region})
    secret_env = [
        {"envName": k, "secretName": objects.ENV_SECRET, "secretKey": k}
        for k in sorted(spec.secret_environment)
    ]

    values: dict[str, Any] = {
        "executor": spec.executor,
        "airflowVersion": spec.airflow_version,
        "defaultAirflowRepository": AIRFLOW_IMAGE,
        "defaultAirflowTag": spec.airflow_version,
        "images": {"airflow": {"repository": AIRFLOW_IMAGE, "tag": spec.airflow_version}},
        "labels": objects.labels(spec),
        "airflowPodAnnotations": {DEPLOY_ID_ANNOTATION: deploy_id or "none"},
        "nodeSelector": objects.worker_node_selector(cluster),
        "env": env,
        "secret": secret_env,
        "data": {"metadataSecretName": objects.METADATA_SECRET},
        "fernetKeySecretName": objects.KEYS_SECRET,
        "postgresql": {"enabled": False},
        "pgbouncer": {"enabled": False},
        "statsd": {"enabled": False},
        "redis": {
            "enabled": celery,
            "persistence": {"enabled": False},
            "resources": sizing.REDIS.as_k8s(),
        },
        # The chart's default user is admin/admin; nobody gets a known password.
        "createUserJob": {"enabled": False},
        "migrateDatabaseJob": {"resources": sizing.MIGRATIONS_JOB.as_k8s()},
        "config": {
            "core": {
                "load_examples": "False",
                "parallelism": str(sizing.max_running_tasks(spec)),
            },
            "logging": {
                "remote_logging": "True",
                "remote_base_log_folder": objects.log_folder(spec, str(cluster.log_bucket)),
                # No such connection: the AWS provider then uses the pod's IRSA credentials.
                "remote_log_conn_id": "aws_default",
                "delete_local_logs": "True",
            },
        },
        "dags": {
            "mountPath": DAGS_FOLDER,
            "gitSync": {"enabled": False},
            "persistence": {"enabled": False},
        },
        "logs": {"persistence": {"enabled": False}},
        "volumes": [{"name": DAGS_VOLUME, "emptyDir": {}}],
        "volumeMounts": [{"name": DAGS_VOLUME, "mountPath": DAGS_FOLDER, "readOnly": True}],
        "scheduler": {
            "replicas": spec.scheduler_count,
            "resources": sizing.scheduler_resources(spec).as_k8s(),
            "serviceAccount": account,
            "extraInitContainers": fetch,
            "logGroomerSidecar": _groomer(),
        },
        "triggerer": {
            "replicas": 1,
            "persistence": {"enabled": False},
            "resources": sizing.TRIGGERER.as_k8s(),
            "serviceAccount": account,
            "extraInitContainers": fetch,
            "logGroomerSidecar": _groomer(),
        },
        "workers": _workers(spec, cluster, account, fetch, autoscaling_available),
    }
    if celery:
        values["config"]["celery"] = {"worker_concurrency": str(queue.tasks_per_worker)}
    if major >= 3:
        values["apiSecretKeySecretName"] = objects.KEYS_SECRET
        values["jwtSecretName"] = objects.KEYS_SECRET
        values["apiServer"] = {
            "replicas": 1,
            "resources": sizing.API_SERVER.as_k8s(),
            "serviceAccount": account,
        }
        # Airflow 3 parses DAG files only in the standalone dag-processor.
        values["dagProcessor"] = {
            "enabled": True,
            "replicas": 1,
            "resources": sizing.DAG_PROCESSOR.as_k8s(),
            "serviceAccount": account,
            "extraInitContainers": fetch,
            "logGroomerSidecar": _groomer(),
        }
    else:
        values["webserverSecretKeySecretName"] = objects.KEYS_SECRET
        values["webserver"] = {
            "replicas": 1,
            "resources": sizing.API_SERVER.as_k8s(),
            "serviceAccount": account,
        }
        # Airflow 2's scheduler parses DAGs itself (it has the bundle's init container).
        values["dagProcessor"] = {"enabled": False}
    if spec.hibernated:
        _scale_to_zero(values)
    return values


# Every component that runs pods while awake; hibernation sets each one's replicas to 0.
SCALED_COMPONENTS = ("scheduler", "triggerer", "workers", "apiServer", "webserver", "dagProcessor")


def _scale_to_zero(values: dict[str, Any]) -> None:
    """Hibernation: no pod left. Everything else (release, Secrets, the metadata database on
    RDS, the bundles in S3) stays, so rendering the spec awake brings the same Airflow back."""
    for name in SCALED_COMPONENTS:
        component = values.get(name)
        if component is not None and component.get("enabled", True):
            component["replicas"] = 0
    workers = values["workers"]
    for pool in [workers, *workers.get("celery", {}).get("sets", [])]:
        if "keda" in pool:  # KEDA would scale the workers up again
            pool["keda"] = {"enabled": False, "usePgbouncer": False}
            pool["replicas"] = 0
    values["redis"]["enabled"] = False  # the broker holds nothing worth keeping while asleep
    values["migrateDatabaseJob"]["enabled"] = False  # no schema change to run while asleep


def _workers(
    spec: DeploymentSpec,
    cluster: ClusterOutputs,
    account: dict[str, Any],
    fetch: list[Any],
    autoscaling_available: bool,
) -> dict[str, Any]:
    """Celery workers, or (KubernetesExecutor) the pod template every task pod starts from.

    The default queue is the chart's own ``workers``; each further queue is one of the
    chart's worker ``sets`` (``workers.celery.sets``), which take the ``workers`` values and
    override them: its queue, replicas, autoscaling, size, nodes and concurrency."""
    queue = spec.worker_queue
    workers: dict[str, Any] = {
        "resources": sizing.worker_resources(spec).as_k8s(),
        "serviceAccount": account,
        "extraInitContainers": fetch,
        "persistence": {"enabled": False},
    }
    selector = objects.queue_node_selector(cluster, queue)
    if selector and queue.instance_type:
        workers["nodeSelector"] = selector
    if spec.executor != "CeleryExecutor":
        return workers
    workers.update(_scaling(queue, autoscaling_available))
    workers["logGroomerSidecar"] = _groomer()
    sets = [
        {
            "name": extra.name,
            "queue": extra.name,
            **_scaling(extra, autoscaling_available),
            "resources": sizing.worker_resources(spec, extra).as_k8s(),
            "nodeSelector": objects.queue_node_selector(cluster, extra),
            "env": [
                {"name": CONCURRENCY_VARIABLE, "value": str(extra.tasks_per_worker)},
            ],
        }
        for extra in spec.extra_queues
    ]
    workers["celery"] = {"queue": queue.name, "sets": sets}
    return workers


# A set's workers run their own number of tasks; the default queue's is in ``config``.
CONCURRENCY_VARIABLE = "AIRFLOW__CELERY__WORKER_CONCURRENCY"


def _scaling(queue: WorkerQueue, autoscaling_available: bool) -> dict[str, Any]:
    """``min_workers`` replicas, and KEDA up to ``max_workers`` when it is there."""
    autoscale = autoscaling_available and queue.max_workers > queue.min_workers
    keda: dict[str, Any] = {"enabled": autoscale, "usePgbouncer": False}
    if autoscale:
        keda.update({"minReplicaCount": queue.min_workers, "maxReplicaCount": queue.max_workers})
    return {"replicas": queue.min_workers, "keda": keda}

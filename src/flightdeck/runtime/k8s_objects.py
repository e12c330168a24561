"""The Kubernetes objects around a Deployment's Helm release, as plain dicts.

One namespace per Deployment is the tenant boundary: a ResourceQuota sized from the spec, a
LimitRange for containers the chart leaves unsized, a NetworkPolicy that admits traffic only
from the same namespace (and keeps pods off the node's instance metadata, so a task cannot
borrow the node role), and the Secrets the chart reads by name. Every secret value is derived
from flightdeck's own key (HMAC per Deployment and purpose), so ``apply`` is idempotent without
storing anything, and a Secret's value exists only in the object handed to the API: rendered
for display, the same Secrets carry :data:`REDACTED` instead.

Each Deployment gets its own PostgreSQL role and database on the cluster's RDS instance, made
by a Job in :data:`SYSTEM_NAMESPACE` (the only place the RDS master credentials go), so one
Deployment can never read another's metadata.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flightdeck.runtime import k8s_sizing
from flightdeck.runtime.base import ClusterOutputs, DeploymentSpec, RuntimeError_, WorkerQueue

MANAGER = "flightdeck"
RELEASE = "airflow"
SYSTEM_NAMESPACE = "flightdeck-system"
METADATA_SECRET = "flightdeck-metadata"
KEYS_SECRET = "flightdeck-airflow-keys"
ENV_SECRET = "flightdeck-env"
STATE_CONFIGMAP = "flightdeck-state"
REDACTED = "<redacted: set when applied>"
DEFAULT_DB_PORT = 5432
BOOTSTRAP_IMAGE = "public.ecr.aws/docker/library/postgres:16-alpine"
INSTANCE_METADATA_CIDR = "169.254.169.254/32"
WORKER_NODE_GROUP = "workers"
NODE_GROUP_LABEL = "eks.amazonaws.com/nodegroup"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_ORGANIZATION = "flightdeck.io/organization-id"
LABEL_DEPLOYMENT = "flightdeck.io/deployment-id"

# What each chart setting expects inside the Secret it names.
KEY_CONNECTION = "connection"
KEY_FERNET = "fernet-key"
KEY_WEBSERVER = "webserver-secret-key"
KEY_API = "api-secret-key"
KEY_JWT = "jwt-secret"


# -- names -----------------------------------------------------------------------------------
def namespace_name(spec: DeploymentSpec) -> str:
    return f"flightdeck-{spec.id}"


def database_name(spec: DeploymentSpec) -> str:
    """PostgreSQL database and role of one Deployment (ids are UUIDs: 44 characters)."""
    return "airflow_" + spec.id.replace("-", "_")


def deployment_prefix(spec: DeploymentSpec) -> str:
    """Everything a Deployment keeps in the log bucket lives under this one S3 prefix."""
    return f"deployments/{spec.id}/"


def bundle_key(spec: DeploymentSpec, deploy_id: str) -> str:
    return f"{deployment_prefix(spec)}bundles/{deploy_id}.tar.gz"


def log_folder(spec: DeploymentSpec, bucket: str) -> str:
    return f"s3://{bucket}/{deployment_prefix(spec)}logs"


def bootstrap_job_name(spec: DeploymentSpec, mode: str) -> str:
    return f"metadata-{mode}-{spec.id}"


def labels(spec: DeploymentSpec) -> dict[str, str]:
    return {
        LABEL_MANAGED_BY: MANAGER,
        LABEL_ORGANIZATION: spec.organization_id,
        LABEL_DEPLOYMENT: spec.id,
    }


INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"  # set by the kubelet on every node


def queue_node_selector(cluster: ClusterOutputs, queue: WorkerQueue) -> dict[str, str]:
    """A queue with an instance type runs on nodes of that EC2 type (whichever node group
    has them); one without runs on the worker node group like every other Airflow pod."""
    if queue.instance_type:
        return {INSTANCE_TYPE_LABEL: queue.instance_type}
    return worker_node_selector(cluster)


def worker_node_selector(cluster: ClusterOutputs) -> dict[str, str]:
    """Airflow runs on the worker node group (the system group is tainted for add-ons)."""
    groups = [g for g in cluster.node_groups if g != "system"]
    if not groups:
        return {}
    group = WORKER_NODE_GROUP if WORKER_NODE_GROUP in groups else groups[0]
    return {NODE_GROUP_LABEL: group}


# -- inputs ----------------------------------------------------------------------------------
_OUTPUT_MEANING = {
    "db_endpoint": "the RDS endpoint for Airflow's metadata database",
    "log_bucket": "the S3 bucket for task logs and DAG bundles",
    "eks_cluster_name": "the EKS cluster to install Airflow on",
    "db_instance_arn": "the RDS instance whose master secret creates the Deployment's database",
}


def require_outputs(cluster: ClusterOutputs, *names: str) -> None:
    """Refuse a cluster whose provisioning has not produced what the runtime needs."""
    missing = [n for n in names if not getattr(cluster, n)]
    if missing:
        what = "; ".join(f"{n} ({_OUTPUT_MEANING.get(n, 'required')})" for n in missing)
        raise RuntimeError_(
            f"cluster {cluster.name} ({cluster.cluster_id}) has no {what}: its provisioning has "
            "not finished; wait until `flightdeck cluster get` shows it Active, then retry"
        )


def check_environment(spec: DeploymentSpec) -> None:
    both = sorted(set(spec.environment) & set(spec.secret_environment))
    if both:
        raise RuntimeError_(
            f"environment variable {both[0]} is set both as plain and as secret; keep one"
        )


# -- secret material -------------------------------------------------------------------------
def _derive(key: bytes, spec: DeploymentSpec, purpose: str) -> bytes:
    message = f"flightdeck/kubernetes/{spec.id}/{purpose}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class SecretMaterial:
    """Every secret value ``apply`` writes; ``repr`` shows none of them."""

    metadata_connection: str = field(repr=False)
    fernet_key: str = field(repr=False)
    webserver_secret_key: str = field(repr=False)
    api_secret_key: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    database_password: str = field(repr=False)
    master_username: str = field(repr=False)
    master_password: str = field(repr=False)
    environment: Mapping[str, str] = field(repr=False)


def derive_material(
    key: bytes,
    spec: DeploymentSpec,
    cluster: ClusterOutputs,
    master_username: str,
    master_password: str,
) -> SecretMaterial:
    """The same inputs give the same values, so re-applying never rotates a key by accident."""
    require_outputs(cluster, "db_endpoint")
    password = _derive(key, spec, "database-password").hex()
    name = database_name(spec)
    connection = (
        f"postgresql://{name}:{quote(password, safe='')}@{cluster.db_endpoint}:"
        f"{cluster.db_port or DEFAULT_DB_PORT}/{name}?sslmode=require"
    )
    return SecretMaterial(
        metadata_connection=connection,
        fernet_key=base64.urlsafe_b64encode(_derive(key, spec, "fernet")).decode(),
        webserver_secret_key=_derive(key, spec, "webserver-secret-key").hex(),
        api_secret_key=_derive(key, spec, "api-secret-key").hex(),
        jwt_secret=_derive(key, spec, "jwt-secret").hex(),
        database_password=password,
        master_username=master_username,
        master_password=master_password,
        environment=dict(spec.secret_environment),
    )


# -- objects ---------------------------------------------------------------------------------
def _meta(spec: DeploymentSpec, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(spec)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def namespace(spec: DeploymentSpec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(spec, namespace_name(spec))}


def resource_quota(spec: DeploymentSpec) -> dict[str, Any]:
    plan = k8s_sizing.quota_plan(spec)
    total = plan.total
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta(spec, "flightdeck-quota", namespace_name(spec)),
        "spec": {
            "hard": {
                "pods": str(plan.pods),
                "requests.cpu": total.cpu_quantity,
                "requests.memory": total.memory_quantity,
                "limits.cpu": total.cpu_quantity,
                "limits.memory": total.memory_quantity,
                # A tenant never exposes itself outside the cluster on its own.
                "services.loadbalancers": "0",
                "services.nodeports": "0",
            }
        },
    }


def limit_range(spec: DeploymentSpec) -> dict[str, Any]:
    """Defaults for containers the chart leaves unsized; no container above the largest pod."""
    sized = (
        k8s_sizing.scheduler_resources(spec),
        *(k8s_sizing.worker_resources(spec, queue) for queue in spec.queues),
        k8s_sizing.API_SERVER,
        k8s_sizing.DAG_PROCESSOR,
    )
    largest = k8s_sizing.Resources(max(r.cpu for r in sized), max(r.memory_gib for r in sized))
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta(spec, "flightdeck-limits", namespace_name(spec)),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": "500m", "memory": "512Mi"},
                    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                    "max": {"cpu": largest.cpu_quantity, "memory": largest.memory_quantity},
                }
            ]
        },
    }


def network_policy(spec: DeploymentSpec) -> dict[str, Any]:
    """Ingress only from this namespace (and flightdeck's); egress anywhere but IMDS.

    Every Deployment namespace carries this policy, so another tenant's pods are refused at
    the receiving end even though egress to the VPC stays open (RDS, AWS APIs, the EKS API).
    """
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec, "flightdeck-isolation", namespace_name(spec)),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {}},
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NAMESPACE}
                            }
                        },
                    ]
                }
            ],
            "egress": [
                {"to": [{"podSelector": {}}]},
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            }
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [INSTANCE_METADATA_CIDR]}}]},
            ],
        },
    }


def _secret(
    spec: DeploymentSpec, name: str, namespace: str, values: Mapping[str, str], *, shown: bool
) -> dict[str, Any]:
    """``shown`` (rendered for people) uses readable ``stringData``; applied Secrets use
    ``data`` so server-side apply owns each key and removes one that is no longer sent."""
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(spec, name, namespace),
        "type": "Opaque",
    }
    if shown:
        body["stringData"] = dict(values)
    else:
        body["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    return body


def secrets(spec: DeploymentSpec, material: SecretMaterial | None) -> list[dict[str, Any]]:
    """The Secrets the chart reads by name; without ``material`` every value is :data:`REDACTED`."""
    ns = namespace_name(spec)
    shown = material is None

    def value(pick: str) -> str:
        return REDACTED if material is None else str(getattr(material, pick))

    env = (
        {k: REDACTED for k in spec.secret_environment}
        if material is None
        else dict(material.environment)
    )
    return [
        _secret(
            spec,
            METADATA_SECRET,
            ns,
            {KEY_CONNECTION: value("metadata_connection")},
            shown=shown,
        ),
        _secret(
            spec,
            KEYS_SECRET,
            ns,
            {
                KEY_FERNET: value("fernet_key"),
                KEY_WEBSERVER: value("webserver_secret_key"),
                KEY_API: value("api_secret_key"),
                KEY_JWT: value("jwt_secret"),
            },
            shown=shown,
        ),
        _secret(spec, ENV_SECRET, ns, dict(sorted(env.items())), shown=shown),
    ]


def state_config_map(spec: DeploymentSpec, deploy_id: str | None) -> dict[str, Any]:
    """Which code bundle serves: read back by ``apply`` so re-applying never reverts a deploy."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, STATE_CONFIGMAP, namespace_name(spec)),
        "data": {"deployId": deploy_id or ""},
    }


# Creates (or drops) one Deployment's role and database; safe to re-run: every statement
# checks first, and the password is set again each time. psql quotes the variables itself
# (:'x' as a literal, :"x" as an identifier), so no value is ever spliced into SQL text.
BOOTSTRAP_SQL = {
    "create": """\
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
GRANT :"role" TO CURRENT_USER;
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \\gexec
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT ALL ON DATABASE :"database" TO :"role";
""",
    "drop": """\
DROP DATABASE IF EXISTS :"database" WITH (FORCE);
DROP ROLE IF EXISTS :"role";
""",
}


def bootstrap_script(mode: str) -> str:
    """The shell the Job runs: psql with the SQL above on stdin, variables from the env."""
    return (
        "set -eu\n"
        'psql --no-psqlrc -v ON_ERROR_STOP=1 -v role="$TARGET_ROLE" '
        '-v password="$TARGET_PASSWORD" -v database="$TARGET_DATABASE" <<\'SQL\'\n'
        f"{BOOTSTRAP_SQL[mode]}SQL\n"
    )


def system_namespace() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": SYSTEM_NAMESPACE, "labels": {LABEL_MANAGED_BY: MANAGER}},
    }


def bootstrap_objects(
    spec: DeploymentSpec,
    cluster: ClusterOutputs,
    material: SecretMaterial | None,
    mode: str = "create",
) -> list[dict[str, Any]]:
    """The RDS master credentials (system namespace only) and the Job that uses them."""
    require_outputs(cluster, "db_endpoint")
    name = bootstrap_job_name(spec, mode)
    secret_values = {
        "PGHOST": str(cluster.db_endpoint),
        "PGPORT": str(cluster.db_port or DEFAULT_DB_PORT),
        "PGDATABASE": "postgres",
        "PGSSLMODE": "require",
        "PGUSER": REDACTED if material is None else material.master_username,
        "PGPASSWORD": REDACTED if material is None else material.master_password,
        "TARGET_ROLE": database_name(spec),
        "TARGET_DATABASE": database_name(spec),
        "TARGET_PASSWORD": REDACTED if material is None else material.database_password,
    }
    container = {
        "name": "psql",
        "image": BOOTSTRAP_IMAGE,
        "command": ["sh", "-c", bootstrap_script(mode)],
        "envFrom": [{"secretRef": {"name": name}}],
        "resources": k8s_sizing.Resources(0.1, 0.125).as_k8s(),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 70,  # the image's postgres user
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_spec: dict[str, Any] = {"restartPolicy": "OnFailure", "containers": [container]}
    selector = worker_node_selector(cluster)
    if selector:
        pod_spec["nodeSelector"] = selector
    return [
        _secret(spec, name, SYSTEM_NAMESPACE, secret_values, shown=material is None),
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": _meta(spec, name, SYSTEM_NAMESPACE),
            "spec": {
                "backoffLimit": 6,
                # Gone ten minutes after it succeeds; the next apply then runs it once more,
                # which is harmless and heals a database someone dropped by hand.
                "ttlSecondsAfterFinished": 600,
                "template": {"metadata": {"labels": labels(spec)}, "spec": pod_spec},
            },
        },
    ]


def render_objects(
    spec: DeploymentSpec,
    cluster: ClusterOutputs,
    material: SecretMaterial | None = None,
    deploy_id: str | None = None,
) -> list[dict[str, Any]]:
    """Every object in the order ``apply`` sends them (namespaces first)."""
    check_environment(spec)
    require_outputs(cluster, "db_endpoint", "log_bucket")
    return [
        system_namespace(),
        namespace(spec),
        resource_quota(spec),
        limit_range(spec),
        network_policy(spec),
        *secrets(spec, material),
        state_config_map(spec, deploy_id),
        *bootstrap_objects(spec, cluster, material),
    ]

"""The ``kubernetes`` runtime: a Deployment as the Apache Airflow Helm chart on the cluster's EKS.

One instance serves one cluster, acting through the customer-role clients it is given
(``aws.session.RoleClients``, cached with their role session by the process's session
factory: it builds no credentials or clients of its own). ``apply`` sends the namespace
objects (quota, limits, isolation policy, Secrets, the metadata-database Job) with
server-side apply over the Kubernetes REST API, authenticated by an EKS token signed with
that session, then runs ``helm upgrade --install`` with values that hold no secret.
``deploy_code`` uploads the bundle to S3 and rolls the pods to it with ``helm --atomic`` (a
failed rollout is rolled back and the previous bundle keeps serving). ``delete`` removes the
namespace (the release and its Helm records live in it), drops the Deployment's database and
deletes its S3 prefix.

:func:`render` and :func:`render_values` give what ``apply`` would send, with every secret
value redacted, for tests and for people (``flightdeck deployment get --manifests``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import ssl
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

from flightdeck.runtime import helm_values
from flightdeck.runtime import k8s_objects as objects
from flightdeck.runtime.base import (
    ClusterOutputs,
    CodeBundle,
    CodeRejected,
    DeploymentSpec,
    RuntimeError_,
    RuntimeStatus,
)
from flightdeck.runtime.bundle import check_in_child
from flightdeck.runtime.eks_token import eks_token


class RoleClients(Protocol):
    """What the runtime needs of ``aws.session.RoleClients`` (runtime and aws are independent
    adapters, so the runtime names the shape, not the class): its clients and the session
    that signs EKS tokens."""

    session: Any

    def client(self, service: str) -> Any: ...

log = logging.getLogger(__name__)

FIELD_MANAGER = "flightdeck"
APPLY_PATCH = "application/apply-patch+yaml"
HELM_INSTALL_HINT = (
    "the kubernetes runtime runs the Apache Airflow Helm chart with the helm binary (v3), "
    "which is not on PATH of the flightdeck worker; install it "
    "(https://helm.sh/docs/intro/install/) on the host that runs `flightdeck worker`, then retry"
)
HELM_APPLY_TIMEOUT_SECONDS = 300
HELM_DEPLOY_TIMEOUT = "10m"
HELM_DEPLOY_TIMEOUT_SECONDS = 900
KEDA_API = "/apis/keda.sh/v1alpha1"

_PLURALS = {
    "Namespace": "namespaces",
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "NetworkPolicy": "networkpolicies",
    "Job": "jobs",
}


def render(spec: DeploymentSpec, cluster: ClusterOutputs) -> list[dict[str, Any]]:
    """The Kubernetes objects ``apply`` sends, secret values redacted."""
    return objects.render_objects(spec, cluster)


def render_values(
    spec: DeploymentSpec,
    cluster: ClusterOutputs,
    *,
    deploy_id: str | None = None,
    workload_role_arn: str | None = None,
) -> dict[str, Any]:
    """The Helm values ``apply`` installs (they never hold a secret)."""
    return helm_values.render_values(
        spec, cluster, deploy_id=deploy_id, workload_role_arn=workload_role_arn
    )


def object_path(obj: dict[str, Any]) -> str:
    """The REST path of one object: ``/api/v1/...`` for the core group, ``/apis/...`` else."""
    kind = obj["kind"]
    plural = _PLURALS.get(kind)
    if plural is None:
        raise RuntimeError_(f"flightdeck does not apply {kind} objects")
    version = obj["apiVersion"]
    base = "/api/v1" if version == "v1" else f"/apis/{version}"
    name = obj["metadata"]["name"]
    if kind == "Namespace":
        return f"{base}/namespaces/{name}"
    return f"{base}/namespaces/{obj['metadata']['namespace']}/{plural}/{name}"


def check_bundle(bundle: CodeBundle) -> None:
    """Refuse an archive the pods could not use: not a .tar.gz, no ``dags/``, unsafe member
    names or links, or Python files that do not compile. Nothing is uploaded before this.
    The headers are read first in a limited child process, so listing them here is safe."""
    check_in_child(bundle.archive)
    errors: dict[str, str] = {}
    try:
        with tarfile.open(bundle.archive, mode="r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                name = member.name
                if name.startswith("/") or ".." in Path(name).parts:
                    errors[name] = "path leaves the bundle; use paths relative to its root"
                elif member.issym() or member.islnk() or member.isdev():
                    errors[name] = "links and device files are not allowed in a bundle"
                elif name.startswith("dags/") and name.endswith(".py") and member.isfile():
                    handle = tar.extractfile(member)
                    source = handle.read() if handle else b""
                    try:
                        compile(source, name, "exec", dont_inherit=True)
                    except (SyntaxError, ValueError) as exc:
                        errors[name] = str(exc).splitlines()[0]
    except (OSError, tarfile.TarError) as exc:
        raise CodeRejected(
            f"deploy {bundle.deploy_id}: {bundle.archive.name} is not a readable .tar.gz "
            f"({exc}); build it with `flightdeck deploy`"
        ) from exc
    if not any(m.name.startswith("dags/") for m in members):
        errors["dags/"] = "the bundle has no dags/ folder"
    if errors:
        raise CodeRejected(
            f"deploy {bundle.deploy_id} rejected: {len(errors)} problem(s); nothing was switched",
            errors,
        )


def kubeconfig(server: str, ca_data: str, token: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "eks", "cluster": {"server": server, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": FIELD_MANAGER, "user": {"token": token}}],
        "contexts": [
            {
                "name": FIELD_MANAGER,
                "context": {"cluster": "eks", "user": FIELD_MANAGER, "namespace": namespace},
            }
        ],
        "current-context": FIELD_MANAGER,
    }


def helm_upgrade_command(
    helm: str, spec: DeploymentSpec, values_file: Path, kubeconfig_file: Path, *, wait: bool
) -> list[str]:
    """``wait`` (deploys): block until the pods are ready, roll back if they never are."""
    command = [
        helm,
        "upgrade",
        "--install",
        objects.RELEASE,
        helm_values.CHART_NAME,
        "--repo",
        helm_values.CHART_REPOSITORY,
        "--version",
        helm_values.CHART_VERSION,
        "--namespace",
        objects.namespace_name(spec),
        "--kubeconfig",
        str(kubeconfig_file),
        "-f",
        str(values_file),
    ]
    if wait:
        command += ["--wait", "--atomic", "--timeout", HELM_DEPLOY_TIMEOUT]
    return command


@dataclass(frozen=True)
class ClusterEndpoint:
    server: str
    ca_data: str  # base64 PEM, as EKS returns it


class KubeApi:
    """The few Kubernetes REST calls the runtime makes; errors become :class:`RuntimeError_`
    with the API server's message (never a request body, which may hold secret values)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = response.text[:200]
        hint = ""
        if response.status_code in (401, 403):
            hint = (
                "; map the customer role to a Kubernetes group with rights on namespaces "
                "(an EKS access entry for the flightdeck role)"
            )
        raise RuntimeError_(
            f"{what}: the Kubernetes API said {response.status_code} {message}{hint}"
        )

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        path = object_path(obj)
        response = self.client.patch(
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content=json.dumps(obj).encode(),  # JSON is YAML: apply-patch+yaml accepts it
            headers={"Content-Type": APPLY_PATCH},
        )
        self._check(response, f"applying {obj['kind']} {obj['metadata']['name']}")
        log.info("applied %s %s", obj["kind"], path)
        result: dict[str, Any] = response.json()
        return result

    def get(self, path: str) -> dict[str, Any] | None:
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        self._check(response, f"reading {path}")
        result: dict[str, Any] = response.json()
        return result

    def delete(self, path: str) -> bool:
        """True when something was deleted; a missing object is already deleted."""
        response = self.client.delete(path, params={"propagationPolicy": "Background"})
        if response.status_code == 404:
            return False
        self._check(response, f"deleting {path}")
        log.info("deleted %s", path)
        return True


class KubernetesRuntime:
    """The Runtime protocol on one EKS cluster. ``secret_key`` seeds every Deployment's derived
    secrets (pass flightdeck's own ``secret_key``); ``workload_role_arn`` is the IRSA role the
    Airflow pods assume to read bundles and write logs in the log bucket."""

    name = "kubernetes"

    def __init__(
        self,
        clients: RoleClients,
        cluster: ClusterOutputs,
        secret_key: str | bytes,
        *,
        workload_role_arn: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.clients = clients
        self.cluster = cluster
        self._key = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self.workload_role_arn = workload_role_arn
        self._transport = transport
        self._timeout = timeout_seconds
        self._endpoint: ClusterEndpoint | None = None

    # -- AWS ---------------------------------------------------------------------------------
    def _aws(self, service: str) -> Any:
        return self.clients.client(service)

    def _aws_call(self, what: str, call: Any, **kwargs: Any) -> Any:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RuntimeError_(
                f"{what}: AWS answered {error.get('Code', 'an error')}: "
                f"{error.get('Message', '')}".rstrip(": ")
            ) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise RuntimeError_(f"{what}: {exc}") from exc

    def endpoint(self) -> ClusterEndpoint:
        """The EKS API server and its CA, read once per runtime."""
        if self._endpoint is None:
            objects.require_outputs(self.cluster, "eks_cluster_name")
            described = self._aws_call(
                f"describing EKS cluster {self.cluster.eks_cluster_name}",
                self._aws("eks").describe_cluster,
                name=self.cluster.eks_cluster_name,
            )["cluster"]
            server = described.get("endpoint") or self.cluster.eks_endpoint
            ca_data = (described.get("certificateAuthority") or {}).get("data")
            if not server or not ca_data:
                raise RuntimeError_(
                    f"EKS cluster {self.cluster.eks_cluster_name} has no API endpoint or CA yet; "
                    "it is still being created: retry when the cluster is Active"
                )
            self._endpoint = ClusterEndpoint(server, ca_data)
        return self._endpoint

    def token(self) -> str:
        objects.require_outputs(self.cluster, "eks_cluster_name")
        return eks_token(
            self.clients.session, str(self.cluster.eks_cluster_name), self.cluster.region
        )

    def master_credentials(self) -> tuple[str, str]:
        """The RDS master user and password, from the secret RDS manages in Secrets Manager."""
        objects.require_outputs(self.cluster, "db_instance_arn")
        instances = self._aws_call(
            "reading the metadata database",
            self._aws("rds").describe_db_instances,
            DBInstanceIdentifier=self.cluster.db_instance_arn,
        )["DBInstances"]
        secret_arn = (instances[0].get("MasterUserSecret") or {}).get("SecretArn")
        if not secret_arn:
            raise RuntimeError_(
                f"RDS instance {self.cluster.db_instance_arn} has no RDS-managed master secret; "
                "flightdeck creates it with ManageMasterUserPassword: re-run the cluster's "
                "provisioning"
            )
        secret = self._aws_call(
            "reading the metadata database's master secret",
            self._aws("secretsmanager").get_secret_value,
            SecretId=secret_arn,
        )
        try:
            parsed = json.loads(secret["SecretString"])
            return str(parsed["username"]), str(parsed["password"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RuntimeError_(
                f"the master secret of {self.cluster.db_instance_arn} is not RDS's "
                '{"username", "password"} JSON; restore it or rotate it with RDS'
            ) from exc

    # -- Kubernetes --------------------------------------------------------------------------
    @contextmanager
    def api(self) -> Iterator[KubeApi]:
        endpoint = self.endpoint()
        verify: ssl.SSLContext | bool = True
        if self._transport is None:
            pem = base64.b64decode(endpoint.ca_data).decode()
            verify = ssl.create_default_context(cadata=pem)
        with httpx.Client(
            base_url=endpoint.server,
            headers={"Authorization": f"Bearer {self.token()}", "Accept": "application/json"},
            verify=verify,
            transport=self._transport,
            timeout=self._timeout,
        ) as client:
            try:
                yield KubeApi(client)
            except httpx.HTTPError as exc:
                raise RuntimeError_(
                    f"cannot reach the Kubernetes API of {self.cluster.eks_cluster_name} at "
                    f"{endpoint.server}: {exc}; check the cluster's endpoint access"
                ) from exc

    def _deploy_id(self, api: KubeApi, spec: DeploymentSpec) -> str | None:
        found = api.get(
            f"/api/v1/namespaces/{objects.namespace_name(spec)}/configmaps/{objects.STATE_CONFIGMAP}"
        )
        return ((found or {}).get("data") or {}).get("deployId") or None

    def _apply_bootstrap(
        self, api: KubeApi, spec: DeploymentSpec, material: objects.SecretMaterial, mode: str
    ) -> None:
        """The Job first, then its Secret owned by it, so the master credentials disappear
        with the Job (ten minutes after it finishes) instead of lingering."""
        secret, job = objects.bootstrap_objects(spec, self.cluster, material, mode)
        applied = api.apply(job)
        secret["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": applied["metadata"]["name"],
                "uid": applied["metadata"]["uid"],
            }
        ]
        api.apply(secret)

    # -- helm --------------------------------------------------------------------------------
    @staticmethod
    def helm_binary() -> str:
        found = shutil.which("helm")
        if found is None:
            raise RuntimeError_(HELM_INSTALL_HINT)
        return found

    def _helm_upgrade(self, spec: DeploymentSpec, values: dict[str, Any], *, wait: bool) -> None:
        helm = self.helm_binary()
        endpoint = self.endpoint()
        with tempfile.TemporaryDirectory(prefix="flightdeck-helm-") as tmp:
            values_file = Path(tmp) / "values.yaml"
            values_file.write_text(yaml.safe_dump(values, sort_keys=True))
            config_file = Path(tmp) / "kubeconfig"
            # The token is only in this file, readable by us alone, deleted on return.
            fd = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(
                    yaml.safe_dump(
                        kubeconfig(
                            endpoint.server,
                            endpoint.ca_data,
                            self.token(),
                            objects.namespace_name(spec),
                        )
                    )
                )
            command = helm_upgrade_command(helm, spec, values_file, config_file, wait=wait)
            try:
                result = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=HELM_DEPLOY_TIMEOUT_SECONDS if wait else HELM_APPLY_TIMEOUT_SECONDS,
                )
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError_(
                    f"helm upgrade of {objects.namespace_name(spec)} did not finish in "
                    f"{exc.timeout:.0f}s; the worker retries on its next pass"
                ) from exc
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            raise RuntimeError_(
                f"helm upgrade of {objects.namespace_name(spec)} failed: "
                f"{lines[-1] if lines else f'exit status {result.returncode}'}"
            )
        log.info("helm upgraded %s", objects.namespace_name(spec))

    # -- Runtime protocol --------------------------------------------------------------------
    def _check_cluster(self, cluster: ClusterOutputs) -> None:
        if cluster.cluster_id != self.cluster.cluster_id:
            raise RuntimeError_(
                f"this kubernetes runtime serves cluster {self.cluster.cluster_id}, not "
                f"{cluster.cluster_id}"
            )

    def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
        self._check_cluster(cluster)
        self.cluster = cluster  # newer outputs (e.g. a finished step) win
        objects.require_outputs(
            cluster, "eks_cluster_name", "db_endpoint", "db_instance_arn", "log_bucket"
        )
        objects.check_environment(spec)
        helm_values.airflow_major(spec)
        self.helm_binary()  # fail before touching the cluster when helm cannot run
        username, password = self.master_credentials()
        material = objects.derive_material(self._key, spec, cluster, username, password)
        with self.api() as api:
            deploy_id = self._deploy_id(api, spec)
            for obj in objects.render_objects(spec, cluster, material, deploy_id):
                if obj["metadata"].get("namespace") == objects.SYSTEM_NAMESPACE:
                    continue  # the bootstrap pair goes below, Job before Secret
                api.apply(obj)
            self._apply_bootstrap(api, spec, material, "create")
            keda = api.get(KEDA_API) is not None
        values = helm_values.render_values(
            spec,
            cluster,
            deploy_id=deploy_id,
            workload_role_arn=self.workload_role_arn,
            autoscaling_available=keda,
        )
        self._helm_upgrade(spec, values, wait=False)
        notes = [] if keda else ["KEDA is not installed: Celery workers stay at min_workers"]
        if not self.workload_role_arn:
            notes.append("no workload (IRSA) role: pods cannot read bundles or write logs")
        return RuntimeStatus(
            "creating",
            "; ".join(["chart applied, pods starting", *notes]),
            deploy_id=deploy_id,
        )

    def status(self, spec: DeploymentSpec) -> RuntimeStatus:
        ns = objects.namespace_name(spec)
        with self.api() as api:
            if api.get(f"/api/v1/namespaces/{ns}") is None:
                return RuntimeStatus("absent", f"namespace {ns} does not exist")
            deploy_id = self._deploy_id(api, spec)
            workloads = [
                *((api.get(f"/apis/apps/v1/namespaces/{ns}/deployments") or {}).get("items", [])),
                *((api.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets") or {}).get("items", [])),
            ]
        if spec.hibernated:
            return asleep_status(workloads, deploy_id)
        return workload_status(workloads, deploy_id)

    def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
        check_bundle(bundle)
        if bundle.kind != "dags":
            raise RuntimeError_(
                f"deploy {bundle.deploy_id}: full deploys (requirements) need an image build, "
                "which the kubernetes runtime does not do yet; deploy DAGs only "
                "(`flightdeck deploy --dags`)"
            )
        objects.require_outputs(self.cluster, "log_bucket")
        with self.api() as api:
            if api.get(f"/api/v1/namespaces/{objects.namespace_name(spec)}") is None:
                raise RuntimeError_(
                    f"deploy {bundle.deploy_id}: Deployment {spec.name} is not on the cluster "
                    "yet; wait until it is created (the worker applies it), then deploy again"
                )
            keda = api.get(KEDA_API) is not None
        key = objects.bundle_key(spec, bundle.deploy_id)
        # A new key per deploy: the previous bundle stays in place for pods still running it.
        self._aws_call(
            f"uploading deploy {bundle.deploy_id}",
            self._aws("s3").upload_file,
            Filename=str(bundle.archive),
            Bucket=self.cluster.log_bucket,
            Key=key,
        )
        values = helm_values.render_values(
            spec,
            self.cluster,
            deploy_id=bundle.deploy_id,
            workload_role_arn=self.workload_role_arn,
            autoscaling_available=keda,
        )
        # --atomic: if the new pods never become ready, helm rolls back to the last release.
        self._helm_upgrade(spec, values, wait=True)
        with self.api() as api:
            api.apply(objects.state_config_map(spec, bundle.deploy_id))
        return self.status(spec)

    def delete(self, spec: DeploymentSpec) -> None:
        ns = objects.namespace_name(spec)
        objects.require_outputs(self.cluster, "db_endpoint", "log_bucket")
        username, password = self.master_credentials()
        material = objects.derive_material(self._key, spec, self.cluster, username, password)
        with self.api() as api:
            # The release, its Helm records and every Secret live in the namespace.
            api.delete(f"/api/v1/namespaces/{ns}")
            api.delete(
                f"/apis/batch/v1/namespaces/{objects.SYSTEM_NAMESPACE}/jobs/"
                f"{objects.bootstrap_job_name(spec, 'create')}"
            )
            self._apply_bootstrap(api, spec, material, "drop")
        self._delete_prefix(objects.deployment_prefix(spec))

    def _delete_prefix(self, prefix: str) -> None:
        s3 = self._aws("s3")
        bucket = self.cluster.log_bucket

        def delete_all() -> None:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

        self._aws_call(f"deleting s3://{bucket}/{prefix}", delete_all)


def _ready(workload: dict[str, Any]) -> bool:
    spec_replicas = (workload.get("spec") or {}).get("replicas", 1)
    status = workload.get("status") or {}
    observed = status.get("observedGeneration", 0) >= (workload.get("metadata") or {}).get(
        "generation", 0
    )
    return bool(
        observed
        and status.get("readyReplicas", 0) >= spec_replicas
        and status.get("updatedReplicas", spec_replicas) >= spec_replicas
    )


def _stalled(workload: dict[str, Any]) -> bool:
    conditions = (workload.get("status") or {}).get("conditions") or []
    return any(c.get("reason") == "ProgressDeadlineExceeded" for c in conditions)


def asleep_status(workloads: list[dict[str, Any]], deploy_id: str | None) -> RuntimeStatus:
    """A hibernated Deployment is ``hibernating`` once no workload has a pod left."""
    running = sorted(
        ((w.get("metadata") or {}).get("labels") or {}).get("component")
        or (w.get("metadata") or {}).get("name", "?")
        for w in workloads
        if (w.get("spec") or {}).get("replicas", 1) or (w.get("status") or {}).get("replicas", 0)
    )
    if running:
        return RuntimeStatus(
            "creating", f"scaling to zero: {', '.join(running)}", deploy_id=deploy_id
        )
    return RuntimeStatus(
        "hibernating",
        "every component is scaled to zero; the metadata database and the code are kept",
        deploy_id=deploy_id,
    )


def workload_status(workloads: list[dict[str, Any]], deploy_id: str | None) -> RuntimeStatus:
    """Health from the chart's Deployments and StatefulSets (keyed by their ``component``)."""
    if not workloads:
        return RuntimeStatus(
            "creating", "the chart has not created its workloads yet", deploy_id=deploy_id
        )
    components: dict[str, bool] = {}
    stalled: list[str] = []
    for workload in workloads:
        meta = workload.get("metadata") or {}
        component = (meta.get("labels") or {}).get("component") or meta.get("name", "?")
        components[component] = components.get(component, True) and _ready(workload)
        if _stalled(workload):
            stalled.append(component)
    if all(components.values()):
        return RuntimeStatus("healthy", "", components=components, deploy_id=deploy_id)
    waiting = sorted(c for c, ok in components.items() if not ok)
    if stalled:
        return RuntimeStatus(
            "unhealthy",
            f"not progressing: {', '.join(sorted(stalled))}; see `kubectl describe` in the "
            "namespace for the pods' events",
            components=components,
            deploy_id=deploy_id,
        )
    return RuntimeStatus(
        "creating", f"waiting for {', '.join(waiting)}", components=components, deploy_id=deploy_id
    )

"""KubernetesRuntime end to end on everything but a cluster.

AWS is the emulator (moto server over HTTP): the customer account holds an EKS cluster, an RDS
instance whose master password RDS keeps in Secrets Manager, and the log bucket. There is no
EKS API server and no helm here, so this is request-shape testing: the Kubernetes REST API is
an ``httpx.MockTransport`` that records every request (method, path, query, content type,
token) and keeps what was applied, and ``helm`` is a recording script on PATH that saves its
arguments and the files it was given. Nothing here proves the chart installs on a cluster.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import stat
import sys
import tarfile
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import yaml

from flightdeck.aws.session import RoleClients, SessionFactory, StaticCredentials
from flightdeck.runtime import helm_values, k8s_objects
from flightdeck.runtime.base import (
    ClusterOutputs,
    CodeBundle,
    CodeRejected,
    DeploymentSpec,
    RuntimeError_,
)
from flightdeck.runtime.kubernetes import KubernetesRuntime, object_path, workload_status

SECRET_VALUE = "s3cr3t-value-never-logged"
ROLE_ARN = "arn:aws:iam::111122223333:role/flightdeck-workload"
KEY = "0123456789abcdef0123456789abcdef"

FAKE_HELM = """\
import json, os, sys
args = sys.argv[1:]
record = {"argv": args}
if "-f" in args:
    record["values"] = open(args[args.index("-f") + 1]).read()
if "--kubeconfig" in args:
    path = args[args.index("--kubeconfig") + 1]
    record["kubeconfig"] = open(path).read()
    record["kubeconfig_mode"] = os.stat(path).st_mode & 0o777
    record["kubeconfig_path"] = path
with open(os.environ["FAKE_HELM_RECORD"], "a") as out:
    out.write(json.dumps(record) + "\\n")
if os.environ.get("FAKE_HELM_FAIL"):
    sys.stderr.write("Error: UPGRADE FAILED: context deadline exceeded\\n")
    sys.exit(1)
"""


class FakeApiServer:
    """Records requests; PATCH stores the object (with a uid), GET and DELETE read that store."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.store: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.logs: dict[str, str] = {}  # a pod log's path -> its text
        self.fail_with: int | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if self.fail_with:
            return httpx.Response(self.fail_with, json={"kind": "Status", "message": "forbidden"})
        if request.method == "PATCH":
            obj = json.loads(request.content)
            obj["metadata"]["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, path))
            self.store[path] = obj
            return httpx.Response(200, json=obj)
        if request.method == "GET":
            if path in self.logs:
                return httpx.Response(200, text=self.logs[path])
            selector = request.url.params.get("labelSelector")
            if path in self.lists and selector:
                wanted = dict(pair.split("=", 1) for pair in selector.split(","))
                items = [
                    item
                    for item in self.lists[path]
                    if wanted.items() <= item["metadata"].get("labels", {}).items()
                ]
                return httpx.Response(200, json={"items": items})
            if path in self.lists:
                return httpx.Response(200, json={"items": self.lists[path]})
            if path in self.store:
                return httpx.Response(200, json=self.store[path])
            return httpx.Response(404, json={"kind": "Status", "message": "not found"})
        if request.method == "DELETE":
            if self.store.pop(path, None) is None:
                return httpx.Response(404, json={"kind": "Status", "message": "not found"})
            return httpx.Response(200, json={"kind": "Status", "status": "Success"})
        return httpx.Response(405)

    def patches(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "PATCH"]

    def body(self, path: str) -> dict[str, Any]:
        return self.store[path]


def make_spec(**changes: Any) -> DeploymentSpec:
    spec = DeploymentSpec(
        id="0b5c3f0e-8a55-4a43-9d0e-7a4d1e2c9f10",
        name="etl",
        organization_id="9f1d2e3c-0000-4000-8000-000000000001",
        airflow_version="3.0.2",
        environment={"TEAM": "data"},
        secret_environment={"API_TOKEN": SECRET_VALUE},
    )
    return replace(spec, **changes)


@pytest.fixture
def customer(emulator_env: Any) -> tuple[boto3.Session, ClusterOutputs]:
    """The customer account in the emulator with an EKS cluster, RDS and the log bucket."""
    creds = emulator_env.customer_credentials()
    url = emulator_env.endpoint_url
    # What the control plane's factory hands the runtime: the role's session, its endpoint.
    session = SessionFactory(
        endpoint_url=url,
        credentials=StaticCredentials(creds.access_key_id, creds.secret_access_key),
    ).platform_session()
    eks = session.client("eks", endpoint_url=url)
    eks.create_cluster(
        name="flightdeck-c-1",
        roleArn=f"arn:aws:iam::{emulator_env.customer_account_id}:role/eks",
        resourcesVpcConfig={},
    )
    instance = session.client("rds", endpoint_url=url).create_db_instance(
        DBInstanceIdentifier="flightdeck-c-1",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="airflow",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
    )["DBInstance"]
    bucket = f"flightdeck-logs-{emulator_env.customer_account_id}-c-1"
    session.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
    cluster = ClusterOutputs(
        cluster_id="c-1",
        name="prod",
        region="us-east-1",
        account_id=emulator_env.customer_account_id,
        eks_cluster_name="flightdeck-c-1",
        db_instance_arn=instance["DBInstanceArn"],
        db_endpoint="flightdeck-c-1.abc.us-east-1.rds.amazonaws.com",
        db_port=5432,
        log_bucket=bucket,
        node_groups=("system", "workers"),
        aws_endpoint_url=url,
    )
    return session, cluster


@pytest.fixture
def api() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recording ``helm`` first on PATH; returns the file its calls are written to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "helm"
    script.write_text(f"#!{sys.executable}\n{FAKE_HELM}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / "helm-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_HELM_RECORD", str(record))
    return record


def helm_calls(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


@pytest.fixture
def runtime(
    customer: tuple[boto3.Session, ClusterOutputs], api: FakeApiServer
) -> KubernetesRuntime:
    session, cluster = customer
    return KubernetesRuntime(
        RoleClients(session, cluster.region),
        cluster,
        KEY,
        workload_role_arn=ROLE_ARN,
        transport=httpx.MockTransport(api.handler),
    )


def bundle(tmp_path: Path, files: dict[str, str], deploy_id: str = "d-1") -> CodeBundle:
    archive = tmp_path / f"{deploy_id}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return CodeBundle(deploy_id=deploy_id, archive=archive)


NS = f"/api/v1/namespaces/flightdeck-{make_spec().id}"


# -- apply -----------------------------------------------------------------------------------
def test_apply_sends_every_object_by_server_side_apply_then_installs_the_chart(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
    caplog: pytest.LogCaptureFixture,
) -> None:
    session, cluster = customer
    spec = make_spec()
    caplog.set_level(logging.DEBUG, logger="flightdeck")
    caplog.set_level(logging.DEBUG, logger="httpx")
    status = runtime.apply(spec, cluster)

    assert status.health == "creating"
    assert "KEDA is not installed" in status.message
    system = "/api/v1/namespaces/flightdeck-system"
    assert [r.url.path for r in api.patches()] == [
        system,
        NS,
        f"{NS}/resourcequotas/flightdeck-quota",
        f"{NS}/limitranges/flightdeck-limits",
        f"/apis/networking.k8s.io/v1/namespaces/flightdeck-{spec.id}/networkpolicies/"
        "flightdeck-isolation",
        f"{NS}/secrets/flightdeck-metadata",
        f"{NS}/secrets/flightdeck-airflow-keys",
        f"{NS}/secrets/flightdeck-env",
        f"{NS}/configmaps/flightdeck-state",
        f"/apis/batch/v1/namespaces/flightdeck-system/jobs/metadata-create-{spec.id}",
        f"{system}/secrets/metadata-create-{spec.id}",
    ]
    for request in api.requests:
        assert request.headers["authorization"].startswith("Bearer k8s-aws-v1.")
    for request in api.patches():
        assert request.headers["content-type"] == "application/apply-patch+yaml"
        assert dict(request.url.params) == {"fieldManager": "flightdeck", "force": "true"}
    assert [r.url.path for r in api.requests if r.method == "GET"] == [
        f"{NS}/configmaps/flightdeck-state",
        "/apis/keda.sh/v1alpha1",
    ]

    # Secret values reach the API (base64 in data) ...
    env_secret = api.body(f"{NS}/secrets/flightdeck-env")
    assert base64.b64decode(env_secret["data"]["API_TOKEN"]).decode() == SECRET_VALUE
    master = json.loads(
        session.client("secretsmanager", endpoint_url=cluster.aws_endpoint_url).get_secret_value(
            SecretId=session.client(
                "rds", endpoint_url=cluster.aws_endpoint_url
            ).describe_db_instances(DBInstanceIdentifier=cluster.db_instance_arn)["DBInstances"][0][
                "MasterUserSecret"
            ]["SecretArn"]
        )["SecretString"]
    )
    bootstrap = api.body(f"{system}/secrets/metadata-create-{spec.id}")
    assert base64.b64decode(bootstrap["data"]["PGPASSWORD"]).decode() == master["password"]
    job = api.body(f"/apis/batch/v1/namespaces/flightdeck-system/jobs/metadata-create-{spec.id}")
    assert bootstrap["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": job["metadata"]["name"],
            "uid": job["metadata"]["uid"],
        }
    ]

    # ... and helm got values without any secret and a private kubeconfig, since deleted.
    (call,) = helm_calls(helm)
    argv = call["argv"]
    assert argv[:13] == [
        "upgrade",
        "--install",
        "airflow",
        "airflow",
        "--repo",
        "https://airflow.apache.org",
        "--version",
        helm_values.CHART_VERSION,
        "--namespace",
        f"flightdeck-{spec.id}",
        "--kubeconfig",
        call["kubeconfig_path"],
        "-f",
    ]
    assert "--wait" not in argv
    assert yaml.safe_load(call["values"]) == helm_values.render_values(
        spec, cluster, workload_role_arn=ROLE_ARN, autoscaling_available=False
    )
    config = yaml.safe_load(call["kubeconfig"])
    described = session.client("eks", endpoint_url=cluster.aws_endpoint_url).describe_cluster(
        name="flightdeck-c-1"
    )["cluster"]
    assert config["clusters"][0]["cluster"] == {
        "server": described["endpoint"],
        "certificate-authority-data": described["certificateAuthority"]["data"],
    }
    assert config["users"][0]["user"]["token"].startswith("k8s-aws-v1.")
    assert call["kubeconfig_mode"] == 0o600
    assert not Path(call["kubeconfig_path"]).exists()

    secrets_seen = [SECRET_VALUE, master["password"], config["users"][0]["user"]["token"]]
    for value in secrets_seen:
        assert value not in call["values"]
        assert value not in caplog.text
    assert "applied Secret" in caplog.text


def test_apply_keeps_the_serving_deploy_and_autoscales_when_keda_is_there(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    spec = make_spec()
    api.store[f"{NS}/configmaps/flightdeck-state"] = {"data": {"deployId": "d-9"}}
    api.store["/apis/keda.sh/v1alpha1"] = {"kind": "APIResourceList"}
    status = runtime.apply(spec, customer[1])
    assert status.deploy_id == "d-9"
    assert api.body(f"{NS}/configmaps/flightdeck-state")["data"] == {"deployId": "d-9"}
    values = yaml.safe_load(helm_calls(helm)[0]["values"])
    assert values["airflowPodAnnotations"] == {"flightdeck.io/deploy-id": "d-9"}
    assert values["workers"]["keda"]["enabled"] is True


def test_apply_without_helm_names_the_fix_and_touches_nothing(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    customer: tuple[boto3.Session, ClusterOutputs],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm anywhere
    with pytest.raises(RuntimeError_, match=r"helm binary .* not on PATH .* install it"):
        runtime.apply(make_spec(), customer[1])
    assert api.requests == []


def test_apply_refuses_a_cluster_without_its_database_before_any_call(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    with pytest.raises(RuntimeError_, match="db_endpoint"):
        runtime.apply(make_spec(), replace(customer[1], db_endpoint=None))
    assert api.requests == [] and helm_calls(helm) == []
    with pytest.raises(RuntimeError_, match="serves cluster c-1, not c-2"):
        runtime.apply(make_spec(), replace(customer[1], cluster_id="c-2"))


def test_helm_failure_is_reported_with_its_last_line(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_HELM_FAIL", "1")
    with pytest.raises(RuntimeError_, match="UPGRADE FAILED: context deadline exceeded"):
        runtime.apply(make_spec(), customer[1])


def test_api_refusal_becomes_a_clear_error_without_the_request_body(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    api.fail_with = 403
    with pytest.raises(RuntimeError_) as caught:
        runtime.apply(make_spec(), customer[1])
    message = str(caught.value)
    assert "403 forbidden" in message and "access entry" in message
    assert SECRET_VALUE not in message


# -- status ----------------------------------------------------------------------------------
def workload(component: str, replicas: int, ready: int, stalled: bool = False) -> dict[str, Any]:
    conditions = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}] if stalled else []
    return {
        "metadata": {
            "name": f"airflow-{component}",
            "labels": {"component": component},
            "generation": 2,
        },
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 2,
            "readyReplicas": ready,
            "updatedReplicas": replicas,
            "conditions": conditions,
        },
    }


def test_status_reads_readiness_in_the_namespace(
    runtime: KubernetesRuntime, api: FakeApiServer
) -> None:
    spec = make_spec()
    assert runtime.status(spec).health == "absent"
    api.store[NS] = {"metadata": {"name": f"flightdeck-{spec.id}"}}
    api.store[f"{NS}/configmaps/flightdeck-state"] = {"data": {"deployId": "d-3"}}
    deployments = f"/apis/apps/v1/namespaces/flightdeck-{spec.id}/deployments"
    statefulsets = f"/apis/apps/v1/namespaces/flightdeck-{spec.id}/statefulsets"
    api.lists[deployments] = [workload("scheduler", 1, 1), workload("api-server", 1, 0)]
    api.lists[statefulsets] = [workload("redis", 1, 1)]
    creating = runtime.status(spec)
    assert creating.health == "creating"
    assert creating.message == "waiting for api-server"
    assert creating.components == {"scheduler": True, "api-server": False, "redis": True}
    assert creating.deploy_id == "d-3"
    api.lists[deployments] = [workload("scheduler", 1, 1), workload("api-server", 1, 1)]
    assert runtime.status(spec).health == "healthy"
    api.lists[deployments] = [workload("scheduler", 2, 1, stalled=True)]
    unhealthy = runtime.status(spec)
    assert unhealthy.health == "unhealthy" and "scheduler" in unhealthy.message


def test_workload_status_needs_the_new_generation_observed() -> None:
    old = workload("scheduler", 1, 1)
    old["metadata"]["generation"] = 3  # the controller has not seen the new spec yet
    assert workload_status([old], None).health == "creating"
    assert workload_status([], None).health == "creating"


# -- deploy code -----------------------------------------------------------------------------
DAG = "from datetime import datetime\nprint('dag')\n"


def test_deploy_uploads_then_rolls_atomically_and_records_the_deploy(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    tmp_path: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    session, cluster = customer
    spec = make_spec()
    s3 = session.client("s3", endpoint_url=cluster.aws_endpoint_url)
    with pytest.raises(RuntimeError_, match="not on the cluster yet"):
        runtime.deploy_code(spec, bundle(tmp_path, {"dags/a.py": DAG}, "d-0"))
    runtime.apply(spec, cluster)
    first = runtime.deploy_code(spec, bundle(tmp_path, {"dags/a.py": DAG}, "d-1"))
    second = runtime.deploy_code(spec, bundle(tmp_path, {"dags/b.py": DAG}, "d-2"))
    assert (first.deploy_id, second.deploy_id) == ("d-1", "d-2")
    keys = sorted(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=cluster.log_bucket, Prefix="deployments/")["Contents"]
    )
    # The previous bundle stays: pods still on d-1 keep working until they are replaced.
    assert keys == [
        f"deployments/{spec.id}/bundles/d-1.tar.gz",
        f"deployments/{spec.id}/bundles/d-2.tar.gz",
    ]
    calls = helm_calls(helm)[1:]  # after apply's own
    assert calls[1]["argv"][-4:] == ["--wait", "--atomic", "--timeout", "10m"]
    values = yaml.safe_load(calls[1]["values"])
    init_env = {e["name"]: e["value"] for e in values["scheduler"]["extraInitContainers"][0]["env"]}
    assert init_env["FLIGHTDECK_BUNDLE_KEY"] == f"deployments/{spec.id}/bundles/d-2.tar.gz"
    assert api.body(f"{NS}/configmaps/flightdeck-state")["data"] == {"deployId": "d-2"}


def test_a_failed_rollout_leaves_the_previous_deploy_serving(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    spec = make_spec()
    runtime.apply(spec, customer[1])
    runtime.deploy_code(spec, bundle(tmp_path, {"dags/a.py": DAG}, "d-1"))
    monkeypatch.setenv("FAKE_HELM_FAIL", "1")
    with pytest.raises(RuntimeError_, match="UPGRADE FAILED"):
        runtime.deploy_code(spec, bundle(tmp_path, {"dags/a.py": DAG}, "d-2"))
    assert api.body(f"{NS}/configmaps/flightdeck-state")["data"] == {"deployId": "d-1"}


@pytest.mark.parametrize(
    ("files", "problem_file", "problem"),
    [
        ({"dags/bad.py": "def broken(:\n"}, "dags/bad.py", "invalid syntax"),
        ({"include/x.txt": "x"}, "dags/", "no dags/ folder"),
        ({"dags/a.py": DAG, "../escape.py": DAG}, "../escape.py", "path leaves the bundle"),
    ],
)
def test_a_bad_bundle_is_rejected_before_anything_changes(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    tmp_path: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
    files: dict[str, str],
    problem_file: str,
    problem: str,
) -> None:
    with pytest.raises(CodeRejected) as caught:
        runtime.deploy_code(make_spec(), bundle(tmp_path, files))
    assert problem in caught.value.errors[problem_file]
    session, cluster = customer
    listed = session.client("s3", endpoint_url=cluster.aws_endpoint_url).list_objects_v2(
        Bucket=cluster.log_bucket
    )
    assert listed["KeyCount"] == 0
    assert api.requests == [] and helm_calls(helm) == []


def test_a_symlink_or_a_non_archive_is_rejected(runtime: KubernetesRuntime, tmp_path: Path) -> None:
    archive = tmp_path / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("dags/passwd.py")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(CodeRejected) as caught:
        runtime.deploy_code(make_spec(), CodeBundle("d-1", archive))
    assert "links" in caught.value.errors["dags/passwd.py"]
    text = tmp_path / "plain.tar.gz"
    text.write_text("not an archive")
    with pytest.raises(CodeRejected, match=r"not a readable \.tar\.gz"):
        runtime.deploy_code(make_spec(), CodeBundle("d-2", text))


def test_full_deploys_are_refused_with_the_alternative(
    runtime: KubernetesRuntime, tmp_path: Path
) -> None:
    full = replace(bundle(tmp_path, {"dags/a.py": DAG}), kind="full")
    with pytest.raises(RuntimeError_, match="deploy DAGs only"):
        runtime.deploy_code(make_spec(), full)


def test_forgetting_pruned_bundles_deletes_only_their_s3_copies(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    tmp_path: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    session, cluster = customer
    spec = make_spec()
    runtime.apply(spec, cluster)
    for deploy_id in ("d-1", "d-2", "d-3"):
        runtime.deploy_code(spec, bundle(tmp_path, {"dags/a.py": DAG}, deploy_id))
    runtime.forget_bundles(spec, ["d-1", "d-2", "d-gone"])  # a copy already gone is fine
    s3 = session.client("s3", endpoint_url=cluster.aws_endpoint_url)
    left = s3.list_objects_v2(Bucket=cluster.log_bucket, Prefix="deployments/")["Contents"]
    assert [o["Key"] for o in left] == [f"deployments/{spec.id}/bundles/d-3.tar.gz"]


# -- logs ------------------------------------------------------------------------------------
def pod(
    name: str, component: str, phase: str = "Running", start: str = "2026-12-01T13:00:00Z"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"component": component, "release": "airflow"}},
        "status": {"phase": phase, "startTime": start},
    }


def test_logs_read_each_components_pods_in_the_namespace_masked(
    runtime: KubernetesRuntime, api: FakeApiServer
) -> None:
    spec = make_spec()
    pods = f"/api/v1/namespaces/{k8s_objects.namespace_name(spec)}/pods"
    api.lists[pods] = [
        pod("airflow-scheduler-0", "scheduler"),
        pod("airflow-scheduler-1", "scheduler", start="2026-12-01T13:05:00Z"),
        pod("airflow-scheduler-2", "scheduler", phase="Pending"),
        pod("airflow-triggerer-0", "triggerer"),
        pod("airflow-worker-0", "worker"),
    ]
    api.logs[f"{pods}/airflow-scheduler-0/log"] = (
        "2026-12-01T14:00:00.000000001Z scheduler zero started\n"
        f"2026-12-01T14:00:02.5Z token is {SECRET_VALUE}\n"
    )
    api.logs[f"{pods}/airflow-scheduler-1/log"] = "2026-12-01T14:00:01.123456789Z scheduler one\n"
    api.logs[f"{pods}/airflow-triggerer-0/log"] = "2026-12-01T14:00:03Z triggerer up\n"

    read = runtime.read_logs(spec, ("scheduler",), tail=100)
    assert [(line.component, line.line) for line in read.lines] == [
        ("scheduler", "scheduler zero started"),
        ("scheduler", "scheduler one"),
        ("scheduler", "token is ***"),
    ]
    assert SECRET_VALUE not in json.dumps([line.line for line in read.lines])
    gets = [r for r in api.requests if r.method == "GET" and r.url.path.startswith(pods)]
    listing, *reads = gets
    assert listing.url.path == pods  # the Deployment's own namespace, nothing cluster-wide
    assert listing.url.params["labelSelector"] == "component=scheduler,release=airflow"
    assert [r.url.path for r in reads] == [
        f"{pods}/airflow-scheduler-0/log",
        f"{pods}/airflow-scheduler-1/log",
    ]  # the pending pod has no log yet
    for request in reads:
        assert dict(request.url.params) == {
            "container": "scheduler",
            "timestamps": "true",
            "follow": "false",
            "tailLines": "100",
            "limitBytes": str(1024 * 1024),
        }
    assert read.offsets["scheduler"] == int(
        datetime(2026, 12, 1, 14, 0, 2, 500000, tzinfo=UTC).timestamp() * 1_000_000
    )


def test_following_logs_asks_only_for_the_seconds_since_the_last_line(
    runtime: KubernetesRuntime, api: FakeApiServer
) -> None:
    spec = make_spec()
    pods = f"/api/v1/namespaces/{k8s_objects.namespace_name(spec)}/pods"
    api.lists[pods] = [pod("airflow-triggerer-0", "triggerer")]
    now = datetime.now(UTC)
    earlier, later = now - timedelta(seconds=30), now - timedelta(seconds=5)
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    api.logs[f"{pods}/airflow-triggerer-0/log"] = (
        f"{earlier.strftime(stamp)} first\n{later.strftime(stamp)} second\n"
    )
    first = runtime.read_logs(spec, ("triggerer",), since=now - timedelta(minutes=10), tail=50)
    assert [line.line for line in first.lines] == ["first", "second"]
    request = [r for r in api.requests if r.url.path.endswith("/log")][-1]
    assert 600 <= int(request.url.params["sinceSeconds"]) <= 700
    # Given the cursor back: only what came after the last line read.
    again = runtime.read_logs(spec, ("triggerer",), tail=50, offsets=first.offsets)
    assert again.lines == ()
    request = [r for r in api.requests if r.url.path.endswith("/log")][-1]
    assert 5 <= int(request.url.params["sinceSeconds"]) <= 60
    assert request.url.params["follow"] == "false"


@pytest.mark.parametrize(
    ("version", "component", "chart_name"),
    [("3.0.2", "api-server", "api-server"), ("2.10.5", "api-server", "webserver"),
     ("3.0.2", "dag-processor", "dag-processor"), ("3.0.2", "worker", "worker")],
)  # fmt: skip
def test_each_component_is_found_by_the_charts_label(
    runtime: KubernetesRuntime, api: FakeApiServer, version: str, component: str, chart_name: str
) -> None:
    spec = make_spec(airflow_version=version)
    pods = f"/api/v1/namespaces/{k8s_objects.namespace_name(spec)}/pods"
    api.lists[pods] = [pod("p-0", chart_name)]
    api.logs[f"{pods}/p-0/log"] = "2026-12-01T14:00:00Z hello\n"
    read = runtime.read_logs(spec, (component,), tail=10)
    assert [(line.component, line.line) for line in read.lines] == [(component, "hello")]
    request = [r for r in api.requests if r.url.path.endswith("/log")][-1]
    assert request.url.params["container"] == chart_name


def test_airflow2_has_no_dag_processor_logs_to_read(
    runtime: KubernetesRuntime, api: FakeApiServer
) -> None:
    read = runtime.read_logs(make_spec(airflow_version="2.10.5"), ("dag-processor",), tail=10)
    assert read.lines == ()
    assert not [r for r in api.requests if "/pods" in r.url.path]


# -- delete ----------------------------------------------------------------------------------
def test_delete_removes_namespace_database_and_s3_prefix_and_can_repeat(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    tmp_path: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    session, cluster = customer
    spec = make_spec()
    runtime.apply(spec, cluster)
    runtime.deploy_code(spec, bundle(tmp_path, {"dags/a.py": DAG}))
    s3 = session.client("s3", endpoint_url=cluster.aws_endpoint_url)
    s3.put_object(Bucket=cluster.log_bucket, Key=f"deployments/{spec.id}/logs/x.log", Body=b"x")
    s3.put_object(Bucket=cluster.log_bucket, Key="deployments/other/bundles/keep.tar.gz", Body=b"")

    runtime.delete(spec)
    deleted = [r.url.path for r in api.requests if r.method == "DELETE"]
    assert deleted == [
        NS,
        f"/apis/batch/v1/namespaces/flightdeck-system/jobs/metadata-create-{spec.id}",
    ]
    drop = api.body(f"/apis/batch/v1/namespaces/flightdeck-system/jobs/metadata-drop-{spec.id}")
    script = drop["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert 'DROP DATABASE IF EXISTS :"database" WITH (FORCE);' in script
    left = s3.list_objects_v2(Bucket=cluster.log_bucket)["Contents"]
    assert [o["Key"] for o in left] == ["deployments/other/bundles/keep.tar.gz"]
    runtime.delete(spec)  # nothing left: still fine


# -- paths -----------------------------------------------------------------------------------
def test_object_paths_follow_the_api_groups() -> None:
    spec = make_spec()
    cluster = replace(ClusterOutputs("c", "n", "us-east-1", "1"), db_endpoint="db", log_bucket="b")
    paths = {
        o["kind"] + ":" + o["metadata"]["name"]: object_path(o)
        for o in k8s_objects.render_objects(spec, cluster)
    }
    assert paths["NetworkPolicy:flightdeck-isolation"].startswith("/apis/networking.k8s.io/v1/")
    assert paths[f"Job:metadata-create-{spec.id}"].startswith("/apis/batch/v1/namespaces/")
    assert paths["Namespace:flightdeck-system"] == "/api/v1/namespaces/flightdeck-system"
    with pytest.raises(RuntimeError_, match="does not apply Pod"):
        object_path({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}})


def test_a_hibernated_apply_scales_the_chart_to_zero_and_starts_no_pod_of_its_own(
    runtime: KubernetesRuntime,
    api: FakeApiServer,
    helm: Path,
    customer: tuple[boto3.Session, ClusterOutputs],
) -> None:
    _, cluster = customer
    awake = make_spec()
    asleep = replace(awake, hibernated=True)
    runtime.apply(asleep, cluster)
    applied = [r.url.path for r in api.patches()]
    assert not any("/jobs/" in path for path in applied)  # no bootstrap pod while asleep
    assert f"{NS}/secrets/flightdeck-metadata" in applied  # its Secrets stay in place
    (call,) = helm_calls(helm)
    values = yaml.safe_load(call["values"])
    assert values == helm_values.render_values(
        asleep, cluster, workload_role_arn=ROLE_ARN, autoscaling_available=False)
    scaled = [name for name in helm_values.SCALED_COMPONENTS if "replicas" in values.get(name, {})]
    assert scaled and all(values[name]["replicas"] == 0 for name in scaled)

    runtime.apply(awake, cluster)  # waking renders the normal values back, bootstrap included
    woken = yaml.safe_load(helm_calls(helm)[-1]["values"])
    assert woken == helm_values.render_values(
        awake, cluster, workload_role_arn=ROLE_ARN, autoscaling_available=False)
    assert woken["scheduler"]["replicas"] == awake.scheduler_count
    assert any("/jobs/metadata-create-" in r.url.path for r in api.patches())

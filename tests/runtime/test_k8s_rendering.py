"""What the kubernetes runtime renders: objects checked against the Kubernetes OpenAPI schemas
(kubernetes-validate, strict), Helm values per executor, size and Airflow major version,
quota arithmetic, secrets kept out of everything rendered, and bad input refused by name."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pytest
import yaml

from flightdeck.runtime import k8s_objects, k8s_sizing
from flightdeck.runtime.base import (
    SCHEDULER_RESOURCES,
    SCHEDULER_SIZES,
    ClusterOutputs,
    DeploymentSpec,
    RuntimeError_,
    WorkerQueue,
)
from flightdeck.runtime.kubernetes import render, render_values

KUBERNETES_VERSION = "1.32.0"  # what provisioning creates (ClusterSpec.kubernetes_version)
SECRET_VALUE = "s3cr3t-value-never-rendered"
ROLE_ARN = "arn:aws:iam::111122223333:role/flightdeck-workload"


def make_spec(**changes: Any) -> DeploymentSpec:
    spec = DeploymentSpec(
        id="0b5c3f0e-8a55-4a43-9d0e-7a4d1e2c9f10",
        name="etl",
        organization_id="9f1d2e3c-0000-4000-8000-000000000001",
        airflow_version="3.0.2",
        environment={"TEAM": "data", "LOG_LEVEL": "INFO"},
        secret_environment={"API_TOKEN": SECRET_VALUE},
    )
    return replace(spec, **changes)


def make_cluster(**changes: Any) -> ClusterOutputs:
    cluster = ClusterOutputs(
        cluster_id="c-1",
        name="prod",
        region="us-east-1",
        account_id="111122223333",
        eks_cluster_name="flightdeck-c-1",
        db_instance_arn="arn:aws:rds:us-east-1:111122223333:db:flightdeck-c-1",
        db_endpoint="flightdeck-c-1.abc.us-east-1.rds.amazonaws.com",
        db_port=5432,
        log_bucket="flightdeck-logs-111122223333-c-1",
        node_groups=("system", "workers"),
    )
    return replace(cluster, **changes)


def material(spec: DeploymentSpec, cluster: ClusterOutputs) -> k8s_objects.SecretMaterial:
    return k8s_objects.derive_material(b"k" * 32, spec, cluster, "admin", "master-pw-123")


VARIANTS = [
    pytest.param("CeleryExecutor", "3.0.2", id="celery-airflow3"),
    pytest.param("KubernetesExecutor", "3.0.2", id="kubernetes-airflow3"),
    pytest.param("CeleryExecutor", "2.10.5", id="celery-airflow2"),
    pytest.param("KubernetesExecutor", "2.10.5", id="kubernetes-airflow2"),
]


# -- schemas ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("executor", "version"), VARIANTS)
def test_rendered_and_applied_objects_are_valid_kubernetes(executor: str, version: str) -> None:
    spec = make_spec(executor=executor, airflow_version=version)
    cluster = make_cluster()
    shown = render(spec, cluster)
    applied = k8s_objects.render_objects(spec, cluster, material(spec, cluster), "d-1")
    kinds = [o["kind"] for o in shown]
    assert kinds == [
        "Namespace",
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Secret",
        "Secret",
        "Secret",
        "ConfigMap",
        "Secret",
        "Job",
    ]
    for obj in [*shown, *applied]:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_broken_object_is_caught_by_the_schema_check() -> None:
    """The check above can fail: a misspelt field is refused in strict mode."""
    quota = k8s_objects.resource_quota(make_spec())
    quota["spec"]["hardd"] = quota["spec"].pop("hard")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(quota, KUBERNETES_VERSION, strict=True)


def test_namespace_carries_organization_and_deployment_ids() -> None:
    spec = make_spec()
    ns = k8s_objects.namespace(spec)
    assert ns["metadata"]["name"] == f"flightdeck-{spec.id}"
    assert ns["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "flightdeck",
        "flightdeck.io/organization-id": spec.organization_id,
        "flightdeck.io/deployment-id": spec.id,
    }
    # Every namespaced object lands in that namespace or in flightdeck's own.
    for obj in render(spec, make_cluster()):
        if obj["kind"] == "Namespace":
            continue
        assert obj["metadata"]["namespace"] in (ns["metadata"]["name"], "flightdeck-system")


def test_network_policy_admits_only_the_namespace_and_blocks_instance_metadata() -> None:
    policy = k8s_objects.network_policy(make_spec())["spec"]
    assert policy["podSelector"] == {}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    sources = policy["ingress"][0]["from"]
    assert {"podSelector": {}} in sources
    namespaces = [
        s["namespaceSelector"]["matchLabels"] for s in sources if "namespaceSelector" in s
    ]
    assert namespaces == [{"kubernetes.io/metadata.name": "flightdeck-system"}]
    blocks = [t["ipBlock"] for rule in policy["egress"] for t in rule["to"] if "ipBlock" in t]
    assert blocks == [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}]


# -- quota -----------------------------------------------------------------------------------
def test_quota_for_celery_on_airflow3_small() -> None:
    """By hand: scheduler 2x(1.1 vCPU, 2.125 GiB), api-server 2x(1, 2), triggerer 2x(0.6,
    1.125), migrations 1x(0.5, 1), dag-processor 2x(1.1, 2.125), workers (10 + 3 surge) x
    (5 slots = 2.5 + groomer 0.1, 5 + 0.125), redis 1x(0.5, 1)."""
    spec = make_spec(worker_queue=WorkerQueue(min_workers=1, max_workers=10, tasks_per_worker=5))
    hard = k8s_objects.resource_quota(spec)["spec"]["hard"]
    assert hard["pods"] == "23"
    assert hard["requests.cpu"] == hard["limits.cpu"] == "42400m"
    assert hard["requests.memory"] == hard["limits.memory"] == f"{round(83.375 * 1024)}Mi"
    assert hard["services.loadbalancers"] == "0"


def test_quota_for_kubernetes_executor_on_airflow2_large() -> None:
    """By hand: scheduler (2 + 1 surge) x (4.1, 8.125), webserver 2x(1, 2), triggerer 2x(0.6,
    1.125), migrations 1x(0.5, 1), task pods 4 workers x 3 tasks = 12 x (0.5, 1)."""
    spec = make_spec(
        executor="KubernetesExecutor",
        airflow_version="2.10.5",
        scheduler_size="large",
        scheduler_count=2,
        worker_queue=WorkerQueue(min_workers=1, max_workers=4, tasks_per_worker=3),
    )
    hard = k8s_objects.resource_quota(spec)["spec"]["hard"]
    assert hard["pods"] == "20"
    assert hard["requests.cpu"] == "22000m"
    assert hard["requests.memory"] == f"{round(43.625 * 1024)}Mi"


def test_quota_grows_with_max_workers_and_its_surge() -> None:
    base = make_spec(worker_queue=WorkerQueue(min_workers=1, max_workers=4, tasks_per_worker=2))
    more = make_spec(worker_queue=WorkerQueue(min_workers=1, max_workers=5, tasks_per_worker=2))
    a, b = k8s_sizing.quota_plan(base), k8s_sizing.quota_plan(more)
    # 4 -> 5 workers: one more worker, and the surge goes from ceil(4/4) = 1 to ceil(5/4) = 2.
    assert b.pods - a.pods == 2
    worker = k8s_sizing.worker_resources(base).plus(k8s_sizing.LOG_GROOMER)
    assert b.total.cpu - a.total.cpu == pytest.approx(2 * worker.cpu)


def test_every_sized_container_fits_the_limit_range_and_values_match_the_quota_table() -> None:
    spec = make_spec(scheduler_size="large")
    values = render_values(spec, make_cluster())
    limit = k8s_objects.limit_range(spec)["spec"]["limits"][0]["max"]

    def millis(q: str) -> int:
        return int(q.removesuffix("m"))

    def mebis(q: str) -> int:
        return int(q.removesuffix("Mi"))

    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"requests", "limits"}:
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(values)
    assert len(found) >= 10
    for resources in found:
        assert millis(resources["limits"]["cpu"]) <= millis(limit["cpu"])
        assert mebis(resources["limits"]["memory"]) <= mebis(limit["memory"])
    assert values["scheduler"]["resources"] == k8s_sizing.scheduler_resources(spec).as_k8s()


# -- values ----------------------------------------------------------------------------------
def test_celery_on_airflow3_values() -> None:
    spec = make_spec(worker_queue=WorkerQueue(min_workers=2, max_workers=8, tasks_per_worker=4))
    cluster = make_cluster()
    values = render_values(spec, cluster, deploy_id="d-42", workload_role_arn=ROLE_ARN)
    assert values["executor"] == "CeleryExecutor"
    assert values["airflowVersion"] == values["defaultAirflowTag"] == "3.0.2"
    assert values["images"]["airflow"] == {"repository": "apache/airflow", "tag": "3.0.2"}
    assert values["redis"]["enabled"] is True
    workers = values["workers"]
    assert workers["replicas"] == 2
    assert workers["keda"] == {
        "enabled": True,
        "usePgbouncer": False,
        "minReplicaCount": 2,
        "maxReplicaCount": 8,
    }
    assert values["config"]["celery"]["worker_concurrency"] == "4"
    assert values["config"]["core"]["parallelism"] == "32"
    assert workers["resources"]["requests"] == {"cpu": "2000m", "memory": "4096Mi"}
    # Airflow 3: api-server, standalone dag-processor, API and JWT keys; no webserver.
    assert values["apiServer"]["replicas"] == 1
    assert values["dagProcessor"]["enabled"] is True
    assert values["apiSecretKeySecretName"] == values["jwtSecretName"] == "flightdeck-airflow-keys"
    assert "webserver" not in values and "webserverSecretKeySecretName" not in values


def test_celery_without_room_to_scale_or_without_keda_keeps_fixed_workers() -> None:
    fixed = make_spec(worker_queue=WorkerQueue(min_workers=3, max_workers=3))
    values = render_values(fixed, make_cluster())
    assert values["workers"]["replicas"] == 3
    assert values["workers"]["keda"]["enabled"] is False
    from flightdeck.runtime.helm_values import render_values as full_render

    no_keda = full_render(make_spec(), make_cluster(), autoscaling_available=False)
    assert no_keda["workers"]["keda"]["enabled"] is False
    assert no_keda["workers"]["replicas"] == 1


def test_kubernetes_executor_values_have_no_celery_and_size_task_pods() -> None:
    spec = make_spec(
        executor="KubernetesExecutor",
        worker_queue=WorkerQueue(min_workers=1, max_workers=6, tasks_per_worker=2),
    )
    values = render_values(spec, make_cluster())
    assert values["executor"] == "KubernetesExecutor"
    assert values["redis"]["enabled"] is False
    assert "celery" not in values["config"]
    assert "replicas" not in values["workers"] and "keda" not in values["workers"]
    assert values["workers"]["resources"] == k8s_sizing.TASK_SLOT.as_k8s()
    assert values["config"]["core"]["parallelism"] == "12"


def test_airflow2_values_use_the_webserver_and_the_scheduler_parses() -> None:
    values = render_values(make_spec(airflow_version="2.10.5"), make_cluster())
    assert values["webserver"]["replicas"] == 1
    assert values["webserverSecretKeySecretName"] == "flightdeck-airflow-keys"
    assert values["dagProcessor"] == {"enabled": False}
    assert "apiServer" not in values and "jwtSecretName" not in values
    assert values["scheduler"]["extraInitContainers"][0]["name"] == "fetch-dags"


@pytest.mark.parametrize("size", SCHEDULER_SIZES)
def test_scheduler_size_and_count(size: str) -> None:
    values = render_values(make_spec(scheduler_size=size, scheduler_count=3), make_cluster())
    cpu, memory = SCHEDULER_RESOURCES[size]  # type: ignore[index]
    scheduler = values["scheduler"]
    assert scheduler["replicas"] == 3
    assert scheduler["resources"]["requests"] == {
        "cpu": f"{round(cpu * 1000)}m",
        "memory": f"{round(memory * 1024)}Mi",
    }
    assert scheduler["resources"]["limits"] == scheduler["resources"]["requests"]


def test_database_logging_node_group_and_dag_delivery() -> None:
    spec = make_spec()
    cluster = make_cluster()
    values = render_values(spec, cluster, deploy_id="d-7")
    assert values["postgresql"] == {"enabled": False}
    assert values["data"] == {"metadataSecretName": "flightdeck-metadata"}
    assert values["fernetKeySecretName"] == "flightdeck-airflow-keys"
    logging = values["config"]["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_base_log_folder"] == (
        f"s3://{cluster.log_bucket}/deployments/{spec.id}/logs"
    )
    assert values["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "workers"}
    assert values["dags"]["gitSync"] == {"enabled": False}
    assert values["dags"]["persistence"] == {"enabled": False}
    assert values["createUserJob"] == {"enabled": False}
    assert values["airflowPodAnnotations"] == {"flightdeck.io/deploy-id": "d-7"}
    for component in ("scheduler", "workers", "triggerer", "dagProcessor"):
        (init,) = values[component]["extraInitContainers"]
        env = {e["name"]: e["value"] for e in init["env"]}
        assert env["FLIGHTDECK_BUNDLE_BUCKET"] == cluster.log_bucket
        assert env["FLIGHTDECK_BUNDLE_KEY"] == f"deployments/{spec.id}/bundles/d-7.tar.gz"
        assert init["volumeMounts"] == [{"name": "dags", "mountPath": "/opt/airflow/dags"}]


def test_a_new_deploy_id_changes_every_pod_template_and_nothing_else() -> None:
    spec, cluster = make_spec(), make_cluster()
    before = render_values(spec, cluster, deploy_id="d-1")
    after = render_values(spec, cluster, deploy_id="d-2")
    changed = sorted(k for k in before if before[k] != after[k])
    assert changed == ["airflowPodAnnotations", "dagProcessor", "scheduler", "triggerer", "workers"]
    nothing = render_values(spec, cluster)
    env = {e["name"]: e["value"] for e in nothing["scheduler"]["extraInitContainers"][0]["env"]}
    assert env["FLIGHTDECK_BUNDLE_KEY"] == ""


def test_irsa_annotations_only_when_a_role_is_known() -> None:
    spec, cluster = make_spec(), make_cluster()
    with_role = render_values(spec, cluster, workload_role_arn=ROLE_ARN)
    without = render_values(spec, cluster)
    for component in ("scheduler", "workers", "triggerer", "dagProcessor", "apiServer"):
        assert with_role[component]["serviceAccount"]["annotations"] == {
            "eks.amazonaws.com/role-arn": ROLE_ARN
        }
        assert without[component]["serviceAccount"]["annotations"] == {}


def test_environment_plain_in_values_secret_by_reference() -> None:
    values = render_values(make_spec(), make_cluster())
    assert values["env"] == [
        {"name": "LOG_LEVEL", "value": "INFO"},
        {"name": "TEAM", "value": "data"},
        {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"},
    ]
    assert values["secret"] == [
        {"envName": "API_TOKEN", "secretName": "flightdeck-env", "secretKey": "API_TOKEN"}
    ]


# -- secrets ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("executor", "version"), VARIANTS)
def test_no_secret_value_in_values_or_rendered_manifests(executor: str, version: str) -> None:
    spec = make_spec(executor=executor, airflow_version=version)
    cluster = make_cluster()
    secrets = material(spec, cluster)
    shown = yaml.safe_dump(
        render_values(spec, cluster, deploy_id="d") | {"o": render(spec, cluster)}
    )
    values = [
        SECRET_VALUE,
        secrets.metadata_connection,
        secrets.fernet_key,
        secrets.api_secret_key,
        secrets.jwt_secret,
        secrets.webserver_secret_key,
        secrets.database_password,
        secrets.master_password,
    ]
    for value in values:
        assert value not in shown
    assert "master-pw-123" not in repr(secrets)
    # ... while the objects handed to the API carry them (base64 in data).
    applied = json.dumps(k8s_objects.render_objects(spec, cluster, secrets, "d"))
    for value in values:
        assert base64.b64encode(value.encode()).decode() in applied


def test_derived_secrets_are_stable_per_deployment_and_distinct_across_deployments() -> None:
    cluster = make_cluster()
    first = material(make_spec(), cluster)
    again = material(make_spec(), cluster)
    other = material(make_spec(id="1c0e6a43-27e1-4bd4-9c57-0d5cf3f1a001"), cluster)
    assert first == again
    assert first.fernet_key != other.fernet_key
    assert first.database_password != other.database_password
    assert len(base64.urlsafe_b64decode(first.fernet_key)) == 32  # what Fernet requires
    assert first.metadata_connection == (
        f"postgresql://airflow_0b5c3f0e_8a55_4a43_9d0e_7a4d1e2c9f10:{first.database_password}"
        f"@{cluster.db_endpoint}:5432/airflow_0b5c3f0e_8a55_4a43_9d0e_7a4d1e2c9f10"
        "?sslmode=require"
    )


# -- bad input -------------------------------------------------------------------------------
def test_cluster_without_rds_endpoint_is_refused_by_name() -> None:
    with pytest.raises(RuntimeError_, match=r"db_endpoint \(the RDS endpoint") as caught:
        render_values(make_spec(), make_cluster(db_endpoint=None))
    assert "wait until" in str(caught.value)
    with pytest.raises(RuntimeError_, match=r"db_endpoint .*; log_bucket"):
        render(make_spec(), make_cluster(db_endpoint=None, log_bucket=None))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"airflow_version": "1.10.15"}, "airflow_version '1.10.15'"),
        (
            {"environment": {"API_TOKEN": "x"}, "secret_environment": {"API_TOKEN": "y"}},
            "API_TOKEN is set both as plain and as secret",
        ),
        (
            {"worker_queue": WorkerQueue(min_workers=5, max_workers=2)},
            r"min_workers \(5\) must be at least 1 and at most max_workers \(2\)",
        ),
    ],
)
def test_bad_specs_are_refused_with_the_field_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RuntimeError_, match=message):
        render_values(make_spec(**changes), make_cluster())


def test_no_worker_node_group_means_no_node_selector() -> None:
    assert k8s_objects.worker_node_selector(make_cluster(node_groups=())) == {}
    assert k8s_objects.worker_node_selector(make_cluster(node_groups=("system", "gpu"))) == {
        "eks.amazonaws.com/nodegroup": "gpu"
    }


def test_a_hibernated_release_is_hibernating_only_once_no_workload_has_a_pod() -> None:
    from flightdeck.runtime.kubernetes import asleep_status

    def workload(component: str, replicas: int, running: int) -> dict[str, Any]:
        return {"metadata": {"name": component, "labels": {"component": component}},
                "spec": {"replicas": replicas}, "status": {"replicas": running}}

    draining = asleep_status([workload("scheduler", 0, 1), workload("triggerer", 0, 0)], "d-1")
    assert (draining.health, draining.message) == ("creating", "scaling to zero: scheduler")
    asleep = asleep_status([workload("scheduler", 0, 0), workload("triggerer", 0, 0)], "d-1")
    assert asleep.health == "hibernating" and asleep.deploy_id == "d-1"


# -- worker queues ---------------------------------------------------------------------------
def test_each_extra_queue_is_a_chart_worker_set_with_its_own_size_nodes_and_concurrency() -> None:
    spec = make_spec(
        worker_queue=WorkerQueue(min_workers=1, max_workers=4, tasks_per_worker=5),
        extra_queues=(
            WorkerQueue("highcpu", 2, 6, 2, "c6i.4xlarge"),
            WorkerQueue("reports", 1, 1, 8),
        ),
    )
    values = render_values(spec, make_cluster())
    workers = values["workers"]
    assert workers["replicas"] == 1 and workers["celery"]["queue"] == "default"
    assert "nodeSelector" not in workers  # the worker node group, from the top level
    assert values["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "workers"}
    highcpu, reports = workers["celery"]["sets"]
    assert highcpu["name"] == highcpu["queue"] == "highcpu"
    assert highcpu["replicas"] == 2
    assert highcpu["keda"] == {
        "enabled": True,
        "usePgbouncer": False,
        "minReplicaCount": 2,
        "maxReplicaCount": 6,
    }
    assert highcpu["nodeSelector"] == {"node.kubernetes.io/instance-type": "c6i.4xlarge"}
    assert highcpu["resources"] == k8s_sizing.TASK_SLOT.times(2).as_k8s()
    assert highcpu["env"] == [{"name": "AIRFLOW__CELERY__WORKER_CONCURRENCY", "value": "2"}]
    assert reports["keda"]["enabled"] is False and reports["replicas"] == 1
    assert reports["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "workers"}
    # parallelism: 4x5 + 6x2 + 1x8
    assert values["config"]["core"]["parallelism"] == "40"
    assert values["config"]["celery"]["worker_concurrency"] == "5"


def test_the_default_queue_can_be_pinned_to_an_instance_type() -> None:
    spec = make_spec(worker_queue=WorkerQueue(instance_type="m5.2xlarge"))
    workers = render_values(spec, make_cluster())["workers"]
    assert workers["nodeSelector"] == {"node.kubernetes.io/instance-type": "m5.2xlarge"}


def test_quota_and_limits_count_every_queue() -> None:
    one = make_spec(worker_queue=WorkerQueue(min_workers=1, max_workers=4, tasks_per_worker=2))
    two = replace(one, extra_queues=(WorkerQueue("big", 1, 4, 16),))
    a, b = k8s_sizing.quota_plan(one), k8s_sizing.quota_plan(two)
    big = k8s_sizing.TASK_SLOT.times(16).plus(k8s_sizing.LOG_GROOMER)
    assert b.pods - a.pods == 4 + 1  # its max workers and its surge
    assert b.total.cpu - a.total.cpu == pytest.approx(5 * big.cpu)
    assert "celery worker big" in [line.what for line in b.lines]
    largest = k8s_objects.limit_range(two)["spec"]["limits"][0]["max"]
    assert largest["cpu"] == k8s_sizing.TASK_SLOT.times(16).cpu_quantity


def test_extra_queues_need_the_celery_executor() -> None:
    spec = make_spec(executor="KubernetesExecutor", extra_queues=(WorkerQueue("highcpu"),))
    with pytest.raises(RuntimeError_, match="worker_queues: only the CeleryExecutor has queues"):
        render_values(spec, make_cluster())


def test_hibernation_scales_every_queue_to_zero() -> None:
    spec = make_spec(extra_queues=(WorkerQueue("highcpu", 2, 6, 2),), hibernated=True)
    sets = render_values(spec, make_cluster())["workers"]["celery"]["sets"]
    assert [(s["replicas"], s["keda"]["enabled"]) for s in sets] == [(0, False)]


@pytest.mark.parametrize(("executor", "version"), VARIANTS)
def test_every_airflow_service_account_gets_the_workload_role(executor: str, version: str) -> None:
    spec = make_spec(executor=executor, airflow_version=version)
    values = render_values(spec, make_cluster(), workload_role_arn=ROLE_ARN)
    web = "apiServer" if version.startswith("3") else "webserver"
    components = ["scheduler", "workers", "triggerer", web]
    if version.startswith("3"):
        components.append("dagProcessor")
    for component in components:
        account = values[component]["serviceAccount"]
        assert account == {"create": True, "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN}}
    # A queue's worker set overrides no service account: it runs as the workers do.
    queued = make_spec(extra_queues=(WorkerQueue("highcpu"),))
    sets = render_values(queued, make_cluster(), workload_role_arn=ROLE_ARN)["workers"]["celery"][
        "sets"
    ]
    assert all("serviceAccount" not in s for s in sets)

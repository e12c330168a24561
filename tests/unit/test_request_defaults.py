"""Every surface of a cluster or Deployment request reads one table of defaults and limits:
the API schema, the services' request, the CLI's options and the engine's spec agree."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import typer

from flightdeck import airflow_versions
from flightdeck.api import schemas
from flightdeck.aws import reference
from flightdeck.aws.provision.spec import ClusterSpec, InvalidClusterSpec
from flightdeck.cli import cluster_cmd, deployment_cmd
from flightdeck.devenv import project
from flightdeck.runtime import base as deployment
from flightdeck.services.clusters.requests import ClusterRequest
from flightdeck.services.deployments.requests import DeploymentRequest

CLUSTER_DEFAULTS = {
    "region": reference.DEFAULT_REGION,
    "node_instance_type": reference.DEFAULT_NODE_INSTANCE_TYPE,
    "max_nodes": reference.DEFAULT_MAX_NODES,
    "db_instance_type": reference.DEFAULT_DB_INSTANCE_TYPE,
    "vpc_cidr": reference.DEFAULT_VPC_CIDR,
}
DEPLOYMENT_DEFAULTS = {
    "executor": deployment.DEFAULT_EXECUTOR,
    "scheduler_size": deployment.DEFAULT_SCHEDULER_SIZE,
    "scheduler_count": deployment.DEFAULT_SCHEDULER_COUNT,
    "min_workers": deployment.DEFAULT_MIN_WORKERS,
    "max_workers": deployment.DEFAULT_MAX_WORKERS,
    "tasks_per_worker": deployment.DEFAULT_TASKS_PER_WORKER,
}


def cli_defaults(app: typer.Typer, command: str) -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return {p.name: p.default for p in group.commands[command].params if p.name}


def schema_defaults(model: type[schemas.Input]) -> dict[str, Any]:
    return {name: f.default for name, f in model.model_fields.items()}


def dataclass_defaults(cls: type) -> dict[str, Any]:
    return {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }


def test_the_reference_table_serves_the_defaults_and_limits() -> None:
    document = reference.as_document()
    assert document["defaults"] == CLUSTER_DEFAULTS
    assert document["limits"] == {"max_nodes": reference.MAX_NODES_LIMIT}
    assert reference.DEFAULT_REGION in reference.REGIONS
    assert reference.DEFAULT_NODE_INSTANCE_TYPE in reference.NODE_INSTANCE_TYPES
    assert reference.DEFAULT_DB_INSTANCE_TYPE in reference.DB_INSTANCE_TYPES
    assert 1 <= reference.DEFAULT_MAX_NODES <= reference.MAX_NODES_LIMIT


@pytest.mark.parametrize(
    "defaults",
    [
        pytest.param(lambda: schema_defaults(schemas.ClusterCreateIn), id="api schema"),
        pytest.param(lambda: dataclass_defaults(ClusterRequest), id="service request"),
        pytest.param(lambda: cli_defaults(cluster_cmd.app, "create"), id="cli options"),
        pytest.param(lambda: dataclass_defaults(ClusterSpec), id="engine spec"),
    ],
)
def test_every_surface_of_a_cluster_request_has_the_reference_defaults(defaults: Any) -> None:
    found = defaults()
    assert {key: found[key] for key in CLUSTER_DEFAULTS} == CLUSTER_DEFAULTS


def test_preflight_defaults_are_the_cluster_defaults() -> None:
    api = schema_defaults(schemas.PreflightIn)
    cli = cli_defaults(cluster_cmd.app, "preflight")
    assert (api["region"], api["vpc_cidr"]) == (cli["region"], cli["cidr"])
    assert api["region"] == reference.DEFAULT_REGION
    assert api["vpc_cidr"] == reference.DEFAULT_VPC_CIDR


def spec(**changes: Any) -> ClusterSpec:
    return ClusterSpec(cluster_id="c1", name="one", account_id="123456789012", **changes)


def test_the_engine_spec_enforces_the_reference_node_limit() -> None:
    assert spec(max_nodes=reference.MAX_NODES_LIMIT).max_nodes == reference.MAX_NODES_LIMIT
    with pytest.raises(InvalidClusterSpec, match=f"between 1 and {reference.MAX_NODES_LIMIT}"):
        spec(max_nodes=reference.MAX_NODES_LIMIT + 1)


def test_the_default_spec_is_valid_and_uses_a_supported_database() -> None:
    default = spec()
    assert default.db_instance_type in reference.DB_INSTANCE_TYPES
    assert default.vpc_cidr == reference.DEFAULT_VPC_CIDR


def test_opt_in_regions_are_listed_once_and_flag_the_cluster_regions() -> None:
    assert len(set(reference.OPT_IN_REGIONS)) == len(reference.OPT_IN_REGIONS) == 17
    assert not set(reference.OPT_IN_REGIONS) & set(reference.STANDARD_REGIONS)
    for name, (_display, opt_in) in reference.REGIONS.items():
        assert opt_in == (name in reference.OPT_IN_REGIONS), name
        assert name in reference.COMMERCIAL_REGIONS, name
    assert reference.is_opt_in("ap-southeast-6") and not reference.is_opt_in("ap-northeast-3")


@pytest.mark.parametrize(
    "defaults",
    [
        pytest.param(lambda: schema_defaults(schemas.DeploymentCreateIn), id="api schema"),
        pytest.param(lambda: dataclass_defaults(DeploymentRequest), id="service request"),
    ],
)
def test_every_surface_of_a_deployment_request_has_the_same_defaults(defaults: Any) -> None:
    found = defaults()
    assert {key: found[key] for key in DEPLOYMENT_DEFAULTS} == DEPLOYMENT_DEFAULTS


def test_the_deployment_cli_and_runtime_spec_have_the_same_defaults() -> None:
    cli = cli_defaults(deployment_cmd.app, "create")
    counts = ("scheduler_count", "min_workers", "max_workers", "tasks_per_worker")
    assert {key: cli[key] for key in counts} == {key: DEPLOYMENT_DEFAULTS[key] for key in counts}
    runtime = dataclass_defaults(deployment.DeploymentSpec)
    queue = dataclass_defaults(deployment.WorkerQueue)
    assert runtime["executor"] == deployment.DEFAULT_EXECUTOR
    assert runtime["scheduler_size"] == deployment.DEFAULT_SCHEDULER_SIZE
    assert runtime["scheduler_count"] == deployment.DEFAULT_SCHEDULER_COUNT
    assert (queue["min_workers"], queue["max_workers"], queue["tasks_per_worker"]) == (
        deployment.DEFAULT_MIN_WORKERS,
        deployment.DEFAULT_MAX_WORKERS,
        deployment.DEFAULT_TASKS_PER_WORKER,
    )
    assert deployment.DEFAULT_EXECUTOR in deployment.EXECUTORS
    assert deployment.DEFAULT_SCHEDULER_SIZE in deployment.SCHEDULER_SIZES


def test_one_airflow_version_policy_for_dev_and_deployments() -> None:
    assert dataclass_defaults(DeploymentRequest)["airflow_version"] == (
        airflow_versions.DEFAULT_AIRFLOW_VERSION
    )
    assert project.DEFAULT_AIRFLOW_VERSION == airflow_versions.DEFAULT_AIRFLOW_VERSION
    default = airflow_versions.DEFAULT_AIRFLOW_VERSION
    assert airflow_versions.check_exact_airflow_version(default, "airflow_version") == default
    assert project.check_airflow_version("3.1.*", "dev") == "3.1.*"  # dev accepts a series
    with pytest.raises(airflow_versions.UnsupportedAirflowVersion, match="exact version"):
        airflow_versions.check_exact_airflow_version("3.1.*", "airflow_version")
    for refused in ("2.6.3", "4.0.0", "latest"):
        with pytest.raises(airflow_versions.UnsupportedAirflowVersion, match="airflow_version"):
            airflow_versions.check_exact_airflow_version(refused, "airflow_version")


def test_the_name_and_account_id_rules_are_stated_once() -> None:
    from flightdeck.cli import options
    from flightdeck.services import validation

    name = schemas.WorkspaceCreateIn.model_json_schema()["properties"]["name"]
    assert name["maxLength"] == validation.NAME_MAX_LENGTH
    assert name["description"] == f"{validation.NAME_RULE}."
    assert f"1-{validation.NAME_MAX_LENGTH} " in validation.NAME_RULE
    problem = validation.name_problem("x" * (validation.NAME_MAX_LENGTH + 1))
    assert problem is not None and problem.endswith(f"use {validation.NAME_RULE}")
    assert validation.name_problem("x" * validation.NAME_MAX_LENGTH) is None
    with pytest.raises(reference.InvalidAccountId) as refused:
        reference.check_account_id("12345678901")
    assert refused.value.problem == f"'12345678901' is not {reference.ACCOUNT_ID_RULE}"
    with pytest.raises(typer.BadParameter) as cli_refused:
        options.account_id("12345678901")
    assert str(cli_refused.value) == refused.value.problem
    assert options.account_ref("3f2c9a7e-5b1d-4e8f-9c0a-7d6e5f4a3b2c")

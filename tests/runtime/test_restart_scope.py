"""Which components an environment change restarts: the one rule (runtime.base) and the
local runtime's reading of what changed since its last start (no Airflow needed; the real
restart of the API server alone is tests/cli/test_deployment_config_cli.py's)."""

from __future__ import annotations

from dataclasses import replace

from flightdeck.devenv.supervisor import RunState
from flightdeck.runtime.base import ClusterOutputs, DeploymentSpec, components_to_restart
from flightdeck.runtime.local import LocalRuntime, _env_digests, _fingerprint

AIRFLOW3 = ("api-server", "scheduler", "dag-processor", "triggerer")
AIRFLOW2 = ("webserver", "scheduler", "triggerer")


def test_web_only_options_restart_the_web_component_and_anything_else_all() -> None:
    assert components_to_restart(["AIRFLOW__API__EXPOSE_CONFIG"], AIRFLOW3) == ("api-server",)
    assert components_to_restart(
        ["AIRFLOW__API__WORKERS", "AIRFLOW__WEBSERVER__INSTANCE_NAME"], AIRFLOW3
    ) == ("api-server",)
    assert components_to_restart(["AIRFLOW__WEBSERVER__X"], AIRFLOW2) == ("webserver",)
    assert components_to_restart(["AIRFLOW__API__X", "TZ"], AIRFLOW3) == AIRFLOW3
    assert components_to_restart(["AIRFLOW__API_AUTH__X"], AIRFLOW3) == AIRFLOW3
    assert components_to_restart([], AIRFLOW3) == AIRFLOW3


def test_the_local_runtime_restarts_some_only_for_a_change_of_web_only_variables() -> None:
    cluster = ClusterOutputs(cluster_id="c", name="main", region="us-east-1", account_id="1")
    spec = DeploymentSpec(id="d", name="etl", organization_id="o", airflow_version="3.3.2",
                          environment={"TZ": "UTC"}, secret_environment={"K": "secret"})
    state = RunState("3.3.2", "/venv", {"api": 1}, {}, "http://127.0.0.1:1")
    salt = "s"

    def record(of: DeploymentSpec) -> dict[str, object]:
        return {"base": _fingerprint(of, cluster, salt, with_env=False),
                "env": _env_digests(of, salt)}

    def restarts(before: DeploymentSpec, after: DeploymentSpec) -> tuple[str, ...]:
        return LocalRuntime._components_to_restart(
            state, record(before), _fingerprint(after, cluster, salt, with_env=False),
            _env_digests(after, salt))

    api_only = replace(spec, environment={"TZ": "UTC", "AIRFLOW__API__EXPOSE_CONFIG": "False"})
    assert restarts(spec, api_only) == ("api-server",)
    assert restarts(api_only, spec) == ("api-server",)  # unset: the same rule
    # Anything else: () means "restart everything" (the full start path).
    assert restarts(spec, replace(spec, environment={"TZ": "Europe/Paris"})) == ()
    assert restarts(spec, replace(spec, secret_environment={"K": "rotated"})) == ()
    assert restarts(spec, replace(api_only, scheduler_count=2)) == ()
    assert restarts(spec, spec) == ()
    # A record written before per-variable digests existed: everything, as before.
    assert LocalRuntime._components_to_restart(state, {}, "b", {}) == ()
    # Digests are salted: no value can be read back from the record.
    assert "secret" not in str(record(spec)) and "UTC" not in str(record(spec))

"""The Helm values flightdeck renders, awake and hibernated, checked against the official Apache
Airflow chart's own JSON schema (``../shared/airflow-chart``: data files of the chart, read from
there and never copied into the project), merged over the chart's defaults as Helm does."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tests.runtime.test_k8s_rendering import ROLE_ARN, VARIANTS, make_cluster, make_spec

from flightdeck.runtime.base import EXECUTORS, WorkerQueue
from flightdeck.runtime.helm_values import (
    CHART_NAME,
    CHART_VERSION,
    SCALED_COMPONENTS,
    render_values,
)

CHART = Path(__file__).resolve().parents[2].parent / "shared" / "airflow-chart"
pytestmark = pytest.mark.skipif(
    not (CHART / "values.schema.json").is_file(),
    reason=f"the chart's values schema is not at {CHART} (a clone outside this workplace)",
)


@cache
def _chart() -> tuple[dict[str, Any], dict[str, Any]]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    return schema, defaults


def _merged(base: Any, override: Any) -> Any:
    """Helm's coalescing of user values over the chart's: maps merge, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merged(base.get(k), v) if k in base else v for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


def _check(values: dict[str, Any]) -> None:
    schema, defaults = _chart()
    jsonschema.Draft7Validator(schema).validate(_merged(defaults, values))


# Every queue layout a Deployment can ask for; several queues are Celery's only.
LAYOUTS: dict[str, tuple[WorkerQueue, tuple[WorkerQueue, ...]]] = {
    "one-queue": (WorkerQueue(), ()),
    "fixed-size": (WorkerQueue(min_workers=2, max_workers=2, tasks_per_worker=8), ()),
    "pinned-type": (WorkerQueue(instance_type="m5.2xlarge"), ()),
    "several-queues": (
        WorkerQueue(min_workers=1, max_workers=4),
        (
            WorkerQueue("highcpu", 1, 8, 2, "c6i.4xlarge"),
            WorkerQueue("reports", 2, 2, 16),
        ),
    ),
}


def _executors() -> list[Any]:
    return [
        pytest.param(executor, version, name, id=f"{executor}-airflow{version[0]}-{name}")
        for executor in EXECUTORS
        for version in ("3.0.2", "2.10.5")
        for name, (_, extra) in LAYOUTS.items()
        if executor == "CeleryExecutor" or not extra
    ]


def test_the_chart_installed_is_the_one_whose_schema_is_checked() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["name"] == CHART_NAME
    assert chart["version"] == CHART_VERSION


@pytest.mark.parametrize("keda", [True, False], ids=["keda", "no-keda"])
@pytest.mark.parametrize("hibernated", [False, True], ids=["awake", "hibernated"])
@pytest.mark.parametrize(("executor", "version", "layout"), _executors())
def test_rendered_values_satisfy_the_charts_schema(
    executor: str, version: str, layout: str, hibernated: bool, keda: bool
) -> None:
    default, extra = LAYOUTS[layout]
    spec = make_spec(
        executor=executor,
        airflow_version=version,
        hibernated=hibernated,
        scheduler_size="medium",
        scheduler_count=2,
        worker_queue=default,
        extra_queues=extra,
    )
    values = render_values(
        spec,
        make_cluster(),
        deploy_id="d-1",
        workload_role_arn=ROLE_ARN,
        autoscaling_available=keda,
    )
    _check(values)
    assert values["scheduler"]["replicas"] == (0 if hibernated else 2)
    sets = values["workers"].get("celery", {}).get("sets", [])
    assert [s["queue"] for s in sets] == [q.name for q in extra]


def test_the_schema_check_catches_a_wrong_queue_set() -> None:
    spec = make_spec(extra_queues=(WorkerQueue("highcpu"),))
    values = render_values(spec, make_cluster())
    values["workers"]["celery"]["sets"] = {"highcpu": {}}  # sets are a list
    with pytest.raises(jsonschema.ValidationError):
        _check(values)


def test_the_schema_check_catches_a_wrong_value() -> None:
    values = render_values(make_spec(), make_cluster())
    values["scheduler"]["replicas"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        _check(values)


@pytest.mark.parametrize(("executor", "version"), VARIANTS)
def test_hibernated_values_leave_no_pod_and_change_nothing_else(
    executor: str, version: str
) -> None:
    awake_spec = make_spec(executor=executor, airflow_version=version)
    awake = render_values(awake_spec, make_cluster(), deploy_id="d-1")
    asleep = render_values(replace(awake_spec, hibernated=True), make_cluster(), deploy_id="d-1")
    scaled = [name for name in SCALED_COMPONENTS if "replicas" in asleep.get(name, {})]
    assert {"scheduler", "triggerer"} <= set(scaled)
    assert ("apiServer" if version.startswith("3") else "webserver") in scaled
    assert all(asleep[name]["replicas"] == 0 for name in scaled)
    if executor == "CeleryExecutor":
        assert asleep["workers"]["replicas"] == 0 and asleep["workers"]["keda"]["enabled"] is False
    assert asleep["redis"]["enabled"] is False
    assert asleep["migrateDatabaseJob"]["enabled"] is False
    # The database, the secrets, the code and the logs are the same: waking finds them.
    for key in ("data", "fernetKeySecretName", "config", "airflowPodAnnotations", "env", "secret"):
        assert asleep[key] == awake[key]
